"""The classes of the first storage layout, kept so that its storages can
be read and upgraded (see upgrade.py): a storage then kept its tracks,
runs and indexes in partitions.
"""

from persistent import Persistent


class Partition(Persistent):
    """A share of a first-layout storage: ``tracks`` (id -> pickled
    record), ``runs``, ``taskRuns``, the counters ``lastTrackNumber`` and
    ``lastRunNumber``, ``number`` and ``count`` (ids were
    ``n * count + number``), and its ``index``."""


class FirstLayoutIndex(Persistent):
    """The indexes of a first-layout partition (built anew on upgrade)."""
