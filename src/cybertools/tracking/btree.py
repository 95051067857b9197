"""Tracks, runs and the BTree-based tracking storage."""

import copy
import heapq
import random
import time

import BTrees
from BTrees.Length import Length
from persistent import Persistent
from ZODB.POSException import ConflictError
from zope.container.contained import Contained
from zope.event import notify
from zope.interface import implementer
from zope.security.proxy import removeSecurityProxy

from cybertools.tracking.events import RunStartedEvent
from cybertools.tracking.events import RunStoppedEvent
from cybertools.tracking.events import TrackAddedEvent
from cybertools.tracking.events import TrackModifiedEvent
from cybertools.tracking.events import TrackRemovedEvent
from cybertools.tracking.indexing import Exact  # noqa: F401 (API)
from cybertools.tracking.indexing import TrackIndex
from cybertools.tracking.indexing import checkIndexValues
from cybertools.tracking.indexing import getIndexValues
from cybertools.tracking.indexing import keyTrackId
from cybertools.tracking.interfaces import IRun
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.partitions import Partition
from cybertools.tracking.results import LazyResult
from cybertools.tracking.results import mergeKeys
from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkName
from cybertools.tracking.validation import checkRunId
from cybertools.tracking.validation import checkTime


def formatTime(timeStamp):
    """A time stamp as shown in representations: UTC, to the minute."""
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(timeStamp))


def formatTrackId(number):
    """The name of a track: at least seven digits, like the original's."""
    return '%07i' % number


def parseTrackId(name):
    """The number of a track name; KeyError for anything else (a track has
    one name only: '1' is not '0000001')."""
    if isinstance(name, str) and name.isascii() and name.isdigit():
        number = int(name)
        if formatTrackId(number) == name:
            return number
    raise KeyError(name)


@implementer(IRun)
class Run(Persistent, Contained):
    """A run of a task. Persistent, so that changes of ``end`` and
    ``finished`` are stored; concurrent changes of these merge."""

    taskId = None
    stopped = None
    finished = False

    def __init__(self, id, taskId=None, start=None):
        self.id = id
        self.__name__ = str(id)
        self.taskId = taskId
        self.start = self.end = time.time() if start is None else start

    @property
    def state(self):
        if self.finished:
            return 'finished'
        return 'stopped' if self.stopped else 'open'

    def __repr__(self):
        return '<Run %s>' % ', '.join((str(self.id), formatTime(self.start),
                                       formatTime(self.end),
                                       str(self.finished)))

    # How concurrent changes of one attribute merge: every save extends its
    # run's end, so two users saving in one run must not conflict.
    _merges = {
        'end': max,
        'stopped': lambda a, b: max(a or 0.0, b or 0.0) or None,
        'finished': lambda a, b: a or b,
    }

    def _p_resolveConflict(self, oldState, savedState, newState):
        resolved = dict(savedState)
        missing = object()
        for name in set(oldState) | set(savedState) | set(newState):
            old = oldState.get(name, missing)
            saved = savedState.get(name, missing)
            new = newState.get(name, missing)
            if new == old or new == saved:
                continue
            if saved == old:
                value = new
            elif name in self._merges and missing not in (saved, new):
                value = self._merges[name](saved, new)
            else:
                raise ConflictError('concurrent changes of run attribute %r'
                                    % name)
            if value is missing:
                del resolved[name]
            else:
                resolved[name] = value
        return resolved


class CurrentRuns(BTrees.family64.OO.BTree):
    """The current run of each task.

    The one map every writer that starts a run writes to. Concurrent
    inserts of different tasks into one bucket merge; a bucket split
    conflicts with every writer inserting at the same time. Big buckets
    make splits rare, and a bucket is written only when a run starts.
    """

    max_leaf_size = 500


@implementer(ITrack)
class Track:
    """One track. Not persistent itself: the storage keeps its state in a
    BTree and gives out track objects as working copies (see ITrack)."""

    metadata_attributes = ('taskId', 'runId', 'userName', 'timeStamp')
    index_attributes = metadata_attributes
    typeName = 'Track'

    __name__ = __parent__ = None

    def __init__(self, taskId, runId, userName, data=None, timeStamp=None):
        self.taskId = taskId
        self.runId = runId
        self.userName = userName
        self.timeStamp = time.time() if timeStamp is None else timeStamp
        self.data = {} if data is None else data

    @property
    def metadata(self):
        return {name: getattr(self, name) for name in self.metadata_attributes}

    @property
    def indexdata(self):
        return getIndexValues(self)

    @property
    def name(self):
        return self.__name__

    def update(self, newData, overwrite=False):
        return self.__parent__.updateTrack(self, newData, overwrite=overwrite)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return (self.__name__ == other.__name__
                and self.metadata == other.metadata
                and self.data == other.data)

    def __hash__(self):
        return hash((type(self), self.__name__))

    def __repr__(self):
        md = self.metadata
        md['timeStamp'] = formatTime(md['timeStamp'])
        return '<%s %r: %r>' % (self.typeName,
                                [md[name] for name in self.metadata_attributes],
                                self.data)


@implementer(ITrackingStorage)
class TrackingStorage(Persistent, Contained):
    """Tracks and runs in BTrees, with indexes on the tracks' metadata.

    A track is stored as a record ``(taskId, runId, userName, timeStamp,
    data)`` under an integer id, in one of the storage's partitions (see
    partitions.py; one unless asked for more). Counters are
    ``BTrees.Length`` objects and all other state lives in BTrees, so after
    the storage is first committed saving tracks never writes the storage
    object itself.
    """

    family = BTrees.family64
    trackFactory = Track

    def __init__(self, trackFactory=None, partitions=1):
        if trackFactory is not None:
            self.trackFactory = trackFactory
        if isinstance(partitions, bool) or not isinstance(partitions, int):
            raise TypeError('partitions must be an int')
        if not 1 <= partitions <= 256:
            raise ValueError('partitions must be between 1 and 256: %r'
                             % partitions)
        self._partitions = tuple(
            Partition(number, partitions, self.indexAttributes)
            for number in range(partitions))
        self._trackCount = Length()
        self._currentRuns = CurrentRuns()

    @property
    def indexAttributes(self):
        factory = self.trackFactory
        names = list(factory.metadata_attributes)
        names.extend(name for name in factory.index_attributes
                     if name not in names)
        return tuple(names)

    # the read container of tracks

    def __getitem__(self, name):
        return self._loadTrack(parseTrackId(name))

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name):
        try:
            trackId = parseTrackId(name)
        except KeyError:
            return False
        return trackId in self._partitionOf(trackId).tracks

    def __len__(self):
        return self._trackCount()

    def __iter__(self):
        return (formatTrackId(trackId) for trackId in self._trackIds())

    def keys(self):
        return list(self)

    def values(self):
        return (self._loadTrack(trackId) for trackId in self._trackIds())

    def items(self):
        return ((track.__name__, track) for track in self.values())

    def __delitem__(self, name):
        self.removeTrack(self[name])

    # queries

    def getUserTracks(self, taskId, runId, userName):
        userKey = self._userKey(taskId, runId, userName)
        return self._trackResult(mergeKeys(
            [index.userKeys(*userKey) for index in self._indexes()]))

    def getLastUserTrack(self, taskId, runId, userName):
        userKey = self._userKey(taskId, runId, userName)
        keys = [index.lastUserKey(*userKey) for index in self._indexes()]
        keys = [key for key in keys if key is not None]
        return self._loadTrack(keyTrackId(max(keys))) if keys else None

    def getUserNames(self, taskId):
        checkName(taskId, 'taskId')
        return sorted(set().union(
            *(index.userNames(taskId) for index in self._indexes())))

    def getTaskIds(self):
        return sorted(set().union(
            *(index.indexValues('taskId') for index in self._indexes())))

    def query(self, **criteria):
        return self._trackResult(mergeKeys(
            [index.search(criteria) for index in self._indexes()]))

    def getRuns(self, taskId=None):
        if taskId is not None:
            checkName(taskId, 'taskId')
        return LazyResult(self._loadRun, mergeKeys(
            [partition.runIds(taskId) for partition in self._partitions]))

    def getRun(self, taskId=None, runId=0):
        checkRunId(runId)
        if not runId and taskId is not None:
            runId = self._currentRuns.get(checkName(taskId, 'taskId'), 0)
        return self._queryRun(runId) if runId else None

    # saving and changing tracks

    def saveUserTrack(self, taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        checkRunId(runId)
        checkName(taskId, 'taskId')
        if not runId:
            runId = self._currentRuns.get(taskId, 0)
        if update and runId:
            last = self.getLastUserTrack(taskId, runId, userName)
            if last is not None:
                return self._update(last, data, overwrite, timeStamp)
        track = self.trackFactory(taskId, runId, userName, data,
                                  timeStamp=timeStamp)
        record, values = self._check(track, newRun=not runId)
        if not runId:
            # a run started for an imported track starts at the track's time
            start = None if timeStamp is None else record[3]
            runId = self._startRun(taskId, start)
            track.runId = values['runId'] = runId
            record = (record[0], runId) + record[2:]
        partition = self._writePartition()
        trackId = partition.newTrackId()
        self._place(track, trackId)
        # the record is stored pickled: the track's data shares nothing
        # with what is stored
        track.data = record[4]
        partition.store(trackId, record)
        self._trackCount.change(1)
        partition.index.index(trackId, values)
        self._extendRun(runId, record[3])
        notify(TrackAddedEvent(track, self, track.__name__))
        return track.__name__

    def updateTrack(self, track, data, overwrite=False):
        self._trackIdOf(track)
        return self._update(removeSecurityProxy(track), data, overwrite, None)

    def reindexTrack(self, track):
        self._reindex(self._trackIdOf(track), removeSecurityProxy(track))

    def removeTrack(self, track):
        trackId = self._trackIdOf(track)
        old = self._loadTrack(trackId)
        partition = self._partitionOf(trackId)
        partition.remove(trackId)
        self._trackCount.change(-1)
        partition.index.unindex(trackId, getIndexValues(old))
        self._fitRunEnd(old.runId)
        notify(TrackRemovedEvent(track, self, track.__name__))

    # runs

    def startRun(self, taskId=None, start=None):
        if taskId is not None:
            checkName(taskId, 'taskId')
        if start is not None:
            start = checkTime(start, 'start')
        return self._startRun(taskId, start)

    def _startRun(self, taskId, start=None):
        partition = self._writePartition()
        run = Run(partition.newRunId(), taskId, start)
        run.__parent__ = self
        partition.addRun(run)
        if taskId is not None:
            self._currentRuns[taskId] = run.id
        notify(RunStartedEvent(run, self))
        return run.id

    def stopRun(self, taskId=None, runId=0, finish=True, stopped=None):
        checkRunId(runId)
        if taskId is not None:
            checkName(taskId, 'taskId')
        if stopped is not None:
            stopped = checkTime(stopped, 'stopped')
        if not runId:
            if taskId is None:
                raise ValueError('stopRun needs a taskId or a runId')
            runId = self._currentRuns.get(taskId, 0)
            if not runId:
                return 0
        run = self._getRun(runId)
        for task in {taskId, run.taskId} - {None}:
            if self._currentRuns.get(task) == runId:
                del self._currentRuns[task]
        run.stopped = time.time() if stopped is None else stopped
        run.end = max(run.end, run.stopped)
        if finish:
            run.finished = True
        notify(RunStoppedEvent(run, self))
        return runId

    # restoring from a backup or an older storage

    def restoreRun(self, runId, taskId=None, start=None, stopped=None,
                   finished=False, current=False):
        checkRunId(runId)
        if not runId:
            raise ValueError('runId must be 1 or more')
        if taskId is not None:
            checkName(taskId, 'taskId')
        start = time.time() if start is None else checkTime(start, 'start')
        if stopped is not None:
            stopped = checkTime(stopped, 'stopped')
        if current and taskId is None:
            raise ValueError('only a run of a task can be current')
        if self._queryRun(runId) is not None:
            raise ValueError('there is a run %r already' % runId)
        partition = self._partitions[runId % len(self._partitions)]
        run = Run(runId, taskId, start)
        run.__parent__ = self
        run.stopped = stopped
        run.finished = bool(finished)
        run.end = max(start, stopped or start)
        _raise(partition.lastRunNumber, runId // partition.count)
        partition.addRun(run)
        if current:
            self._currentRuns[taskId] = runId
        return runId

    def restoreTrack(self, trackId, taskId, runId, userName, timeStamp,
                     data):
        try:
            number = parseTrackId(trackId)
        except KeyError:
            number = 0
        if number < 1:
            raise ValueError('not a track id: %r' % (trackId,))
        if number in self._partitionOf(number).tracks:
            raise ValueError('there is a track %r already' % trackId)
        track = self.trackFactory(taskId, runId, userName, data,
                                  timeStamp=timeStamp)
        record, values = self._check(track)
        partition = self._partitionOf(number)
        _raise(partition.lastTrackNumber, number // partition.count)
        partition.store(number, record)
        self._trackCount.change(1)
        partition.index.index(number, values)
        self._extendRun(record[1], record[3])
        return formatTrackId(number)

    # maintenance

    def setupIndexes(self):
        names = self._indexes()[0].names
        if set(names) != set(TrackIndex.valueIndexNames(
                self.indexAttributes)):
            self._rebuildIndexes(self.indexAttributes)

    def reindexTracks(self, progress=None):
        self._rebuildIndexes(self._indexes()[0].names, progress)

    def _rebuildIndexes(self, names, progress=None):
        """Index all tracks afresh; replace the indexes only if all went
        well, so that a track that cannot be indexed changes nothing."""
        indexes = []
        for partition in self._partitions:
            indexes.append(self._freshIndex(partition, names, indexes,
                                            progress))
        for partition, index in zip(self._partitions, indexes):
            partition.index = index

    def _freshIndex(self, partition, names, others=None, progress=None):
        """An index of the tracks of a partition, built from its records.

        With ``others`` (the indexes of other partitions) values of another
        kind than the indexes hold are refused. ``progress`` is called with
        the number of tracks done since its last call."""
        index = TrackIndex(names)
        done = 0
        for trackId in partition.tracks.keys():
            values = getIndexValues(self._loadTrack(trackId))
            if others is not None:
                checkIndexValues([index] + others, values)
            index.index(trackId, values)
            done += 1
            if progress is not None and done == 1000:
                progress(done)
                done = 0
        if progress is not None and done:
            progress(done)
        return index

    def checkIndexes(self, progress=None):
        found = []
        count = 0
        for partition in self._partitions:
            expected = self._freshIndex(partition, partition.index.names,
                                        progress=progress)
            found.extend(partition.index.differences(expected))
            count += len(partition.tracks)
        if count != len(self):
            found.append('track count: %i stored, %i counted'
                         % (count, len(self)))
        return found

    # helpers

    def _indexes(self):
        return [partition.index for partition in self._partitions]

    def _partitionOf(self, trackId):
        return self._partitions[trackId % len(self._partitions)]

    def _queryRun(self, runId):
        return self._partitions[runId % len(self._partitions)].runs.get(runId)

    def _loadRun(self, runId):
        return self._partitions[runId % len(self._partitions)].runs[runId]

    def _trackIds(self):
        """All track ids, in order."""
        return heapq.merge(*(partition.tracks.keys()
                             for partition in self._partitions))

    def _writePartition(self):
        """The partition this connection saves into (see partitions.py)."""
        partitions = self._partitions
        if len(partitions) == 1:
            return partitions[0]
        number = getattr(self, '_v_partition', None)
        if number is None:
            number = self._v_partition = random.randrange(len(partitions))
        self._watchCommit()
        return partitions[number]

    def _watchCommit(self):
        """Choose a partition anew after a failed commit: most likely
        another writer is using the same one."""
        jar = self._p_jar
        if jar is None:
            return
        txn = jar.transaction_manager.get()
        if getattr(self, '_v_watched', None) is not txn:
            self._v_watched = txn
            txn.addAfterCommitHook(self._afterCommit)

    def _afterCommit(self, committed):
        if not committed:
            self._v_partition = None

    def _trackResult(self, keys):
        return LazyResult(self._loadTrackByKey, keys)

    def _loadTrackByKey(self, key):
        return self._loadTrack(keyTrackId(key))

    def _loadTrack(self, trackId):
        return self._track(trackId, self._partitionOf(trackId).record(trackId))

    def _track(self, trackId, record):
        """A track object for a record (freshly unpickled: the track may
        change its data without touching what is stored)."""
        track = self.trackFactory.__new__(self.trackFactory)
        (track.taskId, track.runId, track.userName, track.timeStamp,
         track.data) = record
        self._place(track, trackId)
        return track

    def _place(self, track, trackId):
        track.__name__ = formatTrackId(trackId)
        track.__parent__ = self

    def _trackIdOf(self, track):
        """The id of a track object of this storage that is still stored.

        The caller may pass a security proxy of the track: it was allowed
        to call the method, and the track is checked to be ours."""
        if not ITrack.providedBy(track):
            raise TypeError('not a track: %r' % (track,))
        if removeSecurityProxy(track.__parent__) is not self:
            raise ValueError('%r belongs to another storage' % (track,))
        trackId = parseTrackId(track.__name__)
        if trackId not in self._partitionOf(trackId).tracks:
            raise KeyError(track.__name__)
        return trackId

    def _getRun(self, runId):
        run = self._queryRun(runId)
        if run is None:
            raise ValueError('there is no run %r' % (runId,))
        return run

    def _userKey(self, taskId, runId, userName):
        """(taskId, runId, userName) with runId 0 replaced by the task's
        current run."""
        checkName(taskId, 'taskId')
        checkRunId(runId)
        checkName(userName, 'userName')
        if not runId:
            runId = self._currentRuns.get(taskId, 0)
        return taskId, runId, userName

    def _check(self, track, newRun=False):
        """Check a track object's state before storing it.

        Returns the record to store and the index values; changes nothing.
        With ``newRun`` the track's run is still to be started.
        """
        taskId = checkName(track.taskId, 'taskId')
        userName = checkName(track.userName, 'userName')
        runId = checkRunId(track.runId)
        if not newRun:
            self._getRun(runId)
        timeStamp = checkTime(track.timeStamp, 'timeStamp')
        data = checkData(track.data)
        values = getIndexValues(track)
        values.update(taskId=taskId, runId=runId, userName=userName,
                      timeStamp=timeStamp)
        checkIndexValues(self._indexes(), values)
        return (taskId, runId, userName, timeStamp, data), values

    def _update(self, track, data, overwrite, timeStamp):
        data = checkData({} if data is None else data)
        if not data and not overwrite:
            return track.__name__
        changed = copy.copy(track)
        changed.data = dict(data) if overwrite else dict(track.data, **data)
        changed.timeStamp = time.time() if timeStamp is None else timeStamp
        self._reindex(parseTrackId(track.__name__), changed)
        track.data, track.timeStamp = changed.data, changed.timeStamp
        notify(TrackModifiedEvent(track))
        return track.__name__

    def _reindex(self, trackId, track):
        """Store a track object's state and move its index entries."""
        record, values = self._check(track)
        track.data = record[4]
        partition = self._partitionOf(trackId)
        stored = partition.record(trackId)
        if record == stored:
            return
        old = self._track(trackId, stored)
        oldValues = getIndexValues(old)
        partition.store(trackId, record)
        if values != oldValues:
            partition.index.unindex(trackId, oldValues)
            partition.index.index(trackId, values)
        if old.runId != track.runId or old.timeStamp > track.timeStamp:
            self._fitRunEnd(old.runId)
        self._extendRun(track.runId, track.timeStamp)

    def _extendRun(self, runId, timeStamp):
        run = self._loadRun(runId)
        if timeStamp > run.end:
            run.end = timeStamp

    def _fitRunEnd(self, runId):
        """Set a run's end after tracks were removed or moved back."""
        run = self._loadRun(runId)
        keys = [index.lastKey('runId', runId) for index in self._indexes()]
        last = max((key for key in keys if key is not None), default=None)
        lastTime = (self._loadTrack(keyTrackId(last)).timeStamp
                    if last is not None else run.start)
        end = max(run.start, run.stopped or run.start, lastTime)
        if run.end != end:
            run.end = end


def _raise(counter, value):
    """Raise a BTrees.Length counter to at least ``value``."""
    if counter() < value:
        counter.set(value)
