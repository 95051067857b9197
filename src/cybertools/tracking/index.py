"""The indexes of a tracking storage's merged tracks.

Tracks are not indexed one by one as they are saved: the storage merges
them into these indexes in batches (see btree.py), and until then a
connection keeps the latest tracks in memory (pending.py). Every entry is
an order key (keys.py), so all of this lives in the C-level BTrees of the
64-bit integer family:

``timeline``
    key -> track id, for every merged track;
``values``
    index name -> value -> tree set of keys (the task, the run and the
    further index attributes of the track class);
``users``
    user name -> tree set of keys;
``taskUsers``
    task id -> tree set of the names of the users with tracks for it.

A set of keys gives its tracks ordered by time stamp, a time range is a
range of keys, and the latest track is the largest key: without loading a
single track.
"""

import functools

import BTrees
from persistent import Persistent

from cybertools.tracking.keys import SameTimeError
from cybertools.tracking.keys import firstKey
from cybertools.tracking.keys import lastKey
from cybertools.tracking.validation import indexKeyKind

# The kinds of the metadata indexes, known before they hold any value.
KINDS = {'taskId': 'string', 'userName': 'string', 'runId': 'number'}


def valueIndexNames(names):
    """The names with a value index among these index attributes (the time
    stamp orders every index; user names have an index of their own)."""
    return [name for name in names if name not in ('timeStamp', 'userName')]


class TrackIndex(Persistent):
    """See the module's docstring. All state is in BTrees, so merging and
    reindexing tracks never writes this object."""

    family = BTrees.family64

    def __init__(self, names):
        OO, II = self.family.OO, self.family.II
        self.timeline = II.BTree()
        self.values = OO.BTree()
        self.users = OO.BTree()
        self.taskUsers = OO.BTree()
        # tracks with a value of another kind than its index holds (saved
        # at the same time as the first value of the other kind): not
        # indexed under it, and reported by checkIndexes
        self.refused = OO.BTree()
        for name in valueIndexNames(names):
            self.values[name] = OO.BTree()

    @property
    def names(self):
        return tuple(self.values.keys())

    def kind(self, name):
        """The kind of the values of an index, None while it has none."""
        if name == 'userName':
            return 'string'
        tree = self.values[name]
        return indexKeyKind(tree.minKey()) if tree else KINDS.get(name)

    # changes

    def newKey(self, timeStamp):
        """The key for a track indexed now: after every track indexed
        before with the same time stamp."""
        low, high = firstKey(timeStamp), lastKey(timeStamp)
        try:
            last = self.timeline.maxKey(high)
        except ValueError:      # no key that low
            last = None
        if last is None or last < low:
            return low
        if last == high:
            raise SameTimeError('more than %i tracks with the time stamp %r'
                                % (high - low + 1, timeStamp))
        return last + 1

    def add(self, key, trackId, values):
        self.timeline[key] = trackId
        for name, tree in self.values.items():
            value = values.get(name)
            if value is not None:
                if not self._fits(name, tree, value, trackId):
                    continue
                keys = tree.get(value)
                if keys is None:
                    keys = tree[value] = self.family.II.TreeSet()
                keys.insert(key)
        user, task = values['userName'], values['taskId']
        keys = self.users.get(user)
        if keys is None:
            keys = self.users[user] = self.family.II.TreeSet()
        keys.insert(key)
        users = self.taskUsers.get(task)
        if users is None:
            users = self.taskUsers[task] = self.family.OO.TreeSet()
        users.insert(user)

    def remove(self, key, values):
        trackId = self.timeline.pop(key)
        for name, tree in self.values.items():
            value = values.get(name)
            if value is not None:
                refused = self.refused.get(name)
                if refused is not None and trackId in refused:
                    refused.remove(trackId)
                    continue
                _removeKey(tree, value, key)
        user, task = values['userName'], values['taskId']
        _removeKey(self.users, user, key)
        if not self._hasUserTracks(task, user):
            users = self.taskUsers[task]
            users.remove(user)
            if not users:
                del self.taskUsers[task]

    def _fits(self, name, tree, value, trackId):
        kind = indexKeyKind(value)
        if not tree or kind == indexKeyKind(tree.minKey()):
            return True
        refused = self.refused.get(name)
        if refused is None:
            refused = self.refused[name] = self.family.II.TreeSet()
        refused.insert(trackId)
        return False

    def refusals(self):
        """Lines describing the tracks not indexed under a name."""
        return ['index %r: %s not indexed: value of another kind than the '
                'index holds' % (name, _describe(set(ids)))
                for name, ids in self.refused.items() if ids]

    def _hasUserTracks(self, taskId, userName):
        userKeys = self.users.get(userName)
        taskKeys = self.values['taskId'].get(taskId)
        if not userKeys or not taskKeys:
            return False
        small, large = sorted((userKeys, taskKeys), key=len)
        return any(key in large for key in small)

    def keyOf(self, trackId, timeStamp):
        """The key of a merged track, None if it is not indexed."""
        for key, value in self.timeline.items(firstKey(timeStamp),
                                              lastKey(timeStamp)):
            if value == trackId:
                return key
        return None

    # lookups

    def userKeys(self, taskId, runId, userName):
        """The keys of a user's tracks in a run, oldest first."""
        userKeys = self.users.get(userName)
        runKeys = self.values['runId'].get(runId)
        taskKeys = self.values['taskId'].get(taskId)
        if not userKeys or not runKeys or not taskKeys:
            return []
        II = self.family.II
        sets = sorted((userKeys, runKeys, taskKeys), key=len)
        if len(sets[0]) * 20 < len(sets[1]):
            # a few keys: look them up rather than walk the big sets
            return [key for key in sets[0]
                    if key in sets[1] and key in sets[2]]
        return list(functools.reduce(II.intersection, sets))

    def lastUserKey(self, taskId, runId, userName):
        """The key of a user's latest track in a run, or None."""
        userKeys = self.users.get(userName)
        runKeys = self.values['runId'].get(runId)
        taskKeys = self.values['taskId'].get(taskId)
        if not userKeys or not runKeys or not taskKeys:
            return None
        key = userKeys.maxKey()
        while True:
            if key in runKeys and key in taskKeys:
                return key
            try:
                key = userKeys.maxKey(key - 1)
            except ValueError:  # no key that low
                return None

    def userNames(self, taskId):
        users = self.taskUsers.get(taskId)
        return set(users) if users is not None else set()

    def indexValues(self, name):
        if name == 'userName':
            return list(self.users.keys())
        return list(self.values[name].keys())

    def lastKey(self, name, value):
        """The latest key with this value, or None."""
        keys = self.values[name].get(value)
        return keys.maxKey() if keys else None

    def search(self, criteria):
        """The keys of the tracks matching prepared criteria (see
        btree.TrackingStorage.query), as a list in order."""
        low, high = criteria.low, criteria.high
        sets = [self._matching(name, values)
                for name, values in criteria.values]
        if not sets:
            return list(self.timeline.keys(low, high))
        if len(sets) == 1:
            return list(sets[0].keys(low, high))
        II = self.family.II
        if low is not None or high is not None:
            # intersect only what lies in the time range
            sets = [II.Set(keys.keys(low, high)) for keys in sets]
        sets.sort(key=len)
        return list(functools.reduce(II.intersection, sets))

    def _matching(self, name, matcher):
        """The set of keys of the tracks with one of the values."""
        II = self.family.II
        if name == 'timeStamp':
            return II.TreeSet(key for low, high in matcher.timeRanges()
                              for key in self.timeline.keys(low, high))
        tree = self.users if name == 'userName' else self.values[name]
        sets = [keys for value, keys in matcher.items(tree)]
        if len(sets) == 1:
            return sets[0]
        return functools.reduce(II.union, sets, II.TreeSet())

    # checks

    def differences(self, expected):
        """Describe how this index differs from ``expected``, an index of
        the same tracks built afresh: a list of strings. Tracks are
        compared, not keys (tracks with the same time stamp may have been
        merged in another order)."""
        found = []
        tracks, expectedTracks = _trackSets(self), _trackSets(expected)
        for where in sorted(set(tracks) | set(expectedTracks), key=repr):
            ids = tracks.get(where, set())
            expectedIds = expectedTracks.get(where, set())
            missing, stale = expectedIds - ids, ids - expectedIds
            label = where if isinstance(where, str) else '%s %r' % where
            if missing:
                found.append('%s: missing %s' % (label, _describe(missing)))
            if stale:
                found.append('%s: stale %s' % (label, _describe(stale)))
        return found


def _removeKey(tree, value, key):
    keys = tree[value]
    keys.remove(key)
    if not keys:
        # no empty sets: the keys of an index are the values in use
        del tree[value]


def _trackSets(index):
    """Where each track is indexed, as sets of track ids."""
    timeline = index.timeline
    found = {'timeline': set(timeline.values())}
    for name, tree in index.values.items():
        for value, keys in tree.items():
            found[(name, value)] = {timeline.get(key) for key in keys}
    for user, keys in index.users.items():
        found[('userName', user)] = {timeline.get(key) for key in keys}
    for task, users in index.taskUsers.items():
        found[('taskUsers', task)] = set(users)
    return found


def _describe(ids):
    ids = sorted(ids, key=repr)
    if all(isinstance(i, int) for i in ids):
        return 'track%s %s' % ('s' if len(ids) > 1 else '',
                               ', '.join('%07i' % i for i in ids))
    return ', '.join(repr(i) for i in ids)
