"""Module-level names of the original cybertools.tracking that its users
import from ``cybertools.tracking.btree``: ``getTimeStamp``,
``timeStamp2ISO`` and the ``unindexTrack`` subscriber.

They keep the original's meaning, which is not always the storage's own:
``getTimeStamp`` gives whole seconds (the storage keeps fractions) and
``timeStamp2ISO`` shows local time by default (representations and views
show UTC). Nothing here imports btree.py, so btree.py can re-export them.
"""

import time

from cybertools.tracking.indexing import unindexRemovedTrack


def getTimeStamp():
    """The current time in whole seconds since the epoch, an int."""
    return int(time.time())


def timeStamp2ISO(ts, useGM=False, format='%Y-%m-%d %H:%M'):
    """A time stamp as text, by default ``'YYYY-MM-DD HH:MM'`` in local time
    (in UTC with ``useGM``); ``None`` is the current time."""
    if ts is None:
        ts = time.time()
    convert = time.gmtime if useGM else time.localtime
    return time.strftime(format, convert(ts))


# the original's name of the subscriber that removes a track announced as
# removed (at commit, so that the announcer may still delete it first)
unindexTrack = unindexRemovedTrack
