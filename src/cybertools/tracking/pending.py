"""The tracks saved but not yet merged into a storage's indexes.

Each connection keeps them in memory, indexed by the values it queries
(``PendingIndex``), and folds them into every answer, so that queries are
exact before the merge. What it holds is checked against the stored state
before every lookup (see ``TrackingStorage._pending`` in btree.py).
"""

from cybertools.tracking.keys import lastKey
from cybertools.tracking.keys import microseconds


class PendingIndex:
    """An in-memory index of some tracks: track id -> index values."""

    def __init__(self):
        self.entries = {}       # track id: (sort key, index values)
        self.byValue = {}       # index name: value: set of track ids

    def __len__(self):
        return len(self.entries)

    def add(self, trackId, values, new=False):
        if not new:
            self.remove(trackId)
        # after every merged track of the same time stamp, as the merge
        # will put it
        sortKey = (lastKey(values['timeStamp']), trackId)
        self.entries[trackId] = (sortKey, values)
        for name, value in values.items():
            if value is not None and name != 'timeStamp':
                self.byValue.setdefault(name, {}).setdefault(
                    value, set()).add(trackId)

    def remove(self, trackId):
        entry = self.entries.pop(trackId, None)
        if entry is None:
            return
        for name, value in entry[1].items():
            ids = self.byValue.get(name, {}).get(value)
            if ids is not None:
                ids.discard(trackId)
                if not ids:
                    del self.byValue[name][value]

    def values(self, name):
        return set(self.byValue.get(name, ()))

    def search(self, criteria):
        """The (sort key, track id) pairs of the tracks matching prepared
        criteria, in order."""
        candidates = None
        for name, matcher in criteria.values:
            if name == 'timeStamp':
                continue
            ids = set()
            for value, found in matcher.items(self.byValue.get(name, {})):
                ids |= found
            candidates = ids if candidates is None else candidates & ids
            if not candidates:
                return []
        if candidates is None:
            candidates = self.entries
        low, high = criteria.timeFrom, criteria.timeTo
        times = criteria.timeStamps()
        found = []
        for trackId in candidates:
            sortKey, values = self.entries[trackId]
            if low is not None or high is not None or times is not None:
                us = microseconds(values['timeStamp'])
                if low is not None and us < low or \
                        high is not None and us > high or \
                        times is not None and us not in times:
                    continue
            found.append((sortKey, trackId))
        found.sort()
        return found

    def userTracks(self, taskId, runId, userName):
        """The (sort key, track id) pairs of a user's tracks in a run."""
        ids = self.byValue.get('userName', {}).get(userName, ())
        found = []
        for trackId in ids:
            sortKey, values = self.entries[trackId]
            if values['taskId'] == taskId and values['runId'] == runId:
                found.append((sortKey, trackId))
        found.sort()
        return found

    def lastOf(self, name, value):
        """The (sort key, track id) of the latest track with a value."""
        ids = self.byValue.get(name, {}).get(value, ())
        return max((self.entries[i][0] for i in ids), default=None)
