"""The tracks saved but not yet merged into a storage's indexes.

Each connection keeps them in memory, indexed by the values it queries
(``PendingIndex``), and folds them into every answer, so that queries are
exact before the merge. What it holds is checked against the stored state
before every lookup (see ``TrackingStorage._pending`` in btree.py).
"""

import bisect

from cybertools.tracking.keys import lastKey
from cybertools.tracking.keys import lastKeyAt
from cybertools.tracking.keys import microseconds


class PendingIndex:
    """An in-memory index of some tracks: track id -> index values.

    A save only notes its track (``add``); the tracks are indexed by value
    when a lookup needs it, so that a run of saves without queries (an
    import, a busy writer) pays for nothing it does not use."""

    def __init__(self):
        self.entries = {}       # track id: index values
        self._byValue = {}      # index name: value: set of track ids
        self._sortKeys = {}     # track id: sort key (see sortKey)
        self._unindexed = []    # ids added since the last lookup
        # (index name, value): the (sort key, track id) of its tracks in
        # order, a tuple, made when first asked for and dropped when a
        # track with the value comes or goes: a reader asking again and
        # again (a long-running process) sorts a value's tracks once
        self._ordered = {}
        # how many of the tracks are crowded ones (see index.py): they stay
        self.crowded = 0

    def __len__(self):
        return len(self.entries)

    def add(self, trackId, values):
        if trackId in self.entries:
            self.remove(trackId)
        self.entries[trackId] = values
        self._unindexed.append(trackId)

    def addAll(self, trackIds, values):
        """Add tracks (a list of ids) with their values (in the same
        order)."""
        entries = self.entries
        if entries.keys().isdisjoint(trackIds):
            entries.update(zip(trackIds, values))
            self._unindexed.extend(trackIds)
            return
        for trackId, trackValues in zip(trackIds, values):
            self.add(trackId, trackValues)

    @property
    def byValue(self):
        unindexed = self._unindexed
        if unindexed:
            byValue, entries = self._byValue, self.entries
            ordered = self._ordered
            for trackId in unindexed:
                values = entries.get(trackId)
                if values is None:
                    continue        # removed since
                for name, value in values.items():
                    if value is not None and name != 'timeStamp':
                        if ordered:
                            ordered.pop((name, value), None)
                        ids = byValue.get(name)
                        if ids is None:
                            ids = byValue[name] = {}
                        found = ids.get(value)
                        if found is None:
                            ids[value] = {trackId}
                        else:
                            found.add(trackId)
            unindexed.clear()
        return self._byValue

    def sortKey(self, trackId):
        """Where a pending track goes among the merged ones: after every
        merged track of the same time stamp, as the merge will put it."""
        sortKey = self._sortKeys.get(trackId)
        if sortKey is None:
            sortKey = self._sortKeys[trackId] = (
                lastKey(self.entries[trackId]['timeStamp']), trackId)
        return sortKey

    def remove(self, trackId):
        if trackId not in self.entries:
            return
        byValue = self.byValue
        self._sortKeys.pop(trackId, None)
        values = self.entries.pop(trackId)
        for name, value in values.items():
            self._ordered.pop((name, value), None)
            ids = byValue.get(name, {}).get(value)
            if ids is not None:
                ids.discard(trackId)
                if not ids:
                    del byValue[name][value]

    def values(self, name):
        return set(self.byValue.get(name, ()))

    def search(self, criteria):
        """The (sort key, track id) pairs of the tracks matching prepared
        criteria, in order."""
        one = criteria.oneValue()
        if one is not None:
            return self.tracksOfValue(*one)
        byValue = self.byValue
        values = criteria.values
        candidates = None
        for name, matcher in values:
            if name == 'timeStamp':
                continue
            ids = None
            for value, found in matcher.items(byValue.get(name, {})):
                # (the sets found are this index's own: not changed here)
                ids = found if ids is None else ids | found
            if not ids:
                return []
            candidates = ids if candidates is None else candidates & ids
            if not candidates:
                return []
        if candidates is None:
            candidates = self.entries
        low, high = criteria.timeFrom, criteria.timeTo
        times = criteria.timeStamps()
        if low is not None or high is not None or times is not None:
            entries = self.entries
            candidates = [
                trackId for trackId in candidates
                if _inTime(microseconds(entries[trackId]['timeStamp']),
                           low, high, times)]
        return self._inOrder(candidates)

    def tracksOfValue(self, name, value):
        """The (sort key, track id) pairs of the tracks with one value (the
        commonest query), in order: a tuple, which stays as it is."""
        if not self._unindexed:
            # (asked again and again: without the property's call)
            found = self._ordered.get((name, value))
            if found is not None:
                return found
        byValue = self.byValue
        found = self._ordered.get((name, value))
        if found is None:
            ids = byValue.get(name, {}).get(value)
            found = self._ordered[(name, value)] = \
                tuple(self._inOrder(ids)) if ids else ()
        return found

    def tracksInTime(self, name, value, timeFrom, timeTo):
        """The (sort key, track id) pairs of the tracks with one value
        between two times (in microseconds, None: no limit), in order."""
        found = self.tracksOfValue(name, value)
        if not found:
            return found
        # (a sort key begins with the last order key of its time stamp)
        start = 0 if timeFrom is None else bisect.bisect_left(
            found, ((lastKeyAt(timeFrom),),))
        stop = len(found) if timeTo is None else bisect.bisect_left(
            found, ((lastKeyAt(timeTo) + 1,),))
        return found[start:stop]

    def _inOrder(self, trackIds):
        """(sort key, track id) of the tracks, in order."""
        sortKeys, sortKey = self._sortKeys, self.sortKey
        found = [(sortKeys.get(trackId) or sortKey(trackId), trackId)
                 for trackId in trackIds]
        found.sort()
        return found

    def userTracks(self, taskId, runId, userName):
        """The (sort key, track id) pairs of a user's tracks in a run."""
        found = self.tracksOfValue('userName', userName)
        if not found:
            return found
        # (a loop, not a comprehension: a user has a track or two pending,
        # and a comprehension's own call took as long as the filtering)
        entries = self.entries
        matching = []
        for pair in found:
            entry = entries[pair[1]]
            if entry['taskId'] == taskId and entry['runId'] == runId:
                matching.append(pair)
        return matching

    def lastOf(self, name, value):
        """The sort key (see sortKey) of the latest track with a value."""
        found = self.tracksOfValue(name, value)
        return found[-1][0] if found else None


def _inTime(us, low, high, times):
    """Whether a time stamp (in microseconds) is within the limits of a
    query (None: no limit)."""
    return not (low is not None and us < low or
                high is not None and us > high or
                times is not None and us not in times)
