"""The lazy sequences of tracks and runs the storage returns."""

import bisect
from collections.abc import Sequence


class LazyResult(Sequence):
    """Objects in the order of their keys, loaded on access.

    ``keys`` is an ordered sequence of keys as the storage's BTrees give it
    (for tracks, ``(timeStamp, trackId)`` pairs from an index), ``load``
    gives the object for a key. ``len()``, indexing, slicing, iteration and
    ``reversed()`` work on the keys and load only the objects returned.
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
        for key in self.keys:
            yield self.load(key)

    def __reversed__(self):
        for key in reversed(self.keys):
            yield self.load(key)

    def __eq__(self, other):
        if isinstance(other, (LazyResult, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))


class TrackResult(Sequence):
    """The tracks a query found: merged ones by their order keys and
    pending ones (not merged yet, see pending.py) by their ids, in one
    order.

    ``keys`` is the ordered list of the merged tracks' keys, ``pending``
    the ordered list of ``(sort key, track id)`` of the pending ones, whose
    sort key tells where they stand among the merged keys. Both are taken
    when the query is made, so the result stays what the query found;
    ``len()`` loads nothing, indexing and iteration load the tracks they
    return. A track removed since is left out when iterating.
    """

    def __init__(self, loadKey, loadId, loadKeys, keys, pending):
        self.loadKey = loadKey
        self.loadId = loadId
        # the tracks of merged keys in order, removed ones left out (a
        # faster way for what iterating a result mostly is)
        self.loadKeys = loadKeys
        self.keys = keys
        self.pending = pending
        # where each pending track stands in the whole result
        self._positions = [bisect.bisect_right(keys, sortKey[0]) + i
                           for i, (sortKey, trackId) in enumerate(pending)]

    def __len__(self):
        return len(self.keys) + len(self.pending)

    def _ref(self, index):
        """(True, key) or (False, track id) of an entry."""
        positions = self._positions
        if not positions:
            return True, self.keys[index]
        i = bisect.bisect_left(positions, index)
        if i < len(positions) and positions[i] == index:
            return False, self.pending[i][1]
        return True, self.keys[index - i]

    def _load(self, ref):
        merged, value = ref
        return self.loadKey(value) if merged else self.loadId(value)

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
        # the merged keys in runs between the pending tracks
        loadKeys, keys, start = self.loadKeys, self.keys, 0
        for i, position in enumerate(self._positions):
            stop = position - i     # merged keys before pending track i
            yield from loadKeys(keys[start:stop])
            start = stop
            try:
                yield self.loadId(self.pending[i][1])
            except KeyError:
                continue    # removed since
        yield from loadKeys(keys[start:] if start else keys)

    def __reversed__(self):
        if self.pending:
            refs = (self._ref(i) for i in reversed(range(len(self))))
        else:
            refs = ((True, key) for key in reversed(self.keys))
        for ref in refs:
            try:
                yield self._load(ref)
            except KeyError:
                continue    # removed since

    def __eq__(self, other):
        if isinstance(other, (Sequence, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))
