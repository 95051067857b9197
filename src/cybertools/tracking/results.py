"""The lazy sequences of tracks and runs the storage returns."""

import bisect
from collections.abc import Sequence

from cybertools.tracking.keys import unpackKeys


class LazyResult(Sequence):
    """Objects in the order of their keys, loaded on access.

    ``keys`` is an ordered sequence of keys as the storage's BTrees give it
    (track ids, run ids, or the entries of a slice of a ``TrackResult``),
    ``load`` gives the object for a key and raises KeyError for one gone
    since (a track removed). ``len()``, indexing, slicing, iteration and
    ``reversed()`` work on the keys and load only the objects returned;
    iteration leaves out what is gone, indexing raises KeyError for it.
    """

    def __init__(self, load, keys):
        self.load = load
        self.keys = keys
        self._len = None

    def __len__(self):
        if self._len is None:
            self._len = len(self.keys)
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return LazyResult(self.load, self.keys[start:stop])
            indexes = range(start, stop, step)
            if not indexes:
                return LazyResult(self.load, [])
            low = min(indexes)
            keys = self.keys[low:max(indexes) + 1]
            return LazyResult(self.load, [keys[i - low] for i in indexes])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError('result index out of range')
        return self.load(self.keys[index])

    def __iter__(self):
        return _loaded(self.load, self.keys)

    def __reversed__(self):
        return _loaded(self.load, reversed(self.keys))

    def __eq__(self, other):
        if isinstance(other, (LazyResult, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))


def _loaded(load, keys):
    """The objects of keys, those gone since left out."""
    for key in keys:
        try:
            found = load(key)
        except KeyError:
            continue
        yield found


class TrackResult(Sequence):
    """The tracks a query found: merged ones by their order keys and
    pending ones (not merged yet, see pending.py) by their ids, in one
    order.

    ``merged`` holds the merged tracks' keys in order (``MergedKeys``),
    ``pending`` is the ordered list of ``(sort key, track id)`` of the
    pending ones, whose sort key tells where they stand among the merged
    keys. Both are what the query found, and the result stays that:
    ``len()`` loads nothing, indexing and iteration load the tracks they
    return, a track changed since is still visited (once), a track
    removed since is left out. ``loadMerged(merged, start, stop)`` gives
    the tracks of merged entries start..stop, removed ones left out.
    """

    # (made for every query)
    __slots__ = ('loadMerged', 'loadId', 'merged', 'pending', '_where')

    def __init__(self, loadMerged, loadId, merged, pending):
        self.loadMerged = loadMerged
        self.loadId = loadId
        self.merged = merged
        self.pending = pending
        self._where = None

    @property
    def keys(self):
        return self.merged.list()

    @property
    def _positions(self):
        """Where each pending track stands in the whole result."""
        where = self._where
        if where is None:
            keys = self.keys
            where = self._where = [
                bisect.bisect_right(keys, sortKey[0]) + i
                for i, (sortKey, trackId) in enumerate(self.pending)]
        return where

    def __len__(self):
        # (the count itself, not len(): a count is the commonest query)
        return self.merged.count + len(self.pending)

    def _ref(self, index):
        """(True, index among the merged tracks) or (False, track id) of an
        entry."""
        if not self.pending:
            return True, index
        positions = self._positions
        i = bisect.bisect_left(positions, index)
        if i < len(positions) and positions[i] == index:
            return False, self.pending[i][1]
        return True, index - i

    def _load(self, ref):
        merged, value = ref
        if not merged:
            return self.loadId(value)
        for track in self.loadMerged(self.merged, value, value + 1):
            return track
        raise KeyError(value)       # removed since

    def __getitem__(self, index):
        if isinstance(index, slice):
            indexes = range(*index.indices(len(self)))
            return LazyResult(self._load, [self._ref(i) for i in indexes])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError('result index out of range')
        return self._load(self._ref(index))

    def __iter__(self):
        if not self.pending:
            # (the merged tracks' own iterator: one generator less to go
            # through for every track)
            return self.loadMerged(self.merged, 0, len(self.merged))
        return self._withPending()

    def _withPending(self):
        # the merged tracks in runs between the pending ones
        loadMerged, merged, start = self.loadMerged, self.merged, 0
        for i, position in enumerate(self._positions):
            stop = position - i     # merged tracks before pending i
            yield from loadMerged(merged, start, stop)
            start = stop
            try:
                yield self.loadId(self.pending[i][1])
            except KeyError:
                continue    # removed since
        yield from loadMerged(merged, start, len(merged))

    def __reversed__(self):
        for i in reversed(range(len(self))):
            try:
                yield self._load(self._ref(i))
            except KeyError:
                continue    # removed since

    def __eq__(self, other):
        if isinstance(other, (Sequence, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))


class MergedKeys:
    """The order keys of the merged tracks a query found, as it found
    them.

    They are a list, or the tree set of one value with its count, listed
    when first needed: ``len()`` of a result (a count) reads the count
    and none of the set's buckets. Before the index changes in the
    connection (a key removed, moved or given to another track) and before
    the transaction ends (after it, the connection may see what others
    committed), the storage's session takes the track ids of the keys
    held by results in use (``resolve``, see ``TrackSession.holdKeys``):
    from then on the result goes by ids.
    """

    __slots__ = ('_keys', '_set', 'count', 'ids', '_error', '__weakref__')

    def __init__(self, keys=None, tree=None, count=None):
        """``keys`` in a list, or ``count`` keys in ``tree``: a tree set
        or the keys packed as bytes (unpacked when listed)."""
        self._keys = keys
        self._set = tree
        # (the list of a query's keys is its own: nothing changes it)
        self.count = len(keys) if count is None else count
        # the track id of each key, once resolved (None: gone by then)
        self.ids = None
        self._error = None

    def __len__(self):
        return self.count

    def list(self):
        keys = self._keys
        if keys is None:
            if self._error is not None:
                # the keys were to be taken while they were as the query
                # found them, and could not be
                raise self._error
            found = self._set
            keys = self._keys = unpackKeys(found) \
                if type(found) is bytes else list(found)
            self._set = None
        return keys

    def resolve(self, timeline):
        """Take the track ids of the keys from the timeline, while it is as
        the query found it; a failure (the database closed, say) is raised
        when the result is used."""
        try:
            get = timeline.get
            self.ids = [get(key) for key in self.list()]
        except Exception as error:
            self._error = error
            self._keys = self._set = None
