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

    A save only notes its track (``add``); the tracks are indexed by the
    values of one index name when a lookup first asks for that name, so
    that a run of saves without queries (an import, a busy writer) pays for
    nothing it does not use, and a connection's first query (which reads
    every pending track) indexes them by the one name it asks for: most
    queries ask for a user or a task, few for a run alone."""

    def __init__(self):
        self.entries = {}       # track id: index values
        # index name: value: set of track ids, for the names asked for
        self._byName = {}
        # the ids added since those indexes were last brought up to date
        self._added = []
        self._sortKeys = {}     # track id: sort key (see sortKey)
        # (index name, value), or a user's run (see userTracks): the
        # (sort key, track id) of its tracks in order, a tuple, made when
        # first asked for and dropped when a track with the value comes or
        # goes: a reader asking again and again (a long-running process)
        # sorts a value's tracks once
        self._ordered = {}
        # how many of the tracks are crowded ones (see index.py): they stay
        self.crowded = 0

    def __len__(self):
        return len(self.entries)

    def add(self, trackId, values):
        if trackId in self.entries:
            self.remove(trackId)
        self.entries[trackId] = values
        if self._byName:
            self._added.append(trackId)

    def addAll(self, trackIds, values):
        """Add tracks (a list of ids) with their values (in the same
        order)."""
        entries = self.entries
        if entries.keys().isdisjoint(trackIds):
            entries.update(zip(trackIds, values))
            if self._byName:
                self._added.extend(trackIds)
            return
        for trackId, trackValues in zip(trackIds, values):
            self.add(trackId, trackValues)

    def idsByValue(self, name):
        """The tracks by their values of an index name: value -> set of
        track ids (the index's own: not to be changed). A name without
        values (and ``timeStamp``, which is searched through the entries)
        has none."""
        if self._added:
            self._catchUp()
        found = self._byName.get(name)
        if found is None:
            if name == 'timeStamp':
                return {}
            found = self._byName[name] = _indexed(
                {}, name, self.entries.items())
        return found

    def _catchUp(self):
        """Index the tracks added since by every name asked for before (a
        few tracks each time, mostly: one lookup brings all the indexes up
        to date, so that the next ones take the short way)."""
        entries = self.entries
        # (a track removed since has no values: it is left out)
        added = [(trackId, entries.get(trackId)) for trackId in self._added]
        if self._ordered:
            for trackId, values in added:
                if values is not None:
                    self._dropOrders(values)
        for name, found in self._byName.items():
            _indexed(found, name, added)
        self._added.clear()

    def _dropOrders(self, values):
        """Forget the kept orders a track with these values is in (it came
        or went)."""
        ordered = self._ordered
        ordered.pop(_userRunKey(values), None)
        for name in self._byName:
            ordered.pop((name, values.get(name)), None)

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
        self._sortKeys.pop(trackId, None)
        values = self.entries.pop(trackId)
        self._dropOrders(values)
        for name, byValue in self._byName.items():
            value = values.get(name)
            ids = byValue.get(value)
            if ids is not None:
                ids.discard(trackId)
                if not ids:
                    del byValue[value]

    def values(self, name):
        return set(self.idsByValue(name))

    def search(self, criteria):
        """The (sort key, track id) pairs of the tracks matching prepared
        criteria, in order."""
        one = criteria.oneValue()
        if one is not None:
            return self.tracksOfValue(*one)
        values = criteria.values
        candidates = None
        for name, matcher in values:
            if name == 'timeStamp':
                continue
            ids = None
            for value, found in matcher.items(self.idsByValue(name)):
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
        if not self._added:
            # (asked again and again: without a call)
            found = self._ordered.get((name, value))
            if found is not None:
                return found
        ids = self.idsByValue(name).get(value)
        if not ids:
            # (not kept: the values asked for without pending tracks are
            # many more than those with)
            return ()
        found = self._ordered.get((name, value))
        if found is None:
            found = self._ordered[(name, value)] = tuple(self._inOrder(ids))
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
        """The (sort key, track id) pairs of a user's tracks in a run, in
        order (a tuple, see tracksOfValue). The user's tracks filtered by
        the run are kept, none as well (most users asked for have no
        pending track in the run): the last track of a user's run is
        asked for again and again, and the filtering took as long as the
        rest of that lookup."""
        key = (USER_RUN, (userName, taskId, runId))
        ordered = self._ordered
        if not self._added:
            found = ordered.get(key)
            if found is not None:
                return found
        entries = self.entries
        found = tuple(
            pair for pair in self.tracksOfValue('userName', userName)
            if entries[pair[1]]['taskId'] == taskId and
            entries[pair[1]]['runId'] == runId)
        if len(ordered) >= MOST_KEPT:
            ordered.clear()     # (many asked for: start afresh)
        ordered[key] = found
        return found

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


# What stands for a user's tracks in a run among the orders a pending
# index keeps (see PendingIndex.userTracks), with (userName, taskId,
# runId); and how many orders it keeps at most (a reader asking for ever
# new users keeps no more).
USER_RUN = 'user run'
MOST_KEPT = 20000


def _userRunKey(values):
    """The key of a track's user and run among the kept orders."""
    return (USER_RUN, (values.get('userName'), values.get('taskId'),
                       values.get('runId')))


def _indexed(found, name, tracks):
    """``found`` (value: set of track ids, see PendingIndex.idsByValue)
    with ``tracks`` ((track id, index values or None) pairs) added by
    their values of an index name."""
    for trackId, values in tracks:
        value = None if values is None else values.get(name)
        if value is not None:
            ids = found.get(value)
            if ids is None:
                found[value] = {trackId}
            else:
                ids.add(trackId)
    return found
