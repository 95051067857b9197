"""The lazy sequence of tracks a query returns."""

from collections.abc import Sequence


class TrackResult(Sequence):
    """Tracks in the order of their index keys, loaded on access.

    ``loadTrack`` gives the track for a track id; ``keys`` is an ordered sequence of ``(timeStamp, trackId)`` pairs, as
    the storage's indexes give it; ``len()``, indexing, slicing, iteration
    and ``reversed()`` work on the keys and load only the tracks returned.
    """

    def __init__(self, loadTrack, keys):
        self.loadTrack = loadTrack
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
            return TrackResult(self.loadTrack, keys)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError('track result index out of range')
        return self.loadTrack(self.keys[index][1])

    def __iter__(self):
        for _, trackId in self.keys:
            yield self.loadTrack(trackId)

    def __reversed__(self):
        for index in range(len(self) - 1, -1, -1):
            yield self[index]

    def __eq__(self, other):
        if isinstance(other, (TrackResult, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return repr(list(self))
