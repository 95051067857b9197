"""Tracks, runs and the BTree-based tracking storage."""

import bisect
import copy
import itertools
import random
import time
import warnings

import BTrees
from persistent import Persistent
from ZODB.POSException import ConflictError
from zope.container.contained import Contained
from zope.event import notify
from zope.interface import implementedBy
from zope.interface import implementer
from zope.interface import providedBy
from zope.security.proxy import removeSecurityProxy

from cybertools.tracking.compat import getTimeStamp  # noqa: F401 (API)
from cybertools.tracking.compat import timeStamp2ISO  # noqa: F401 (API)
from cybertools.tracking.compat import unindexTrack  # noqa: F401 (API)
from cybertools.tracking.events import RunStartedEvent
from cybertools.tracking.events import RunStoppedEvent
from cybertools.tracking.events import TrackAddedEvent
from cybertools.tracking.events import TrackModifiedEvent
from cybertools.tracking.events import TrackRemovedEvent
from cybertools.tracking.index import IndexReader
from cybertools.tracking.index import TrackIndex
from cybertools.tracking.index import valueIndexNames
from cybertools.tracking.indexing import Criteria
from cybertools.tracking.indexing import Exact  # noqa: F401 (API)
from cybertools.tracking.indexing import METADATA
from cybertools.tracking.indexing import checkIndexValues
from cybertools.tracking.indexing import defaultIndexValues
from cybertools.tracking.indexing import defaultIndexValuesFunction
from cybertools.tracking.indexing import getIndexValues
from cybertools.tracking.indexing import oneName
from cybertools.tracking.indexing import oneNameInTime
from cybertools.tracking.indexing import usesDefaultIndexData
from cybertools.tracking.interfaces import IRun
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.keys import microseconds
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.lanes import LANE_BITS
from cybertools.tracking.lanes import LaneTrees
from cybertools.tracking.lanes import Lanes
from cybertools.tracking.mergeguard import PendingChanges
from cybertools.tracking.pending import PendingIndex
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.records import decodeRecords
from cybertools.tracking.records import encodeRecord
from cybertools.tracking.recordtrees import RecordTree
from cybertools.tracking.results import LazyResult
from cybertools.tracking.results import MergedKeys
from cybertools.tracking.results import TrackResult
from cybertools.tracking.session import TrackData
from cybertools.tracking.session import ownerOf
from cybertools.tracking.session import readsDataLater
from cybertools.tracking.session import setStoredData
from cybertools.tracking.session import sessionOf
from cybertools.tracking.session import storedData
from cybertools.tracking.session import trackedData
from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkName
from cybertools.tracking.validation import checkRunId
from cybertools.tracking.validation import checkTime
from cybertools.tracking.watched import Watched


# The layout of a storage's state: 1 partitions, pickled records, stored
# run ends; 2 lanes, JSON records, indexes built in batches, derived run
# ends; 3 the same with counts and users' runs in the index (see
# TrackingStorage.upgrade).
LAYOUT = 3

# the tracks a result looks up and makes at a time (see
# TrackingStorage._idsAhead)
MADE_AHEAD = 64

METADATA_NAMES = frozenset(METADATA)

# The user name of tracks saved without one (userName=None: a job run
# without a principal, say).
ANONYMOUS = '(anonymous)'

_MISSING = object()


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


class TaskRuns(BTrees.family64.OO.BTree):
    """The ids of the runs of each task, packed (keys.packKeys) in the
    bucket of the task: starting a run writes one bucket, and big buckets
    split rarely (a split conflicts with every writer starting a run at
    the same time; see CurrentRuns)."""

    max_leaf_size = 500

    def runIds(self, taskId):
        packed = self.get(taskId)
        return [] if packed is None else unpackKeys(packed)

    def addRun(self, taskId, runId):
        runIds = self.runIds(taskId)
        bisect.insort(runIds, runId)
        self[taskId] = packKeys(runIds)


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
    data = TrackData()

    def __init__(self, taskId, runId, userName, data=None, timeStamp=None):
        state = dict(taskId=taskId, runId=runId, userName=userName,
                     timeStamp=time.time() if timeStamp is None else timeStamp,
                     data={} if data is None else data)
        plain = _plainClasses.get(type(self))
        if plain is None:
            plain = _setsStatePlainly(type(self))
        if plain:
            # a new track has no session: setting an attribute only puts
            # it into __dict__ (set at once here, on the path of every save)
            self.__dict__.update(state)
            return
        for name, value in state.items():
            setattr(self, name, value)

    def __setattr__(self, name, value):
        session = self._session
        if session is None:
            object.__setattr__(self, name, value)
            return
        if name == 'data':
            value = trackedData(value, ownerOf(self))
        if name == 'data' or name in self.metadata_attributes:
            session.aboutToChange(self)
        old = self.__dict__.get(name, _MISSING)
        object.__setattr__(self, name, value)
        if name == 'data' or name in self.metadata_attributes:
            try:
                session.markChanged(parseTrackId(self.__name__), self)
            except BaseException:
                # refused at once (a storage in no database): as it was
                if old is _MISSING:
                    self.__dict__.pop(name, None)
                else:
                    self.__dict__[name] = old
                raise

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



_STATE_NAMES = ('taskId', 'runId', 'userName', 'timeStamp', 'data')
# track class: whether it sets a new track's state plainly (a few classes,
# asked by every save)
_plainClasses = {}


def _setsStatePlainly(trackClass):
    """Whether setting a new track's state only puts it into its __dict__:
    the class has Track's __setattr__ and no descriptor of its own for the
    state's names (a property of a subclass must be called)."""
    plain = trackClass.__setattr__ is Track.__setattr__ and all(
        name == 'data' and isinstance(attribute, TrackData) or
        not hasattr(type(attribute), '__set__')
        for name, attribute in ((name, getattr(trackClass, name, None))
                                for name in _STATE_NAMES))
    _plainClasses[trackClass] = plain
    return plain


class UpgradedWhenRead:
    """An attribute that a storage of the first layout lacks: reading it
    upgrades such a storage (its first use), then gives it.

    Only when the storage's own ``__dict__`` lacks the name is this asked
    (it describes no setting), so that every other read of the storage
    stays as cheap as Persistent makes it: with a ``__getattr__`` on the
    class, Python called ``__getattribute__`` through a slot wrapper for
    every attribute (nearly three times as long: a tenth of a save)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, storage, owner=None):
        if storage is None:
            return self
        if '_partitions' in storage.__dict__:
            storage.upgrade()
            return getattr(storage, self.name)
        raise AttributeError(self.name)


@implementer(ITrackingStorage)
class TrackingStorage(Persistent, Contained):
    """Tracks and runs in BTrees, with indexes on the tracks' metadata.

    The write model (layouts 2 and 3):

    - A save writes the track's record (records.py) under its id into
      ``_records`` and counts it: a few objects, whatever the storage
      holds. Ids come from lanes (lanes.py): one writer gets 1, 2, 3, ...;
      writers at the same time get ids in lanes of their own, so they do
      not write the same BTree buckets.
    - The indexes (index.py) are built in batches: every ``mergeSize``
      tracks a save merges the tracks saved since into them, sorted, so
      that a batch writes each index bucket once. Until then a connection
      keeps the pending tracks in memory (pending.py) and every query
      folds them in: queries are exact at all times. A merge and a change
      of a pending track in another transaction at the same time
      conflict (mergeguard.py), so that no merge indexes a track as it
      was before a change.
    - Nothing that all saves share is written by every save: counters are
      ``BTrees.Length`` objects, a run's end is derived from its tracks.
    """

    family = BTrees.family64
    trackFactory = Track
    # the original's attribute, read by its users: no other storage behind
    storage = None
    # a storage without a layout of its own was made by the first layout
    layout = 1
    # how many pending tracks a save merges into the indexes
    mergeSize = 10000
    # what the first layout lacks (one descriptor each: it knows its name)
    _records = UpgradedWhenRead()
    _trackLanes = UpgradedWhenRead()
    _index = UpgradedWhenRead()
    _pendingChanges = UpgradedWhenRead()
    _runs = UpgradedWhenRead()
    _runLanes = UpgradedWhenRead()
    _taskRuns = UpgradedWhenRead()
    _indexAttributes = None

    def __init__(self, trackFactory=None, partitions=None):
        if trackFactory is not None:
            self.trackFactory = trackFactory
        if partitions is not None:
            checkPartitions(partitions)
        self._records = LaneTrees(RecordTree)
        self._trackLanes = Lanes()
        self._index = TrackIndex(self.indexAttributes)
        self._pendingChanges = PendingChanges()
        self._runs = LaneTrees()
        self._runLanes = Lanes()
        self._taskRuns = TaskRuns()
        self._currentRuns = CurrentRuns()
        self.layout = LAYOUT

    @property
    def indexAttributes(self):
        """The names indexed: the track class's metadata attributes, then
        its further index attributes, then any set here (as the original
        allowed: ``storage.indexAttributes = (...)`` and
        ``setupIndexes()``)."""
        factory = self.trackFactory
        # (read after the line above has loaded the storage: reading
        # __dict__ does not; one read of a persistent attribute instead of
        # two)
        state = self.__dict__
        own = state.get('_indexAttributes', type(self)._indexAttributes)
        metadata, indexed = factory.metadata_attributes, \
            factory.index_attributes
        # asked by every save: kept for as long as what it comes from is
        # the same
        known = state.get('_v_indexAttributes')
        if known is not None and known[0] is metadata and \
                known[1] is indexed and known[2] is own:
            return known[3]
        names = list(metadata)
        for name in tuple(indexed) + (own or ()):
            if name not in names:
                names.append(name)
        names = tuple(names)
        self._v_indexAttributes = (metadata, indexed, own, names)
        return names

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
        return trackId in self._records

    def __len__(self):
        return self._trackLanes.count()

    def __iter__(self):
        return (formatTrackId(trackId) for trackId in self._records.keys())

    def keys(self):
        return list(self)

    def values(self):
        return LazyResult(self._loadTrack, list(self._records.keys()))

    def items(self):
        return LazyResult(self._loadItem, list(self._records.keys()))

    def _loadItem(self, trackId):
        return formatTrackId(trackId), self._loadTrack(trackId)

    def __delitem__(self, name):
        self.removeTrack(self[name])

    # queries

    def getUserTracks(self, taskId, runId, userName):
        taskId, runId, userName = _userKey(self, taskId, runId, userName)
        session = sessionOf(self)
        pending = _pendingOf(self, session).userTracks(taskId, runId,
                                                       userName)
        return _result(session, self._index.userKeys(taskId, runId, userName),
                       pending)

    def getLastUserTrack(self, taskId, runId, userName):
        taskId, runId, userName = _userKey(self, taskId, runId, userName)
        session = sessionOf(self)
        pending = _pendingOf(self, session).userTracks(taskId, runId,
                                                       userName)
        # a pending track stands after the merged ones up to its sort key
        # (it may be older than a merged one: time stamps can be given)
        latest = pending[-1][0][0] if pending else None
        # mostly the user's latest merged track in the run is the answer
        # (its key looked up without an iterator); where it is of another
        # task (saved into this task's run), those before it in turn
        reader = session.reader
        key = reader.latestUserKey(taskId, runId, userName)
        if key is not None and (latest is None or key > latest):
            track = _trackOfTask(self, key, taskId, session)
            if track is None:
                before = reader.lastUserKeys(taskId, runId, userName)
                for key in itertools.islice(before, 1, None):
                    if latest is not None and key <= latest:
                        break
                    track = _trackOfTask(self, key, taskId, session)
                    if track is not None:
                        break
            if track is not None:
                return track
        return self._loadTrack(pending[-1][1], session) if pending else None

    def getUserNames(self, taskId=None):
        pending = self._pending()
        if taskId is None:
            return sorted(set(self._index.indexValues('userName'))
                          | pending.values('userName'))
        checkName(taskId, 'taskId')
        users = self._index.userNames(taskId, self._records, len(self))
        for trackId in pending.idsByValue('taskId').get(taskId, ()):
            users.add(pending.entries[trackId]['userName'])
        return sorted(users)

    def getTaskIds(self):
        return sorted(set(self._index.indexValues('taskId'))
                      | self._pending().values('taskId'))

    def query(self, **criteria):
        session = sessionOf(self)
        pending = _pendingOf(self, session)
        one = oneName(criteria)
        if one is not None:
            return _result(session, session.reader.keysOfValue(*one),
                           pending.tracksOfValue(*one))
        one = oneNameInTime(criteria)
        if one is not None:
            name, value, times, keys = one
            return _result(session,
                           session.reader.keysInTime(name, value, *keys),
                           pending.tracksInTime(name, value, *times))
        index = self._index
        criteria = Criteria(criteria, index, lambda: pending)
        return _result(session, index.search(criteria),
                       pending.search(criteria))

    def getRuns(self, taskId=None):
        if taskId is None:
            return LazyResult(self._runs.__getitem__,
                              list(self._runs.keys()))
        checkName(taskId, 'taskId')
        return LazyResult(self._runs.__getitem__,
                          self._taskRuns.runIds(taskId))

    def getRun(self, taskId=None, runId=0):
        checkRunId(runId)
        if not runId and taskId is not None:
            runId = self._currentRuns.get(checkName(taskId, 'taskId'), 0)
        return self._runs.get(runId) if runId else None

    # saving and changing tracks

    def saveUserTrack(self, taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        checkRunId(runId)
        checkName(taskId, 'taskId')
        userName = ANONYMOUS if userName is None else userName
        currentRun = None
        if not runId:
            # (runs are never removed: the current one is there)
            runId = currentRun = self._currentRuns.get(taskId, 0)
        if update and runId:
            last = self.getLastUserTrack(taskId, runId, userName)
            if last is not None:
                return self._update(last, data, overwrite, timeStamp)
        session = sessionOf(self)
        track = self._newTrack(taskId, runId, userName, data, timeStamp)
        record, values = self._check(track, newRun=not runId,
                                     session=session, knownRun=currentRun)
        if not runId:
            # a run started for a track starts at the track's time
            runId = self._startRun(taskId, record[3])
            track.runId = values['runId'] = record[1] = runId
        self._storeNew(None, track, record, values, session)
        notify(TrackAddedEvent(track, self, track.__name__))
        # (the pending tracks are counted every 100 saves)
        session.savesSinceCheck += 1
        if session.savesSinceCheck >= 100:
            self._mergeIfDue(session)
        return track.__name__

    def _newTrack(self, taskId, runId, userName, data, timeStamp):
        """A track of the storage's class; classes written for the original
        take (taskId, runId, userName, data) only and set the time
        themselves."""
        factory = self.trackFactory
        if factory.__init__ is Track.__init__:
            return factory(taskId, runId, userName, data, timeStamp)
        track = factory(taskId, runId, userName, data)
        if timeStamp is not None:
            track.timeStamp = timeStamp
        return track

    def _storeNew(self, trackId, track, record, values, session=None):
        """Store a new track under ``trackId`` (None: the next id of the
        writer's lane)."""
        if session is None:
            session = sessionOf(self)
        session.joinTransaction()
        # (encoded first: a record refused takes no id)
        raw = encodeRecord(record)
        lanes, records = self._trackLanes, self._records
        if trackId is None:
            trackId = lanes.newId(records, session, kind='track')
        mark = lanes.merged(trackId)
        records[trackId] = raw
        lanes.counted(trackId, 1)
        _attach(self, track, trackId, record, raw, session, saved=True)
        if trackId <= mark:
            # restored below the merged ones: indexed at once
            session.indexChanging()
            if not self._index.add(trackId, values):
                self._pendingTracksChanged(session)
            return
        # A save does not bring the pending tracks up to date (that would
        # read what other writers saved, at every save): the next lookup
        # does. The track goes into the pending index now if that one has
        # seen its lane up to here; else the lookup reads it with the rest.
        pending = session.pending
        if pending is not None:
            seen = session.pendingSeen
            lane = trackId >> LANE_BITS << LANE_BITS
            if seen.get(lane, mark) == trackId - 1:
                pending.add(trackId, values)
                seen[lane] = trackId
            else:
                # the next lookup brings the pending tracks up to date
                session.pendingTxn = None

    def updateTrack(self, track, data, overwrite=False):
        self._trackIdOf(track)
        return self._update(removeSecurityProxy(track), data, overwrite, None)

    def reindexTrack(self, track):
        self._reindex(self._trackIdOf(track), removeSecurityProxy(track))

    def removeTrack(self, track):
        trackId = self._trackIdOf(track)
        record = decodeRecord(self._records[trackId])
        self._unindex(trackId, record)
        raw = self._records[trackId]
        del self._records[trackId]
        self._trackLanes.removed(trackId)
        self._trackLanes.counted(trackId, -1)
        sessionOf(self).removedHere(trackId, raw)
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
        track = removeSecurityProxy(track)
        sessionOf(self).removeAtCommit(self._trackIdOf(track), track)

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
        runId = self._runLanes.newId(self._runs, sessionOf(self),
                                     kind='run')
        run = Run(runId, taskId, start)
        self._addRun(run)
        if taskId is not None:
            self._currentRuns[taskId] = run.id
        notify(RunStartedEvent(run, self))
        return run.id

    def _addRun(self, run):
        run.__parent__ = self
        self._runs[run.id] = run
        if run.taskId is not None:
            self._taskRuns.addRun(run.taskId, run.id)

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
        if runId in self._runs:
            raise ValueError('there is a run %r already' % runId)
        run = Run(runId, taskId, start)
        run.stopped = stopped
        run.finished = bool(finished)
        self._runLanes.taken(runId)
        self._addRun(run)
        if current:
            self._currentRuns[taskId] = runId
        return runId

    def restoreTrack(self, trackId, taskId, runId, userName, timeStamp,
                     data, **metadata):
        try:
            number = parseTrackId(trackId)
        except KeyError:
            number = 0
        if number < 1:
            raise ValueError('not a track id: %r' % (trackId,))
        if number in self._records:
            raise ValueError('there is a track %r already' % trackId)
        track = self._newTrack(taskId, runId, userName, data, timeStamp)
        for name, value in metadata.items():
            if name not in track.metadata_attributes[4:]:
                raise ValueError('%s is no metadata attribute of %s'
                                 % (name, track.typeName))
            setattr(track, name, value)
        record, values = self._check(track)
        self._trackLanes.taken(number)
        self._storeNew(number, track, record, values)
        return formatTrackId(number)

    # maintenance

    def indexPending(self):
        """Merge the tracks saved since the last merge into the indexes;
        return how many were merged."""
        merged = 0
        index = self._index
        session = sessionOf(self)
        session.indexChanging()
        # the index values of the pending tracks, as this connection has
        # them up to date
        known = self._pending().entries
        for laneStart, mark, trackIds in self._trackLanes.pendingIds(
                self._records):
            index.addBatch(sorted(trackIds, key=indexOrder(known)), known)
            self._trackLanes.setMerged(laneStart, trackIds[-1])
            merged += len(trackIds)
        if merged:
            # (a change of a pending track committed at the same time
            # conflicts: see mergeguard.py)
            self._guardedChanges().merged()
            session.pending = None
        return merged

    def _mergeIfDue(self, session):
        session.savesSinceCheck = 0
        if session.mergeAt is None:
            # writers reaching the size at the same time would all merge
            # the same tracks: one of them, at a random point, does
            session.mergeAt = int(self.mergeSize * (1 + random.random() / 2))
        pending = self._pending(session)
        if len(pending) - pending.crowded >= session.mergeAt:
            self.indexPending()

    def upgrade(self, progress=None):
        """Bring a storage of an earlier layout to the current one; return
        the number of records rewritten (0 when there was nothing to do).

        Layout 1 kept pickled records, run ends and indexes in partitions;
        layout 2 keeps JSON records (records.py) in one tree, ids in lanes
        and indexes built in batches; layout 3 adds to the index the
        counts of big sets and the run of each of a user's keys (index.py;
        a storage of layout 2 works without them, a little slower). Ids,
        time stamps, data, runs and their states stay as they
        were; the indexes are built anew. ``progress`` as for
        ``reindexTracks``.
        """
        from cybertools.tracking.upgrade import upgradeStorage
        rewritten = upgradeStorage(self, progress)
        if not self._index.userRuns:
            self.reindexTracks(progress)
        if self.__dict__.get('layout') != LAYOUT:
            self.layout = LAYOUT
        return rewritten

    def setupIndexes(self):
        if set(self._index.names) != set(valueIndexNames(
                self.indexAttributes)):
            self.reindexTracks()

    def reindexTracks(self, progress=None):
        """Index all tracks afresh; replace the indexes only if all went
        well, so that a track that cannot be indexed changes nothing."""
        index = self._freshIndex(self._records.keys(), progress)
        # (the keys of the new index may be others)
        sessionOf(self).indexChanging()
        self._index = index
        self._trackLanes.setAllMerged(self._records)
        # (the crowded tracks may be others now)
        self._pendingTracksChanged()

    def _freshIndex(self, trackIds, progress=None):
        """An index of these tracks, built from their records."""
        index = TrackIndex(self.indexAttributes)
        indexValues = self._indexValuesFunction()
        valuesOf = {}
        for trackId in reportingProgress(trackIds, progress):
            record = decodeRecord(self._records[trackId])
            valuesOf[trackId] = indexValues(trackId, record)
        trackIds = sorted(valuesOf, key=indexOrder(valuesOf))
        index.addBatch(trackIds, valuesOf)
        return index

    def checkIndexes(self, progress=None):
        merged = self._trackLanes.mergedIds(self._records)
        expected = self._freshIndex(merged, progress)
        found = self._index.differences(expected)
        found.extend(self._index.refusals())
        count = len(self._records)
        if count != len(self):
            found.append('track count: %i stored, %i counted'
                         % (count, len(self)))
        return found

    # helpers

    def _pending(self, session=None):
        """The index of the pending tracks in this connection, brought up
        to date with what is stored."""
        if session is None:
            session = sessionOf(self)
        pending = session.currentPending()
        if pending is not None:
            return pending
        pending = session.pending
        session.pendingTxn = session.transaction_manager.get()
        session.followCacheSize()
        # (what the commonest queries read of the index, as long as the
        # pending tracks are up to date: see index.IndexReader)
        session.reader = IndexReader(self._index)
        lanes = self._trackLanes
        state = (lanes.marks(), self._pendingChanges())
        if pending is not None and session.pendingState != state:
            pending = self._followed(pending, session, state)
        if pending is None or session.pendingState != state:
            pending = session.pending = PendingIndex()
            session.pendingState = state
            session.pendingSeen = {}
            crowded = self._index.crowdedIds()
            if crowded:
                indexValues = self._indexValuesFunction()
                for trackId in crowded:
                    pending.add(trackId, indexValues(
                        trackId, decodeRecord(self._records[trackId])))
                pending.crowded = len(crowded)
        for laneStart, mark in state[0]:
            seen = session.pendingSeen.get(laneStart)
            last = lanes.lastId(self._records, laneStart)
            if seen is not None and (last is None or last < seen):
                # tracks this connection saw are gone: removed, and taken
                # out already (see _followed), or else (not committed,
                # removed unseen) start afresh
                if any(trackId >> LANE_BITS << LANE_BITS == laneStart and
                       (last is None or trackId > last)
                       for trackId in pending.entries):
                    session.pending = None
                    return self._pending()
                session.pendingSeen.pop(laneStart)
                if last is not None:
                    session.pendingSeen[laneStart] = last
                continue
            if seen is None:
                seen = mark
            if last is None or last <= seen:
                continue
            # (read from the lane's tree in a row: a fresh connection
            # reads thousands)
            tree = self._records.laneTree(laneStart)
            trackIds = list(tree.keys(seen + 1, last))
            records = map(decodeRecord, tree.values(seen + 1, last))
            pending.addAll(trackIds, map(self._indexValuesFunction(),
                                         trackIds, records))
            session.pendingSeen[laneStart] = last
        return pending

    def _followed(self, pending, session, state):
        """Pending tracks of the state the session saw brought to
        ``state`` by reading anew the tracks changed since (see
        mergeguard.py); None where that cannot be done (a merge since, or
        changes the log does not tell)."""
        seen = session.pendingState
        if seen is None or seen[0] != state[0]:
            return None
        changedSince = getattr(self._pendingChanges, 'changedSince', None)
        changed = None if changedSince is None else changedSince(seen[1])
        if changed is None:
            return None
        indexValues = self._indexValuesFunction()
        for trackId in dict.fromkeys(changed):
            raw = self._records.get(trackId)
            if raw is None:
                pending.remove(trackId)
            else:
                pending.add(trackId, indexValues(trackId, decodeRecord(raw)))
        session.pendingState = state
        return pending

    def _indexValues(self, trackId, record):
        """The index values of a stored track."""
        return self._indexValuesFunction()(trackId, record)

    def _indexValuesFunction(self):
        """A function giving the index values of a stored track from its id
        and record, for many tracks in a row (the adapter is looked up
        once)."""
        factory = self.trackFactory
        if usesDefaultIndexData(factory, implementedBy(factory)):
            valuesOf = defaultIndexValuesFunction(self.indexAttributes)
            return lambda trackId, record: valuesOf(record)

        def indexValues(trackId, record):
            values = getIndexValues(self._track(trackId, record))
            values.update(taskId=record[0], runId=record[1],
                          userName=record[2], timeStamp=record[3])
            return values
        return indexValues

    def _loadMerged(self, merged, start, stop):
        """The tracks of merged entries start..stop of a result (see
        results.MergedKeys), those removed since left out."""
        session = sessionOf(self)
        timeline = self._index.timeline
        load, make = self._loadTrack, self._storedTrack
        tracks, recent = session.tracks, session.recent
        # the keys of the tracks checked since the timeline and the records
        # last changed (see watched.py): their tracks need no lookup
        checked = session.checkedKeys() \
            if isinstance(timeline, Watched) else None
        # the records' tree of the lane of the last track (mostly, all are
        # in one lane)
        laneTree, records, lane = self._records.laneTree, None, None
        lanesWatched = False
        keys = merged.list() if merged.ids is None else None
        # the track ids of the entries are taken some at a time, and the
        # tracks not in use made with them (see _idsAhead); a cache too
        # small to keep those makes them one by one below
        ahead = min(MADE_AHEAD, max(2, session.cacheSize // 4))
        makeAhead = stop - start > 1 and ahead < session.cacheSize and \
            readsDataLater(self.trackFactory)
        idsFrom = idsTo = start
        for i in range(start, stop):
            if i == idsTo:
                idsFrom, idsTo = i, min(stop, i + ahead)
                trackIds = self._idsAhead(session, merged, keys, i, idsTo,
                                          makeAhead)
            trackId = trackIds[i - idsFrom]
            if trackId is None:
                continue
            # (once resolved, as soon as the index changes, even while this
            # runs, the checked keys are no longer the result's)
            key = keys[i] if merged.ids is None else None
            if key is not None and checked is not None:
                # (session.checkedTrack, inline: this runs per track)
                if session.checkedAt != session.changes.count:
                    checked = session.checkedKeys()
                if checked.get(key) == trackId:
                    track = recent.get(trackId)
                    if track is not None:
                        recent.move_to_end(trackId)
                        yield track
                        continue
            trackLane = trackId >> LANE_BITS << LANE_BITS
            if trackLane != lane:
                lane, records = trackLane, laneTree(trackLane)
                lanesWatched = checked is not None and \
                    isinstance(records, Watched)
            # what _loadTrack does for a recent track as stored (the common
            # case of a long-running reader) and for a track not in use
            track = recent.get(trackId)
            if track is not None:
                if records is not None and \
                        track.__dict__['_stored'] is records.get(trackId):
                    recent.move_to_end(trackId)
                    if key is not None and lanesWatched:
                        session.noteChecked(key, trackId)
                    yield track
                    continue
            elif trackId not in tracks:
                raw = None if records is None else records.get(trackId)
                if raw is not None:
                    track = make(trackId, raw, session)
                    if key is not None and lanesWatched:
                        session.noteChecked(key, trackId)
                    yield track
                continue
            try:
                yield load(trackId, session)
            except KeyError:
                continue

    def _idsAhead(self, session, merged, keys, start, stop, makeAhead):
        """The track ids of the merged entries start..stop of a result (see
        ``_loadMerged``; None for a key no longer in the timeline). With
        ``makeAhead``, the track objects of those not in use are made, all
        at once, and kept among the recent ones, noted as checked:
        ``_loadMerged`` then gives them out as recent tracks, checked as
        those are, whatever changed meanwhile.

        The ids are those of the keys as the query found them: the timeline
        is as it found it while the keys are not resolved (see
        ``MergedKeys``), and the ids resolved are the same.

        A long result is mostly of tracks not given out lately (a million
        tracks do not stay in use), and these cost most: made one by one
        (``_storedTrack``), a track of a user's 200 at 1,000,000 tracks
        took 7.0 us in all; made here, its record read with the others'
        and the steps of ``_attach`` done in one loop, its id looked up
        once, 5.9 us."""
        ids = merged.ids
        if ids is None:
            timeline = self._index.timeline
            get = timeline.get
            keys = keys[start:stop]
            # (the ids of keys checked before are known: see checkedKeys)
            known = session.checkedKeys() \
                if isinstance(timeline, Watched) else None
            watched = known is not None
            if known:
                known = known.get
                trackIds = [known(key) or get(key) for key in keys]
            else:
                trackIds = [get(key) for key in keys]
        else:
            keys, watched = None, False
            trackIds = ids[start:stop]
        if not makeAhead:
            return trackIds
        recent, tracks = session.recent, session.tracks
        laneTree, lane, records = self._records.laneTree, None, None
        found = {}      # track id: its record, of the tracks not in use
        checked = []    # (key, track id) of the tracks found
        for i, trackId in enumerate(trackIds):
            if trackId is None or trackId in recent or \
                    trackId in tracks or trackId in found:
                continue
            trackLane = trackId >> LANE_BITS << LANE_BITS
            if trackLane != lane:
                lane, records = trackLane, laneTree(trackLane)
                if records is not None and not isinstance(records, Watched):
                    watched = False
            raw = None if records is None else records.get(trackId)
            if raw is not None:
                found[trackId] = raw
                if watched:
                    checked.append((keys[i], trackId))
        if not found:
            return trackIds
        factory = self.trackFactory
        new = factory.__new__
        try:
            records = decodeRecords(list(found.values()))
        except ValueError:
            # a damaged record: the tracks are made one by one, those
            # before it given out
            return trackIds
        made = []
        for (trackId, raw), record in zip(found.items(), records):
            # (what _storedTrack does: _setState, then _attach)
            track = new(factory)
            state = track.__dict__
            (state['taskId'], state['runId'], state['userName'],
             state['timeStamp'], state['data']) = record[:5]
            if len(record) > 5:
                state.update(record[5])
            state['__name__'] = formatTrackId(trackId)
            state['__parent__'] = self
            state['_session'] = session
            state['_stored'] = raw
            made.append((trackId, track))
        session.keepMade(made)
        if watched:
            session.noteCheckedMany(checked)
        return trackIds

    def _loadTrack(self, trackId, session=None):
        """The track object of a stored track: the one in use in this
        connection, or a new one."""
        if session is None:
            session = sessionOf(self)
        track = session.get(trackId)
        if track is not None:
            raw = self._records.get(trackId)
            if track.__dict__['_stored'] is not raw and \
                    trackId not in session.dirty:
                if raw is None:
                    # removed since (by another connection), or its save
                    # undone
                    session.forget(trackId)
                    raise KeyError(trackId)
                # stored anew since (by another connection, or undone)
                self._revert(trackId, track)
            return track
        return self._storedTrack(trackId, self._records[trackId], session)

    def _storedTrack(self, trackId, raw, session):
        """A new track object for a stored track not in use."""
        record = decodeRecord(raw)
        factory = self.trackFactory
        track = factory.__new__(factory)
        _setState(track, record)
        _attach(self, track, trackId, record, raw, session)
        return track

    def _track(self, trackId, record):
        """A detached track object for a record (for index values)."""
        track = self.trackFactory.__new__(self.trackFactory)
        _setState(track, record)
        track.__dict__.update(__name__=formatTrackId(trackId),
                              __parent__=self)
        return track

    def _isStored(self, trackId):
        return trackId in self._records

    def _storeChanged(self, trackId, track):
        """Store a track changed in place (at commit, see session.py)."""
        self._reindex(trackId, track)

    def _revert(self, trackId, track, raw=None):
        """Give a track object its stored state again (that of ``raw``, its
        record as stored, if given)."""
        if raw is None:
            raw = self._records.get(trackId)
        if raw is None:
            return
        record = decodeRecord(raw)
        for name in track.metadata_attributes[4:]:
            track.__dict__.pop(name, None)
        data = track.__dict__.get('data')
        _setState(track, record)
        track.__dict__.update(_stored=raw, data=data)
        setStoredData(track, record[4])

    def _trackIdOf(self, track):
        """The id of a track object of this storage that is still stored.

        The caller may pass a security proxy of the track: it was allowed
        to call the method, and the track is checked to be ours."""
        if not ITrack.providedBy(track):
            raise TypeError('not a track: %r' % (track,))
        if removeSecurityProxy(track.__parent__) is not self:
            raise ValueError('%r belongs to another storage' % (track,))
        trackId = parseTrackId(track.__name__)
        if trackId not in self._records:
            raise KeyError(track.__name__)
        return trackId

    def _checkCurrent(self, trackId, track, stored):
        """Refuse to store a track object whose record another transaction
        has changed since the object was read (a track kept from an
        earlier transaction, not looked up again; ``stored``: the record
        now): its state would overwrite that change. A ConflictError, so
        that the transaction is retried: the abort gives the object its
        stored state again."""
        read = track.__dict__.get('_stored')
        if read is None:
            return      # (a copy, or a track being saved)
        if stored is not read and stored != read:
            raise ConflictError(
                'track %s was changed by another transaction after this '
                'object of it was read' % formatTrackId(trackId))

    def _getRun(self, runId):
        run = self._runs.get(runId)
        if run is None:
            raise ValueError('there is no run %r' % (runId,))
        return run

    def _check(self, track, newRun=False, session=None, knownRun=None):
        """Check a track object's state before storing it.

        Returns the record to store (a list, see records.py) and the index
        values; changes nothing. With ``newRun`` the track's run is still
        to be started; ``knownRun`` is a run known to be there (the
        task's current one).
        """
        taskId = checkName(track.taskId, 'taskId')
        userName = checkName(track.userName, 'userName')
        runId = checkRunId(track.runId)
        if not newRun and runId != knownRun:
            self._getRun(runId)
        timeStamp = checkTime(track.timeStamp, 'timeStamp')
        data = checkData(track.data)
        record = [taskId, runId, userName, timeStamp, data]
        extraNames = track.metadata_attributes[4:]
        if extraNames:
            extra = checkData({name: getattr(track, name, None)
                               for name in extraNames})
            record.append(extra)
        if usesDefaultIndexData(type(track), providedBy(track)):
            values = defaultIndexValues(record, self.indexAttributes)
        else:
            values = getIndexValues(track)
            values.update(taskId=taskId, runId=runId, userName=userName,
                          timeStamp=timeStamp)
            if extraNames:
                values.update(extra)
        # (the metadata are of their kinds, checked above: other values
        # must be of the kind their index holds)
        if not values.keys() <= METADATA_NAMES:
            checkIndexValues(self._index, lambda: self._pending(session),
                             values)
        return record, values

    def _update(self, track, data, overwrite, timeStamp, always=False):
        data = checkData({} if data is None else data)
        if not data and not overwrite and not always:
            return track.__name__
        changed = copy.copy(track)
        changed.data = dict(data) if overwrite else dict(track.data, **data)
        changed.timeStamp = time.time() if timeStamp is None else timeStamp
        trackId = parseTrackId(track.__name__)
        raw = self._records[trackId]
        self._checkCurrent(trackId, track, raw)
        sessionOf(self).storedHere(trackId, track, raw)
        self._reindex(trackId, changed)
        track.__dict__.update(timeStamp=changed.timeStamp,
                              _stored=changed.__dict__['_stored'])
        setStoredData(track, changed.__dict__['data'])
        sessionOf(self).markStored(trackId)
        notify(TrackModifiedEvent(track))
        return track.__name__

    def _reindex(self, trackId, track):
        """Store a track object's state and move its index entries."""
        raw = self._records[trackId]
        self._checkCurrent(trackId, track, raw)
        record, values = self._check(track)
        stored = decodeRecord(raw)
        if record != stored:
            before = self._indexValues(trackId, stored)
            if values != before:
                self._moveEntries(trackId, stored, before, values)
            # (else only what no index holds changed: the data, mostly)
            if '_stored' in track.__dict__:
                # (a track object in use, not a copy: see _update)
                sessionOf(self).storedHere(trackId, track, raw)
            raw = self._records[trackId] = encodeRecord(record)
        track.__dict__['_stored'] = raw
        sessionOf(self).markStored(trackId)

    def _moveEntries(self, trackId, stored, before, values):
        """Move the index entries of a stored track (of record ``stored``)
        from its index values ``before`` to new ones."""
        if trackId > self._trackLanes.merged(trackId):
            self._pendingTrackChanged(trackId, values)
            return
        index = self._index
        key = index.keyOf(trackId, stored[3])
        if key is not None and microseconds(values['timeStamp']) == \
                microseconds(before['timeStamp']):
            # the same time: it keeps its key, and so its place among the
            # tracks of that time (save order)
            sessionOf(self).indexChanging()
            index.remove(key, before)
            index.add(trackId, values, key)
            return
        self._unindex(trackId, stored)
        sessionOf(self).indexChanging()
        if not index.add(trackId, values):
            self._pendingTracksChanged()

    def _unindex(self, trackId, record):
        """Take a stored track out of the indexes (or out of the pending
        tracks)."""
        if trackId <= self._trackLanes.merged(trackId):
            index = self._index
            key = index.keyOf(trackId, record[3])
            if key is not None:
                sessionOf(self).indexChanging()
                index.remove(key, self._indexValues(trackId, record))
            elif trackId in index.crowdedIds():
                index.removeCrowded(trackId, record[3])
                self._pendingTracksChanged()
        else:
            self._pendingTrackChanged(trackId, None)

    def _pendingTrackChanged(self, trackId, values):
        """A pending track gets new index values (None: it is removed).
        This connection's pending tracks follow at once, the other
        connections' at their next lookup (see _followed): a save with
        ``update=True`` changes a pending track mostly, and reading them
        all anew took milliseconds for every such save."""
        session = sessionOf(self)
        self._countPendingChange(session, trackId)
        pending = session.currentPending()
        if pending is None or trackId not in pending.entries:
            session.pending = None
            return
        if values is None:
            pending.remove(trackId)
        else:
            pending.add(trackId, values)
        # (the change counted is this one's own, followed already)
        session.pendingState = (self._trackLanes.marks(),
                                self._pendingChanges())

    def _pendingTracksChanged(self, session=None):
        """A pending or crowded track (index.py) was changed, removed or
        added out of turn: every connection rebuilds its pending tracks."""
        session = session or sessionOf(self)
        self._countPendingChange(session)
        session.pending = None

    def _countPendingChange(self, session, trackId=None):
        """Count a change of pending tracks (of the one of ``trackId``, or
        of others not told), noting the count before for this
        transaction (see TrackSession.pendingChanging)."""
        session.pendingChanging(self._pendingChanges())
        self._guardedChanges().change(1, trackId)

    def _guardedChanges(self):
        """The storage's PendingChanges (mergeguard.py). A storage made
        before them counts in a BTrees.Length, replaced here: the storage
        object is written once (two transactions doing so at once
        conflict)."""
        changes = self._pendingChanges
        if type(changes) is not PendingChanges:
            changes = self._pendingChanges = PendingChanges(changes())
        return changes

    def _lastTrackTime(self, runId):
        """The time stamp of a run's latest track, None without tracks."""
        found = []
        key = self._index.lastKey('runId', runId)
        if key is not None:
            found.append(self._index.timeline[key])
        last = self._pending().lastOf('runId', runId)
        if last is not None:
            found.append(last[1])
        return max((decodeRecord(self._records[trackId])[3]
                    for trackId in found), default=None)


def _userKey(storage, taskId, runId, userName):
    """(taskId, runId, userName) with runId 0 replaced by the task's current
    run and no user by the anonymous one."""
    checkName(taskId, 'taskId')
    checkRunId(runId)
    userName = ANONYMOUS if userName is None else userName
    checkName(userName, 'userName')
    if not runId:
        runId = storage._currentRuns.get(taskId, 0)
    return taskId, runId, userName


def _trackOfKey(storage, key, session):
    """(track id, track) of a merged track's key, looked up unless checked
    before (see TrackingStorage._loadMerged)."""
    found = session.checkedTrack(key)
    if found is not None:
        return found
    timeline = session.reader.timeline
    trackId = timeline[key]
    track = storage._loadTrack(trackId, session)
    if session.changes is not None and isinstance(timeline, Watched) and \
            isinstance(storage._records.laneTree(
                trackId >> LANE_BITS << LANE_BITS), Watched):
        session.noteChecked(key, trackId)
    return trackId, track


def _trackOfTask(storage, key, taskId, session):
    """The track of a merged track's key if it is of the task as stored
    (and indexed: a track changed in place is stored at commit), else
    None."""
    trackId, track = _trackOfKey(storage, key, session)
    if trackId in session.dirty:
        stored = decodeRecord(track.__dict__['_stored'])[0]
    else:
        stored = track.__dict__['taskId']
    return track if stored == taskId else None


def _pendingOf(storage, session):
    """The pending tracks (``storage._pending``), without reading the method
    while they are up to date (``session.currentPending``, inline: every
    query asks); ``session.reader`` is up to date with them."""
    pending = session.pending
    if pending is None or \
            session.pendingTxn is not session.transaction_manager.get():
        return storage._pending(session)
    return pending


# (functions, not methods: a method read from the storage, a persistent
# object, costs some ten dictionary lookups, and these run for every track
# made)

def _setState(track, record):
    """Give a track object the state of a record."""
    state = track.__dict__
    (state['taskId'], state['runId'], state['userName'],
     state['timeStamp'], state['data']) = record[:5]
    if len(record) > 5:
        state.update(record[5])


def _attach(storage, track, trackId, record, raw, session=None,
            saved=False):
    """Make a track object the one of a stored track in this connection
    (``saved``: a track just saved)."""
    if session is None:
        session = sessionOf(storage)
    state = track.__dict__
    state['__name__'] = formatTrackId(trackId)
    state['__parent__'] = storage
    state['_session'] = session
    state['_stored'] = raw
    # the data is plain until read (see session.TrackData)
    state['data'] = storedData(track, record[4])
    session.add(trackId, track, keep=not saved)


def _result(session, keys, pending):
    """A result of merged keys (in order: a list or MergedKeys) and pending
    tracks."""
    merged = keys if type(keys) is MergedKeys else MergedKeys(keys)
    session.holdKeys(merged)
    return TrackResult(*session.loaders, merged, pending)


def reportingProgress(items, progress, every=1000):
    """The items; ``progress`` (None: no reports) is called with the
    number done every ``every`` items and with the rest at the end."""
    if progress is None:
        yield from items
        return
    done = 0
    for item in items:
        yield item
        done += 1
        if done == every:
            progress(done)
            done = 0
    if done:
        progress(done)


def indexOrder(valuesOf):
    """The sort key of the order in which tracks go into the indexes, for
    tracks with the index values in ``valuesOf`` (track id: values): by
    time stamp, then by id (so that tracks saved in one microsecond keep
    their order). Indexes built in this order write each of their buckets
    once. (The key is one number: a merge sorts many tracks, and tuples
    would be objects for the garbage collector to look at.)"""
    def order(trackId):
        return microseconds(valuesOf[trackId]['timeStamp']) << 64 | trackId
    return order


def checkPartitions(partitions):
    """Partitions were how the first layout took concurrent writers; the
    storage needs none now. The argument is still checked and accepted."""
    if isinstance(partitions, bool) or not isinstance(partitions, int):
        raise TypeError('partitions must be an int')
    if not 1 <= partitions <= 256:
        raise ValueError('partitions must be between 1 and 256: %r'
                         % partitions)
    warnings.warn('TrackingStorage(partitions=...) is no longer needed: '
                  'concurrent writers save into lanes of their own',
                  DeprecationWarning, stacklevel=3)
