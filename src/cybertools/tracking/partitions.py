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
from cybertools.tracking.records import decodeRecord


class Partition(Persistent):
    """The tracks saved into one partition of a storage and their indexes.

    Track ids tell the partition: the id of the n-th track of partition
    ``number`` of ``count`` is ``n * count + number``. The runs its writers
    start are kept here too, with ids made the same way, so that writers
    starting runs at the same time do not compete for the same run id. A track's record
    ``(taskId, runId, userName, timeStamp, data)`` is kept pickled, as one
    bytes value: the ZODB then writes a bucket of tracks several times
    faster than a bucket of tuples of values.
    """

    family = BTrees.family64

    def __init__(self, number, count, indexNames):
        self.number = number
        self.count = count
        self.tracks = self.family.IO.BTree()
        self.lastTrackNumber = Length()
        self.runs = self.family.IO.BTree()
        self.lastRunNumber = Length()
        self.taskRuns = self.family.OO.BTree()  # taskId: set of run ids
        self.index = TrackIndex(indexNames)

    def store(self, trackId, raw):
        """Store an encoded record (see records.py)."""
        self.tracks[trackId] = raw

    def raw(self, trackId):
        return self.tracks[trackId]

    def record(self, trackId):
        return decodeRecord(self.tracks[trackId])

    def remove(self, trackId):
        del self.tracks[trackId]

    def addRun(self, run):
        self.runs[run.id] = run
        if run.taskId is not None:
            runIds = self.taskRuns.get(run.taskId)
            if runIds is None:
                runIds = self.taskRuns[run.taskId] = self.family.IO.TreeSet()
            runIds.insert(run.id)

    def runIds(self, taskId=None):
        """The ids of the runs kept here (of one task), in order."""
        if taskId is None:
            return self.runs.keys()
        runIds = self.taskRuns.get(taskId)
        return runIds.keys() if runIds is not None else []

    def newTrackId(self):
        return self._newId(self.lastTrackNumber)

    def newRunId(self):
        return self._newId(self.lastRunNumber)

    def _newId(self, counter):
        counter.change(1)
        return counter() * self.count + self.number
