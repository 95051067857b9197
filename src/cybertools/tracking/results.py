"""The lazy sequences of tracks and runs the storage returns."""

import heapq
from collections.abc import Sequence
from itertools import islice


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


def mergeKeys(sequences):
    """One ordered sequence of the keys of several ordered ones."""
    sequences = [keys for keys in sequences if len(keys)]
    if not sequences:
        return []
    if len(sequences) == 1:
        return sequences[0]
    return MergedKeys(sequences)


class MergedKeys(Sequence):
    """The keys of several ordered sequences (of the partitions of a
    storage) in one order, merged as they are read.

    Indexing and slicing walk from the nearer end, so the newest or the
    oldest keys come cheaply.
    """

    def __init__(self, sequences):
        self.sequences = sequences
        self._len = sum(len(keys) for keys in sequences)

    def __len__(self):
        return self._len

    def __iter__(self):
        return heapq.merge(*self.sequences)

    def __reversed__(self):
        return heapq.merge(*(reversed(keys) for keys in self.sequences),
                           reverse=True)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if start >= stop:
                return []
            if start >= len(self) - stop:
                keys = list(islice(reversed(self), len(self) - stop,
                                   len(self) - start))
                keys.reverse()
            else:
                keys = list(islice(iter(self), start, stop))
            return keys[::step]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError('result index out of range')
        return self[index:index + 1][0]
