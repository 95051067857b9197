"""The lazy sequences of tracks and runs the storage returns."""

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
                keys = self.keys[start:stop]
            else:
                keys = [self.keys[i] for i in range(start, stop, step)]
            return LazyResult(self.load, keys)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError('result index out of range')
        return self.load(self.keys[index])

    def __iter__(self):
        for key in self.keys:
            yield self.load(key)

    def __reversed__(self):
        for index in range(len(self) - 1, -1, -1):
            yield self[index]

    def __eq__(self, other):
        if isinstance(other, (LazyResult, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))
