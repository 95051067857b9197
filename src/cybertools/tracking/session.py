"""One object per stored track, and the changes made to it stored.

Tracks are not persistent objects of their own: their state is a record
in the storage's BTrees. So that they still behave like ZODB objects, each
storage keeps a *session* per connection (per transaction manager when the
storage is not in a database):

- it hands out one track object per stored track for as long as the
  object is in use, so ``storage[id] is storage[id]``, and keeps the
  tracks read last alive (as many as the connection's object cache holds
  objects), so that a long-running process reads the tracks it uses
  often without decoding them again, as ZODB keeps the objects it uses
  often; a track that is no longer among those but still in use is
  found through a weak map from track id to track;
- a track tells its session when its metadata or data are set or its data
  change in place (``data`` is kept in ``TrackedDict`` and ``TrackedList``
  containers from the first time it is read, see ``TrackData``); the
  session then joins the transaction, stores and reindexes the changed
  tracks just before the transaction commits, and gives them back their
  stored state when it aborts. A storage in no database has no commit to
  wait for: there a change is stored at once.

A change through a list or dict taken out of a track's data is seen as
long as that container is in use: the containers keep their track alive.

What goes into the data is made what will be stored, and checked, when it
goes in (``trackedValue``). What a transaction did to tracks, the session
keeps in its books: the tracks changed in place (``dirty``), those whose
records it stored (``stored``: ``updateTrack``, and the changes stored at
commit) or removed (``removed``), each with the record it had before, and
how the containers of their data hung together before their first change
(``structures``). An abort or a savepoint's rollback gives them that state
from the books, without reading the records, which ZODB may roll back
before or after the session hears of it. A change that cannot be stored
dooms the transaction; a track whose record another transaction changed or
removed since it was read is not stored over that change (ConflictError).
"""

import copy
import sys
import weakref
from collections import OrderedDict

import transaction
from transaction.interfaces import IDataManager
from ZODB.POSException import ConflictError
from zope.interface import implementer

from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkKey
from cybertools.tracking.validation import checkValue
from cybertools.tracking.watched import changesOf


class Owner:
    """What the containers of one track's data share: the track they
    belong to (set once the track exists)."""

    __slots__ = ('track',)

    def __init__(self, track=None):
        self.track = track

    def undoFor(self, container):
        """A copy to restore a container from if its change is refused, or
        None: only a track of a storage in no database stores (and so may
        refuse) each change at once. (Asked before every change: the
        session notes how the data's containers hang together before the
        track's first change, see TrackSession.aboutToChange.)"""
        track = self.track
        session = None if track is None else track.__dict__.get('_session')
        if session is None:
            return None
        if not session.storesAtOnce:
            session.aboutToChange(track)
            return None
        return container._copy()

    def changed(self, container=None, undo=None):
        track = self.track
        if track is None:
            return
        try:
            track._trackChanged()
        except BaseException:
            if undo is not None:
                container._restore(undo)
            raise


def _mutator(kind, name):
    base = getattr(kind, name)

    def method(self, *args, **kw):
        undo = self._owner.undoFor(self)
        result = base(self, *args, **kw)
        self._owner.changed(self, undo)
        return result
    method.__name__ = name
    return method


class TrackedDict(dict):
    """A dict of a track's data that tells the track when it changes (the
    values put in are tracked too)."""

    __slots__ = ('_owner',)

    def _copy(self):
        return dict(self)

    def _restore(self, copy):
        dict.clear(self)
        dict.update(self, copy)

    def __setitem__(self, key, value):
        key = checkKey(key, 'data')
        value = trackedValue(value, self._owner, 'data[%r]' % key, self,
                             _idsOf([dict.get(self, key)]))
        undo = self._owner.undoFor(self)
        dict.__setitem__(self, key, value)
        self._owner.changed(self, undo)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(*args, **kw):
        # (``self`` taken from the arguments: a key may be named so)
        self, *args = args
        items = []
        for key, value in dict(*args, **kw).items():
            key = checkKey(key, 'data')
            items.append((key, trackedValue(
                value, self._owner, 'data[%r]' % key, self,
                _idsOf([dict.get(self, key)]))))
        undo = self._owner.undoFor(self)
        for key, value in items:
            dict.__setitem__(self, key, value)
        self._owner.changed(self, undo)

    def __ior__(self, other):
        self.update(other)
        return self

    for _name in ('__delitem__', 'pop', 'popitem', 'clear'):
        locals()[_name] = _mutator(dict, _name)
    del _name

    def __reduce__(self):
        return (dict, (dict(self),))


class TrackedList(list):
    """A list of a track's data that tells the track when it changes (the
    values put in are tracked too)."""

    __slots__ = ('_owner',)

    def _copy(self):
        return list(self)

    def _restore(self, copy):
        list.__setitem__(self, slice(None), copy)

    def __setitem__(self, index, value):
        owner = self._owner
        if isinstance(index, slice):
            # (each of the lists and dicts replaced may stand in the slice
            # again, once)
            kept = _idsOf(list.__getitem__(self, index))
            value = [trackedValue(item, owner, 'data', self, kept)
                     for item in list(value)]
        else:
            value = trackedValue(value, owner, 'data', self,
                                 _idsOf([list.__getitem__(self, index)]))
        undo = owner.undoFor(self)
        list.__setitem__(self, index, value)
        owner.changed(self, undo)

    def append(self, value):
        value = trackedValue(value, self._owner, 'data', self)
        undo = self._owner.undoFor(self)
        list.append(self, value)
        self._owner.changed(self, undo)

    def insert(self, index, value):
        value = trackedValue(value, self._owner, 'data', self)
        undo = self._owner.undoFor(self)
        list.insert(self, index, value)
        self._owner.changed(self, undo)

    def extend(self, values):
        values = [trackedValue(value, self._owner, 'data', self)
                  for value in list(values)]
        undo = self._owner.undoFor(self)
        list.extend(self, values)
        self._owner.changed(self, undo)

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __imul__(self, count):
        # (the lists and dicts in it repeated as copies, see trackedValue)
        self[:] = list(self) * count
        return self

    for _name in ('__delitem__', 'pop', 'remove', 'clear', 'sort',
                  'reverse'):
        locals()[_name] = _mutator(list, _name)
    del _name

    def __reduce__(self):
        return (list, (list(self),))


def ownerOf(track):
    """The owner of a stored track's containers (made when first needed)."""
    owner = track.__dict__.get('_owner')
    if owner is None:
        owner = track.__dict__['_owner'] = Owner(track)
    return owner


class TrackData:
    """The ``data`` attribute of tracks.

    A stored track's data is put into tracked containers when it is first
    read, not when the track object is made: most tracks saved or found
    are never read again, and a track whose containers refer back to it
    is a reference cycle that only the garbage collector frees. What is in
    the track's ``__dict__`` until then is plain data that nothing changes
    in place."""

    def __get__(self, track, kind=None):
        if track is None:
            return self
        state = track.__dict__
        try:
            data = state['data']
        except KeyError:
            raise AttributeError('data') from None
        if type(data) is dict and state.get('_session') is not None:
            data = state['data'] = tracked(data, ownerOf(track))
        return data

    def __set__(self, track, value):
        track.__dict__['data'] = value


def setStoredData(track, plain):
    """Give a stored track ``plain`` data as it is stored now (after an
    abort, a rollback or an update). Where the data is in tracked
    containers, they are changed in place: containers taken out of the
    track before stay the track's, so that a change through them is
    stored, as with persistent objects."""
    state = track.__dict__
    data, owner = state.get('data'), state.get('_owner')
    if owner is not None and type(data) is TrackedDict and \
            data._owner is owner and type(plain) is dict:
        _restoreInPlace(data, plain, owner, {id(data)})
    else:
        state['data'] = storedData(track, plain)


def structureOf(track):
    """How the tracked containers of a track's data hang together: (dict,
    {key: structure}) or (list, [structure or None]) for each, None where
    the data is not tracked (yet)."""
    data = track.__dict__.get('data')
    if type(data) is not TrackedDict or \
            data._owner is not track.__dict__.get('_owner'):
        return None
    return _structure(data)


def _structure(container):
    if type(container) is TrackedDict:
        return container, {key: _structure(value)
                           for key, value in container.items()
                           if type(value) in _TRACKED}
    return container, [_structure(value) if type(value) in _TRACKED
                       else None for value in container]


def restoreStructure(track, structure):
    """Put the containers of a track's data back as ``structure`` (see
    structureOf) has them; what they hold besides is left to
    setStoredData, which fills them in place."""
    if structure is not None:
        track.__dict__['data'] = _rebuilt(structure)


def _rebuilt(structure):
    container, parts = structure
    if type(container) is TrackedDict:
        dict.clear(container)
        for key, part in parts.items():
            dict.__setitem__(container, key, _rebuilt(part))
    else:
        list.__setitem__(container, slice(None), [
            None if part is None else _rebuilt(part) for part in parts])
    return container


def _restoreInPlace(container, plain, owner, reused):
    if type(container) is TrackedDict:
        held = dict(container)
        dict.clear(container)
        for key, value in plain.items():
            dict.__setitem__(container, key,
                             _reused(held.get(key), value, owner, reused))
    else:
        held = list(container)
        list.__setitem__(container, slice(None), [
            _reused(held[i] if i < len(held) else None, value, owner,
                    reused)
            for i, value in enumerate(plain)])


def _reused(held, value, owner, reused):
    """A held container made to hold ``value``, where the kinds agree (and
    it is not used elsewhere in the data already); else ``value`` in new
    tracked containers."""
    kind = type(held)
    if kind in _TRACKED and held._owner is owner and \
            type(value) is (dict if kind is TrackedDict else list) and \
            id(held) not in reused:
        reused.add(id(held))
        _restoreInPlace(held, value, owner, reused)
        return held
    return tracked(value, owner)


def storedData(track, data):
    """What a stored track keeps in its ``__dict__`` as its plain ``data``:
    the data itself, to be tracked when read, or, where a subclass hides
    ``TrackData`` under a ``data`` of its own, tracked at once."""
    if readsDataLater(type(track)):
        return data
    return tracked(data, ownerOf(track))


def readsDataLater(kind):
    """Whether the tracks of a class keep their stored data plain until it
    is read (their ``data`` is ``TrackData``)."""
    readsLater = _readsDataLater.get(kind)
    if readsLater is None:
        readsLater = _readsDataLater[kind] = isinstance(
            getattr(kind, 'data', None), TrackData)
    return readsLater


# track class: whether its data is TrackData (asked for every track made;
# a plain dict, as btree._plainClasses)
_readsDataLater = {}


def trackedValue(value, owner, where='data', into=None, kept=None):
    """A value put into a track's data (into the container ``into``), as it
    will be stored: checked and made plain (``validation.checkValue``: a
    tuple becomes a list, a subclass its base type, what cannot be stored
    is refused before anything changes), in tracked containers.

    A list or dict of the track's own data goes in as itself where it is
    not in the data (taken out before) or stands where it goes (its id in
    ``kept``, taken from there once), as a copy where it is in the data
    elsewhere: one object at two places would be stored as two, and read
    back so. Into itself it cannot go."""
    if type(value) in _TRACKED and value._owner is owner:
        if into is not None and _holds(value, into):
            raise ValueError('%s: a list or dict of the data cannot go '
                             'into itself' % where)
        if kept and id(value) in kept:
            kept.discard(id(value))
            return value
        track = owner.track
        data = None if track is None else track.__dict__.get('data')
        if data is None or not _holds(data, value):
            return value
    return tracked(checkValue(value, where), owner)


def _idsOf(values):
    """The ids of the tracked containers among values (a set)."""
    return {id(value) for value in values if type(value) in _TRACKED}


def _holds(container, target):
    """Whether ``target`` is ``container`` or in it (tracked containers
    only are looked into)."""
    if container is target:
        return True
    if type(container) not in _TRACKED:
        return False
    items = container.values() if type(container) is TrackedDict \
        else container
    return any(_holds(item, target) for item in items
               if type(item) in _TRACKED)


def trackedData(data, owner):
    """New data of a track (``track.data = ...``), as trackedValue makes a
    value of it."""
    if type(data) is TrackedDict and data._owner is owner:
        return data
    return tracked(checkData(data), owner)


def tracked(value, owner):
    """Plain data (as decoded from a record) in tracked containers."""
    if owner is None:
        return value
    kind = type(value)
    if kind is dict:
        result = TrackedDict(value)
        result._owner = owner
        for key, item in value.items():
            if type(item) in _CONTAINERS:
                dict.__setitem__(result, key, tracked(item, owner))
        return result
    if kind is list:
        result = TrackedList(value)
        result._owner = owner
        for index, item in enumerate(value):
            if type(item) in _CONTAINERS:
                list.__setitem__(result, index, tracked(item, owner))
        return result
    if kind in _TRACKED and value._owner is owner:
        return value
    if isinstance(value, dict):
        return tracked(dict(value), owner)
    if isinstance(value, list):
        return tracked(list(value), owner)
    return value


class TrackSavepoint:
    """What rolling back to a savepoint needs of a session: the tracks
    touched so far (changed, stored or removed in the transaction) with
    their state then and how the containers of their data hung together,
    and the session's books of the transaction.

    A rollback gives the tracks touched since the savepoint their state of
    before (see TrackSession._revertTouched), those touched before it
    their state at the savepoint, a track removed since is the one in use
    again, and every other track is checked against the stored state when
    it is next used (as after an abort). None of it reads the storage's
    BTrees, which ZODB may roll back before or after."""

    def __init__(self, session):
        self.session = session
        self.states = {trackId: (track, _stateOf(track), structureOf(track))
                       for trackId, track in session.touched().items()}
        self.dirty = set(session.dirty)
        self.stored = dict(session.stored)
        self.removed = dict(session.removed)
        self.removals = dict(session.removals)
        self.structures = dict(session.structures)

    def rollback(self):
        session = self.session
        session.pending = None      # the pending tracks may be others now
        session.forgetNextIds()
        for trackId in session.touched().keys() - self.states.keys():
            session._revertTouched(trackId)
        for trackId, (track, state, structure) in self.states.items():
            restoreStructure(track, structure)
            _restoreState(track, state)
            if trackId in session.removed and trackId not in self.removed:
                session.add(trackId, track)
        session.dirty = {trackId: self.states[trackId][0]
                         for trackId in self.dirty}
        session.stored = dict(self.stored)
        session.removed = dict(self.removed)
        session.removals = dict(self.removals)
        session.structures = dict(self.structures)


def _stateOf(track):
    state = dict(track.__dict__)
    # a plain copy (tracked containers copy as plain ones)
    state['data'] = copy.deepcopy(state.get('data'))
    return state


def _restoreState(track, state):
    for name in list(track.__dict__):
        if name not in state and name != '_owner':
            del track.__dict__[name]
    data = track.__dict__.get('data')
    track.__dict__.update(state)
    track.__dict__['data'] = data
    # the state's data stays as it was for another rollback: it is plain,
    # and what the track gets are tracked copies
    setStoredData(track, state['data'])


_CONTAINERS = frozenset((dict, list, TrackedDict, TrackedList))
_TRACKED = frozenset((TrackedDict, TrackedList))


# How many recently used tracks a session keeps alive when its storage is
# in no database (in one: as many as the connection's cache holds objects).
DEFAULT_CACHE_SIZE = 1000

# How many results a session holds before it looks which of them are gone
# (then again when it holds twice as many as are left).
HELD_KEYS_CHECKED = 1000


def transactionManagerOf(storage):
    jar = storage._p_jar
    return jar.transaction_manager if jar is not None else transaction.manager


@implementer(IDataManager)
class TrackSession:
    """The tracks of one storage in use in one connection (see above)."""

    def __init__(self, storage):
        self.storage = storage
        self.jar = jar = storage._p_jar
        self.transaction_manager = transactionManagerOf(storage)
        # track id: weak reference to its track object, gone with it, for
        # the tracks in use that are not (or were not) recent (see _keep)
        self.tracks = {}
        self._trackGone = _forgetting(self.tracks)
        # track id: track, the most recently used last
        self.recent = OrderedDict()
        self.cacheSize = _cacheSize(jar)
        # what the transaction did (undone by an abort, see _reset):
        self.dirty = {}             # track id: track changed, to store
        # track id: (track whose record the transaction changed, the
        # record before that)
        self.stored = {}
        # track id: (track the transaction removed, its record)
        self.removed = {}
        self.removals = {}          # track id: track to remove at commit
        # track name: how the containers of a track's data hung together
        # before its first change in this transaction (see aboutToChange)
        self.structures = {}
        self._joined = None         # the transaction we joined
        self._hooked = None         # ... and wait to flush for
        # what a result loads its tracks with (see btree._result),
        # taken once: every attribute read from a persistent object costs as
        # much as some ten dictionary lookups
        self.loaders = (storage._loadMerged, storage._loadTrack)
        # the pending tracks (see TrackingStorage._pending)
        self.pending = None
        self.reader = None          # index.IndexReader, with the pending
        self.pendingState = None
        self.pendingTxn = None
        # (transaction, the count of changes of pending tracks before its
        # first one): see pendingChanging
        self._changesBefore = None
        self.pendingSeen = {}
        self.savesSinceCheck = 0
        self.mergeAt = None
        # weak references to the merged keys of results (see holdKeys)
        self.heldKeys = []
        self._heldLimit = HELD_KEYS_CHECKED
        self._heldTxn = None
        # order key: track id, of the tracks given out by results since
        # the connection's watched state last changed (see watched.py)
        self.changes = None if jar is None else changesOf(jar)
        if jar is not None:
            # (before a rollback or an abort changes the timeline)
            self.changes.listeners.append(
                weakref.WeakMethod(self.resolveHeldKeys))
        self.checked = {}
        self.checkedAt = None
        # ids (see lanes.py): kind: lane, kind: (transaction, next, lane)
        self.lanes = {}
        self.ids = {}
        self.moveLanes = {}

    def managerChanged(self, manager):
        """The connection was opened again with another transaction
        manager: the transactions to take part in are that one's."""
        self.transaction_manager = manager
        self._joined = self._hooked = self._heldTxn = None
        self.pending = self.pendingTxn = None

    def storageKey(self):
        """What tells the storage apart from others in this process (None
        for a storage outside a database)."""
        storage = self.storage
        jar = storage._p_jar
        if jar is None or storage._p_oid is None:
            return None
        return (id(jar.db()), storage._p_oid)

    def get(self, trackId):
        """The track object in use for a track id, or None."""
        track = self.recent.get(trackId)
        if track is not None:
            self.recent.move_to_end(trackId)
            return track
        ref = self.tracks.get(trackId)
        if ref is None:
            return None
        track = ref()
        if track is not None:
            self._keep(trackId, track)
        return track

    def add(self, trackId, track, keep=True):
        """A track object in use; ``keep`` it alive among the recent ones
        (a track just saved is not: a writer seldom reads it again, and
        keeping many costs the garbage collector time)."""
        if keep:
            # (a recent track needs no weak reference: see _keep)
            self.tracks.pop(trackId, None)
            self._keep(trackId, track)
            return
        self._refer(trackId, track)
        if trackId in self.recent:
            # (the recent track of an id is the one in use: _loadMerged
            # takes it from there)
            del self.recent[trackId]

    def _refer(self, trackId, track):
        ref = self.tracks[trackId] = TrackRef(track, self._trackGone)
        ref.key = trackId

    def _keep(self, trackId, track):
        """Keep a track among the recent ones. A recent track is found
        there; the one recent longest ago makes room, and is referred to
        weakly from then on if something else still holds it (so that it
        stays the one in use): most tracks a query makes are let go by
        then, and one weak reference less for each is one object less for
        the garbage collector."""
        recent = self.recent
        if trackId in recent:
            recent[trackId] = track     # (the one in use: see add)
            recent.move_to_end(trackId)
            return
        recent[trackId] = track
        if len(recent) > self.cacheSize:
            self._makeRoom()

    def followCacheSize(self):
        """Keep as many recent tracks as the connection's cache holds
        objects, which may have been set anew since (``DB.setCacheSize``,
        as Zope's control panel does): asked as a transaction's first
        lookup brings the pending tracks up to date."""
        self.cacheSize = _cacheSize(self.jar)
        self._makeRoom()

    def keepMade(self, made):
        """Keep track objects just made for tracks not in use, ``(track
        id, track)`` pairs, among the recent ones (``add`` for many at
        once: see ``TrackingStorage._idsAhead``)."""
        self.recent.update(made)
        self._makeRoom()

    def _makeRoom(self):
        """The tracks recent longest ago beyond the cache size are no
        longer recent (see _keep)."""
        recent, refer = self.recent, self._refer
        for _ in range(len(recent) - self.cacheSize):
            oldId, old = recent.popitem(last=False)
            if _refcount is None or _refcount(old) > _UNHELD:
                refer(oldId, old)

    def forgetNextIds(self):
        """The ids taken since a savepoint rolled back, or in an aborted
        transaction, may be given again, in a lane that may be gone: the
        next are looked up anew (see lanes.Lanes.newId), and the lanes
        used in the transaction stay known (to be left if its commit
        failed, see tpc_abort, which may come after the abort)."""
        self.ids = {kind: (state[0], None, state[2])
                    for kind, state in self.ids.items()}

    def forget(self, trackId):
        self.tracks.pop(trackId, None)
        self.recent.pop(trackId, None)
        self.dirty.pop(trackId, None)

    def pendingChanging(self, count):
        """This transaction changes pending tracks; ``count`` is the
        storage's count of such changes before (see mergeguard.py). Its
        commit may be resolved with others' changes, which are then
        numbered before its own: after it, the pending tracks follow the
        changes from that count on (their own again too, which costs a
        lookup each), not from the count this transaction saw."""
        txn = self.joinTransaction()
        if self._changesBefore is None or self._changesBefore[0] is not txn:
            self._changesBefore = (txn, count)

    def removedHere(self, trackId, raw):
        """A stored track (of record ``raw``) is removed in this
        transaction: an abort makes the one in use the one in use again."""
        track = self.get(trackId)
        self.forget(trackId)
        if track is not None and not self.storesAtOnce:
            self.removed.setdefault(trackId, (track, raw))
            self.joinTransaction()

    def storedHere(self, trackId, track, raw):
        """The record of a track (``raw`` before) is changed in this
        transaction: an abort gives the track that state again."""
        if not self.storesAtOnce:
            self.stored.setdefault(trackId, (track, raw))
            self.joinTransaction()

    def touched(self):
        """The tracks changed, stored or removed in this transaction, by
        id."""
        found = {trackId: track for trackId, (track, raw)
                 in self.removed.items()}
        found.update((trackId, track) for trackId, (track, raw)
                     in self.stored.items())
        found.update(self.dirty)
        return found

    def _revertTouched(self, trackId):
        """Give a track touched in this transaction (or since a savepoint)
        the state it had before: the record before the transaction stored
        or removed it, else (changed only) the record as stored, which the
        transaction did not change; a track removed is the one in use
        again."""
        track = self.dirty.get(trackId)
        raw = None
        for books in (self.removed, self.stored):
            entry = books.get(trackId)
            if entry is not None:
                track, raw = entry
        self._structureBack(track)
        self.storage._revert(trackId, track, raw)
        if trackId in self.removed:
            self.add(trackId, track)

    @property
    def storesAtOnce(self):
        """Whether a change is stored at once: in no database (see
        _storeNow), where there is no commit to wait for."""
        return self.jar is None

    def currentPending(self):
        """The pending tracks while they are up to date (see
        TrackingStorage._pending), else None: within a transaction, what
        other connections commit is not seen, and this one's changes keep
        them up to date."""
        pending = self.pending
        if pending is not None and \
                self.pendingTxn is self.transaction_manager.get():
            return pending
        return None

    def holdKeys(self, merged):
        """Keep the merged keys of a result (results.MergedKeys) as the
        query found them: their track ids are taken before the index
        changes (see ``indexChanging``) and before the transaction ends
        (after it, the connection may see what others committed). A
        result used after its connection was closed and opened again
        belongs to the closed one: that is beyond this.

        A query asks right after it brought the pending tracks up to date
        (``btree._pendingOf``): ``pendingTxn`` is the current transaction
        then, and is not asked for again."""
        txn = self.pendingTxn
        if self._heldTxn is not txn:
            self._heldTxn = txn
            txn.addBeforeCommitHook(self.resolveHeldKeys)
            txn.addBeforeAbortHook(self.resolveHeldKeys)
        held = self.heldKeys
        # (a plain reference without a callback: a result is made and
        # dropped in microseconds, a WeakSet's upkeep took longer)
        held.append(weakref.ref(merged))
        if len(held) >= self._heldLimit:
            # a transaction making many queries: forget the results gone
            held[:] = [ref for ref in held if ref() is not None]
            self._heldLimit = max(HELD_KEYS_CHECKED, 2 * len(held))

    def indexChanging(self):
        """The merged index is about to change: the results in use take
        the track ids of their keys, and the keys checked are checked
        again."""
        self.resolveHeldKeys()
        self.checked.clear()

    def checkedKeys(self):
        """The keys of the tracks checked since the watched state last
        changed (see watched.py): order key -> track id, None where that
        cannot be told (a storage in no database)."""
        changes = self.changes
        if changes is None:
            return None
        if self.checkedAt != changes.count:
            self.checked.clear()
            self.checkedAt = changes.count
        return self.checked

    def checkedTrack(self, key):
        """(track id, track) of a key checked before (see checkedKeys)
        whose track is still recent, else None."""
        # (checkedKeys' test, inline: asked for every merged track given
        # out)
        changes = self.changes
        if changes is None or self.checkedAt != changes.count:
            self.checkedKeys()      # (forgets what was checked before)
            return None
        trackId = self.checked.get(key)
        track = None if trackId is None else self.recent.get(trackId)
        if track is None:
            return None
        self.recent.move_to_end(trackId)
        return trackId, track

    def noteChecked(self, key, trackId):
        """A result found the track of a key as stored (see
        checkedKeys)."""
        self._checkedWithRoom()[key] = trackId

    def noteCheckedMany(self, pairs):
        """``noteChecked`` for ``(key, track id)`` pairs."""
        self._checkedWithRoom().update(pairs)

    def _checkedWithRoom(self):
        checked = self.checkedKeys()
        if len(checked) >= 2 * self.cacheSize:
            # (the tracks checked longest ago are mostly no longer recent)
            checked.clear()
        return checked

    def resolveHeldKeys(self):
        """The index is about to change, or the transaction to end (after
        it, the connection may see what others committed): the results in
        use take the track ids of their keys."""
        held = self.heldKeys
        if held:
            timeline = self.storage._index.timeline
            for ref in held:
                merged = ref()
                if merged is not None:
                    merged.resolve(timeline)
            held.clear()
            self._heldLimit = HELD_KEYS_CHECKED

    def markChanged(self, trackId, track):
        if self.storesAtOnce:
            self._storeNow(trackId, track)
            return
        self.dirty[trackId] = track
        self._join()

    def _storeNow(self, trackId, track):
        """Store a change of a track of a storage in no database at once:
        there is no commit of its own to wait for, nor one we could know
        of (the storage may yet be added to a connection of any
        transaction manager, and the change must go with it). A change
        that cannot be stored raises here, before anything is stored; the
        track or container that changed undoes it."""
        if self.storage._isStored(trackId):
            self.storage._storeChanged(trackId, track)

    def aboutToChange(self, track):
        """A track's data or metadata are about to change: note how the
        containers of its data hang together, before its first change in
        the transaction, so that an abort puts them back where they were
        (and then gives them their stored state): the lists and dicts
        taken out of the data stay the track's, even those replaced or
        removed meanwhile. In no database there is no abort."""
        if self.storesAtOnce:
            return
        name = track.__name__
        if name not in self.structures:
            structure = structureOf(track)
            # (data not read yet has no containers to put back: noted at
            # the next change, once read)
            if structure is not None:
                self.structures[name] = structure

    def _structureBack(self, track):
        """Put the containers of a track's data back as they were before
        its first change (see aboutToChange)."""
        structure = self.structures.pop(track.__name__, None)
        if structure is not None:
            restoreStructure(track, structure)

    def markStored(self, trackId):
        self.dirty.pop(trackId, None)

    def removeAtCommit(self, trackId, track):
        self.removals[trackId] = track
        self._join()

    def joinTransaction(self):
        """Take part in the current transaction (to hear of its abort)."""
        txn = self.transaction_manager.get()
        if self._joined is not txn:
            self._joined = txn
            txn.join(self)
        return txn

    def _join(self):
        """Take part in the current transaction, with something to store
        before it commits (see flush)."""
        txn = self.joinTransaction()
        if self._hooked is not txn:
            # (again for a change made by a before-commit hook after ours:
            # hooks added while they run are run too)
            self._hooked = txn
            txn.addBeforeCommitHook(self.flush)

    def flush(self):
        """Store the changed tracks and make the removals asked for (just
        before the commit). A change that cannot be stored dooms the
        transaction: the commit fails with the change's error, and so does
        every later try to commit it (the transaction forgets its
        before-commit hooks when one fails: a second commit would have
        stored the changes before the failure and dropped the others);
        the abort gives the tracks their stored state again."""
        txn = self.transaction_manager.get()
        self._hooked = None
        storage = self.storage
        try:
            for trackId, track in list(self.dirty.items()):
                if trackId in self.removals or trackId in self.removed:
                    self.dirty.pop(trackId)
                    continue
                if not storage._isStored(trackId):
                    raise ConflictError(
                        'track %07i was removed after this object of it '
                        'was read' % trackId)
                storage._storeChanged(trackId, track)
            while self.removals:
                trackId, track = self.removals.popitem()
                if storage._isStored(trackId):
                    storage.removeTrack(track)
        except BaseException:
            txn.doom()
            raise

    # the data manager: nothing to write of our own (the changes go into
    # the storage's BTrees before the commit), changed tracks to reset when
    # the transaction aborts

    def abort(self, txn):
        self._reset()

    def tpc_abort(self, txn):
        # the commit failed, most likely in a conflict with another writer
        # taking the same ids: move to lanes of our own
        self.moveLanes = {kind: True for kind, state in self.ids.items()
                          if state[0] is txn}
        self._reset()

    def _reset(self):
        self._joined = self._hooked = self._changesBefore = None
        self.pending = None
        self.forgetNextIds()
        self.removals.clear()
        for trackId in self.touched():
            self._revertTouched(trackId)
        self.dirty, self.stored, self.removed = {}, {}, {}
        self.structures.clear()

    def savepoint(self):
        """Our part of a transaction's savepoint (Zope and Plone take them
        in many requests): the changed tracks as they are now."""
        return TrackSavepoint(self)

    def tpc_begin(self, txn):
        if self.dirty or self.removals:
            # changed after the before-commit hooks had run (by a
            # synchronizer, say): not stored, so not committed
            raise RuntimeError(
                'tracks %s were changed after their changes were stored '
                'for this commit' % ', '.join(
                    sorted('%07i' % i for i in set(self.dirty) |
                           set(self.removals))))

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        before = self._changesBefore
        if before is not None and before[0] is txn and \
                self.pendingState is not None:
            self.pendingState = (self.pendingState[0], before[1])
        self._changesBefore = None
        self._joined = self._hooked = None
        self.stored.clear()
        self.removed.clear()
        self.structures.clear()

    def sortKey(self):
        return 'cybertools.tracking.session:%x' % id(self)


def _unheldReferences():
    """What ``sys.getrefcount`` gives for an object just taken out of a
    dict in ``TrackSession._keep`` that nothing else holds (the local
    name and the call's argument in CPython; None where there is no
    ``getrefcount``: there every track that makes room is referred to)."""
    if _refcount is None:
        return None
    recent = OrderedDict(((0, object()),))
    oldId, old = recent.popitem(last=False)
    return _refcount(old)


_refcount = getattr(sys, 'getrefcount', None)
_UNHELD = _unheldReferences()


class TrackRef(weakref.ref):
    """A weak reference to a track object with the track's id as ``key``
    (for the callback). ``weakref.KeyedRef`` is the same with a ``__new__``
    and an ``__init__`` in Python, six times as slow to make (1.3 us against
    0.2), and one is made for every track given out."""

    __slots__ = ('key',)


def _forgetting(tracks):
    """The callback of the weak references in a session's map of tracks:
    a track no longer in use leaves the map at once, with its reference
    (so that no reference lives on, for the garbage collector to look at,
    after the track is gone)."""
    def gone(ref):
        if tracks.get(ref.key) is ref:
            tracks.pop(ref.key, None)
    return gone


def _cacheSize(jar):
    """How many objects a connection's cache holds (see DEFAULT_CACHE_SIZE
    for no connection)."""
    try:
        return jar.db().getCacheSize()
    except AttributeError:
        return DEFAULT_CACHE_SIZE


_sessions = weakref.WeakKeyDictionary()     # connection: {oid: session}


def sessionOf(storage):
    """The session of a storage in the current connection.

    The storage object keeps it in a volatile attribute for speed; the
    registry by connection keeps it for as long as the connection lives
    (a volatile attribute goes when the storage object is deactivated).
    A connection opened again with another transaction manager (as ZODB's
    pool gives connections out, and ``db.transaction()`` does every time)
    keeps its session, which follows the manager."""
    session = storage.__dict__.get('_v_session')
    jar = storage._p_jar
    if session is not None and session.jar is jar:
        if jar is not None and \
                session.transaction_manager is not jar.transaction_manager:
            session.managerChanged(jar.transaction_manager)
        return session
    if jar is None:
        session = storage._v_session = TrackSession(storage)
        return session
    byOid = _sessions.get(jar)
    if byOid is None:
        byOid = _sessions[jar] = {}
    session = byOid.get(storage._p_oid)
    if session is None or session.storage is not storage:
        session = byOid[storage._p_oid] = TrackSession(storage)
    elif session.transaction_manager is not jar.transaction_manager:
        session.managerChanged(jar.transaction_manager)
    storage._v_session = session
    return session
