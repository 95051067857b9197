"""Partitions: shares of a storage's tracks, each with its own indexes.

A storage has one partition by default. Given several, each writer (a ZODB
connection) saves into a partition of its own, chosen at random and kept
until one of its commits fails; then it chooses again. Concurrent writers
thus touch different BTrees and do not conflict, however often they
commit. Reading merges the partitions: every lookup is done once per
partition, so more partitions make queries slower.
"""

import BTrees
from BTrees.Length import Length
from persistent import Persistent

from cybertools.tracking.indexing import TrackIndex


class Partition(Persistent):
    """The tracks saved into one partition of a storage and their indexes.

    Track ids tell the partition: the id of the n-th track of partition
    ``number`` of ``count`` is ``n * count + number``.
    """

    family = BTrees.family64

    def __init__(self, number, count, indexNames):
        self.number = number
        self.count = count
        self.tracks = self.family.IO.BTree()
        self.lastTrackNumber = Length()
        self.index = TrackIndex(indexNames)

    def newTrackId(self):
        self.lastTrackNumber.change(1)
        return self.lastTrackNumber() * self.count + self.number
