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
from cybertools.tracking.records import PICKLE_START
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.records import encodeRecord
from cybertools.tracking.results import LazyResult
from cybertools.tracking.session import _Owner
from cybertools.tracking.session import sessionOf
from cybertools.tracking.session import tracked
from cybertools.tracking.results import mergeKeys
from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkName
from cybertools.tracking.validation import checkRunId
from cybertools.tracking.validation import checkTime


# The layout of a storage's state: 1 pickled records and stored run ends,
# 2 JSON records and derived run ends (see TrackingStorage.upgrade).
LAYOUT = 2

# The user name of tracks saved without one (userName=None: a job run
# without a principal, say).
ANONYMOUS = '(anonymous)'


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
    """A run of a task. Persistent, so that stopping it is stored;
    concurrent changes of its state merge.

    Saving a track does not write its run: ``end`` is derived from the
    run's tracks (the latest of its start, its tracks' time stamps and the
    time it was stopped), so a run that many users work in at once is no
    object they all write.
    """

    taskId = None
    stopped = None
    finished = False

    def __init__(self, id, taskId=None, start=None):
        self.id = id
        self.__name__ = str(id)
        self.taskId = taskId
        self.start = time.time() if start is None else start

    @property
    def end(self):
        end = max(self.start, self.stopped or self.start)
        storage = self.__parent__
        if storage is not None:
            last = storage._lastTrackTime(self.id)
            if last is not None and last > end:
                end = last
        return end

    @property
    def state(self):
        if self.finished:
            return 'finished'
        return 'stopped' if self.stopped else 'open'

    def __repr__(self):
        return '<Run %s>' % ', '.join((str(self.id), formatTime(self.start),
                                       formatTime(self.end),
                                       str(self.finished)))

    # How concurrent changes of one attribute merge (two users stopping
    # one run at once; an 'end' stored by the first layout).
    _merges = {
        'stopped': lambda a, b: max(a or 0.0, b or 0.0) or None,
        'finished': lambda a, b: a or b,
        'end': max,
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
    """One track. Not persistent itself: the storage keeps its state as a
    record in a BTree. Within a connection the storage gives out one track
    object per stored track; setting its metadata or data, or changing its
    data in place, is stored when the transaction commits and undone when
    it aborts (see session.py)."""

    metadata_attributes = ('taskId', 'runId', 'userName', 'timeStamp')
    index_attributes = metadata_attributes
    typeName = 'Track'

    __name__ = __parent__ = None
    _session = None     # the storage's session, once the track is stored

    def __init__(self, taskId, runId, userName, data=None, timeStamp=None):
        self.taskId = taskId
        self.runId = runId
        self.userName = userName
        self.timeStamp = time.time() if timeStamp is None else timeStamp
        self.data = {} if data is None else data

    def __setattr__(self, name, value):
        session = self._session
        if session is None:
            object.__setattr__(self, name, value)
            return
        if name == 'data':
            value = tracked(value, self.__dict__['_owner'])
        object.__setattr__(self, name, value)
        if name == 'data' or name in self.metadata_attributes:
            session.markChanged(parseTrackId(self.__name__), self)

    def _trackChanged(self):
        """Called by the containers of the data when they change."""
        session = self._session
        if session is not None:
            session.markChanged(parseTrackId(self.__name__), self)

    @property
    def metadata(self):
        return {name: getattr(self, name, None)
                for name in self.metadata_attributes}

    @property
    def indexdata(self):
        return getIndexValues(self)

    @property
    def name(self):
        return self.__name__

    def update(self, newData, overwrite=False):
        return self.__parent__.updateTrack(self, newData, overwrite=overwrite)

    def __getstate__(self):
        # a copy of a track (copy.copy, pickle) is a detached one
        state = dict(self.__dict__)
        for name in ('_session', '_owner', '_stored'):
            state.pop(name, None)
        if 'data' in state:
            state['data'] = copy.deepcopy(state['data'])
        return state

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

    A track is stored as a record of plain values (see records.py) under
    an integer id, in one of the storage's partitions (see partitions.py;
    one unless asked for more). Counters are
    ``BTrees.Length`` objects and all other state lives in BTrees, so after
    the storage is first committed saving tracks never writes the storage
    object itself.
    """

    family = BTrees.family64
    trackFactory = Track
    # the original's attribute, read by its users: no other storage behind
    storage = None
    # the layout of the stored state: a storage without a value of its own
    # was made by the first layout (see upgrade())
    layout = 1
    _indexAttributes = None

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
        self.layout = LAYOUT

    @property
    def indexAttributes(self):
        """The names indexed: the track class's metadata attributes, then
        its further index attributes, then any set here (as the original
        allowed: ``storage.indexAttributes = (...)`` and
        ``setupIndexes()``)."""
        factory = self.trackFactory
        names = list(factory.metadata_attributes)
        for name in (factory.index_attributes
                     + (self._indexAttributes or ())):
            if name not in names:
                names.append(name)
        return tuple(names)

    @indexAttributes.setter
    def indexAttributes(self, names):
        if isinstance(names, str) or not all(
                isinstance(name, str) and name for name in names):
            raise TypeError('indexAttributes must be a sequence of names')
        self._indexAttributes = tuple(names)

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
        return LazyResult(self._loadTrack, list(self._trackIds()))

    def items(self):
        return LazyResult(self._loadItem, list(self._trackIds()))

    def _loadItem(self, trackId):
        return formatTrackId(trackId), self._loadTrack(trackId)

    def __delitem__(self, name):
        self.removeTrack(self[name])

    # queries

    def getUserTracks(self, taskId, runId, userName):
        userName = ANONYMOUS if userName is None else userName
        userKey = self._userKey(taskId, runId, userName)
        return self._trackResult(mergeKeys(
            [index.userKeys(*userKey) for index in self._indexes()]))

    def getLastUserTrack(self, taskId, runId, userName):
        userName = ANONYMOUS if userName is None else userName
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
        userName = ANONYMOUS if userName is None else userName
        if not runId:
            runId = self._currentRuns.get(taskId, 0)
        if update and runId:
            last = self.getLastUserTrack(taskId, runId, userName)
            if last is not None:
                return self._update(last, data, overwrite, timeStamp)
        track = self._newTrack(taskId, runId, userName, data, timeStamp)
        record, values = self._check(track, newRun=not runId)
        if not runId:
            # a run started for an imported track starts at the track's time
            start = None if timeStamp is None else record[3]
            runId = self._startRun(taskId, start)
            track.runId = values['runId'] = record[1] = runId
        partition = self._writePartition()
        trackId = partition.newTrackId()
        self._storeNew(partition, trackId, track, record, values)
        notify(TrackAddedEvent(track, self, track.__name__))
        return track.__name__

    def _newTrack(self, taskId, runId, userName, data, timeStamp):
        """A track of the storage's class; classes written for the original
        take (taskId, runId, userName, data) only and set the time
        themselves."""
        track = self.trackFactory(taskId, runId, userName, data)
        if timeStamp is not None:
            track.timeStamp = timeStamp
        return track

    def _storeNew(self, partition, trackId, track, record, values):
        raw = encodeRecord(record)
        partition.store(trackId, raw)
        self._trackCount.change(1)
        partition.index.index(trackId, values)
        self._attach(track, trackId, record, raw)

    def updateTrack(self, track, data, overwrite=False):
        self._trackIdOf(track)
        return self._update(removeSecurityProxy(track), data, overwrite, None)

    def reindexTrack(self, track):
        self._reindex(self._trackIdOf(track), removeSecurityProxy(track))

    def removeTrack(self, track):
        trackId = self._trackIdOf(track)
        partition = self._partitionOf(trackId)
        old = self._track(trackId, partition.record(trackId))
        partition.remove(trackId)
        self._trackCount.change(-1)
        partition.index.unindex(trackId, getIndexValues(old))
        sessionOf(self).forget(trackId)
        notify(TrackRemovedEvent(track, self, track.__name__))

    # the original's names for these, as its users call them

    def indexTrack(self, trackNum, track, idx=None):
        """Store a track's current state and reindex it (the original's
        tracks were persistent, so changes were already stored and this
        only updated the indexes; ``idx`` named one index to update)."""
        if idx is not None and idx not in self.indexAttributes:
            raise ValueError('Index %r not available.' % (idx,))
        self.reindexTrack(track)

    def unindexTrack(self, trackNum, track):
        """The track is being removed (the original's callers then delete
        it from the container): it is removed when the transaction commits
        unless that was done before."""
        self._scheduleRemoval(removeSecurityProxy(track))

    def _scheduleRemoval(self, track):
        trackId = self._trackIdOf(track)
        sessionOf(self).removeAtCommit(trackId, track)

    def setTrackData(self, track, data):
        """Replace a track's data, keeping its time stamp."""
        self._trackIdOf(track)
        track = removeSecurityProxy(track)
        self._update(track, data, True, track.timeStamp, always=True)

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
        track = self._newTrack(taskId, runId, userName, data, timeStamp)
        record, values = self._check(track)
        partition = self._partitionOf(number)
        _raise(partition.lastTrackNumber, number // partition.count)
        self._storeNew(partition, number, track, record, values)
        return formatTrackId(number)

    # maintenance

    def upgrade(self, progress=None):
        """Bring a storage of an earlier layout to the current one; return
        the number of records rewritten (0 when there was nothing to do).

        Layout 1 kept records as pickles and stored each run's end; both
        are still read, so upgrading can wait, but it rewrites the records
        as JSON (see records.py) and drops the stored ends, which are
        derived from the tracks now. Ids, time stamps, runs and index
        entries stay as they are. ``progress`` as for ``reindexTracks``.
        """
        rewritten = 0
        for partition in self._partitions:
            done = 0
            for trackId, raw in list(partition.tracks.items()):
                if raw[:1] == PICKLE_START:
                    partition.store(trackId, encodeRecord(decodeRecord(raw)))
                    rewritten += 1
                done += 1
                if progress is not None and done == 1000:
                    progress(done)
                    done = 0
            if progress is not None and done:
                progress(done)
            for run in partition.runs.values():
                if 'end' in run.__dict__:
                    del run.__dict__['end']
                    run._p_changed = True
        if self.layout != LAYOUT:
            self.layout = LAYOUT
        return rewritten

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
        for trackId, raw in partition.tracks.items():
            values = getIndexValues(self._track(trackId, decodeRecord(raw)))
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
        # the keys are taken now: a result stays what the query found,
        # whatever is saved, changed or removed while it is used
        return LazyResult(self._loadTrackByKey, list(keys))

    def _loadTrackByKey(self, key):
        return self._loadTrack(keyTrackId(key))

    def _loadTrack(self, trackId):
        """The track object of a stored track: the one in use in this
        connection, or a new one."""
        session = sessionOf(self)
        track = session.get(trackId)
        partition = self._partitionOf(trackId)
        if track is not None:
            if track._stored is not partition.tracks.get(trackId) and \
                    trackId not in session.dirty:
                # stored anew since (by another connection, or undone)
                self._revert(trackId, track)
            return track
        raw = partition.raw(trackId)
        record = decodeRecord(raw)
        track = self.trackFactory.__new__(self.trackFactory)
        self._setState(track, record)
        self._attach(track, trackId, record, raw)
        return track

    def _track(self, trackId, record):
        """A detached track object for a record (for index values)."""
        track = self.trackFactory.__new__(self.trackFactory)
        self._setState(track, record)
        track.__dict__.update(__name__=formatTrackId(trackId),
                              __parent__=self)
        return track

    def _setState(self, track, record):
        state = track.__dict__
        (state['taskId'], state['runId'], state['userName'],
         state['timeStamp'], state['data']) = record[:5]
        if len(record) > 5:
            state.update(record[5])

    def _attach(self, track, trackId, record, raw):
        """Make a track object the one of a stored track in this
        connection."""
        session = sessionOf(self)
        state = track.__dict__
        owner = _Owner(track)
        state.update(__name__=formatTrackId(trackId), __parent__=self,
                     _session=session, _owner=owner, _stored=raw,
                     data=tracked(record[4], owner))
        session.add(trackId, track)

    def _isStored(self, trackId):
        return trackId in self._partitionOf(trackId).tracks

    def _storeChanged(self, trackId, track):
        """Store a track changed in place (at commit, see session.py)."""
        self._reindex(trackId, track)

    def _revert(self, trackId, track):
        """Give a track object its stored state again."""
        partition = self._partitionOf(trackId)
        raw = partition.tracks.get(trackId)
        if raw is None:
            return
        record = decodeRecord(raw)
        extra = set(track.metadata_attributes[4:])
        for name in extra:
            track.__dict__.pop(name, None)
        self._setState(track, record)
        track.__dict__.update(_stored=raw,
                              data=tracked(record[4], track._owner))

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

        Returns the record to store (a list, see records.py) and the index
        values; changes nothing. With ``newRun`` the track's run is still
        to be started.
        """
        taskId = checkName(track.taskId, 'taskId')
        userName = checkName(track.userName, 'userName')
        runId = checkRunId(track.runId)
        if not newRun:
            self._getRun(runId)
        timeStamp = checkTime(track.timeStamp, 'timeStamp')
        data = checkData(track.data)
        record = [taskId, runId, userName, timeStamp, data]
        extraNames = track.metadata_attributes[4:]
        if extraNames:
            extra = checkData({name: getattr(track, name, None)
                               for name in extraNames})
            record.append(extra)
        values = getIndexValues(track)
        values.update(taskId=taskId, runId=runId, userName=userName,
                      timeStamp=timeStamp)
        if extraNames:
            values.update(extra)
        checkIndexValues(self._indexes(), values)
        return record, values

    def _update(self, track, data, overwrite, timeStamp, always=False):
        data = checkData({} if data is None else data)
        if not data and not overwrite and not always:
            return track.__name__
        changed = copy.copy(track)
        changed.data = dict(data) if overwrite else dict(track.data, **data)
        changed.timeStamp = time.time() if timeStamp is None else timeStamp
        trackId = parseTrackId(track.__name__)
        self._reindex(trackId, changed)
        track.__dict__.update(timeStamp=changed.timeStamp,
                              _stored=changed.__dict__['_stored'])
        track.__dict__['data'] = tracked(changed.data,
                                         track.__dict__.get('_owner'))
        sessionOf(self).markStored(trackId)
        notify(TrackModifiedEvent(track))
        return track.__name__

    def _reindex(self, trackId, track):
        """Store a track object's state and move its index entries."""
        record, values = self._check(track)
        partition = self._partitionOf(trackId)
        stored = partition.record(trackId)
        raw = encodeRecord(record)
        track.__dict__['_stored'] = raw
        if record != stored:
            old = self._track(trackId, stored)
            oldValues = getIndexValues(old)
            partition.store(trackId, raw)
            if values != oldValues:
                partition.index.unindex(trackId, oldValues)
                partition.index.index(trackId, values)
        else:
            track.__dict__['_stored'] = partition.raw(trackId)
        if track.__dict__.get('_session') is not None:
            track._session.markStored(trackId)

    def _lastTrackTime(self, runId):
        """The time stamp of a run's latest track, None without tracks."""
        keys = [index.lastKey('runId', runId) for index in self._indexes()]
        last = max((key for key in keys if key is not None), default=None)
        if last is None:
            return None
        trackId = keyTrackId(last)
        return self._partitionOf(trackId).record(trackId)[3]

def _raise(counter, value):
    """Raise a BTrees.Length counter to at least ``value``."""
    if counter() < value:
        counter.set(value)
