"""The indexes of a tracking storage's merged tracks.

Tracks are not indexed one by one as they are saved: the storage merges
them into these indexes in batches (see btree.py), and until then a
connection keeps the latest tracks in memory (pending.py). Every entry is
an order key (keys.py), so all of this lives in the C-level BTrees of the
64-bit integer family:

``timeline``
    key -> track id, for every merged track;
``values``
    index name -> value -> the keys of the tracks with that value (the
    task, the run and the further index attributes of the track class);
``users``
    user name -> the keys of the user's tracks, each with its run id
    (userentries.py), so that the latest track of a user in a run is
    found among the user's entries alone (an index made before keeps the
    keys alone, as the other values do: ``userRuns`` is False);
``counts``
    index name -> value -> how many keys its tree set holds, for the
    values with a tree set of their own (see below): a count of a
    value's tracks reads one bucket of it instead of every bucket of
    the set (an index made before there were counts has none, and counts
    the set);
``crowded``
    the ids of the tracks that got no key: more tracks than there are
    keys for one microsecond (``keys.SEQ_MASK`` + 1) share its time stamp,
    as an import of time stamps in whole seconds can give. They are in no
    other index: every connection keeps them with its pending tracks, so
    queries find them, in order, like those;
``crowdedTimes``
    the microseconds of the crowded tracks, with how many each: a track
    of such a time saved later is crowded too (a key freed by a removal
    would put it before them: they stand after every key of their time).
    An index made before has none, until its first crowded track (or a
    reindexing, where it has crowded tracks already).

There is no index from a task to its users (the original had one, and
the first versions of this one): every merge wrote a bucket of it for
nearly every task, more than a third of all it wrote. The users of a task
are read from its tracks (``TrackingStorage.getUserNames``).

A set of keys gives its tracks ordered by time stamp, a time range is a
range of keys, and the latest track is the largest key: without loading a
single track.

Most values have few tracks (a user, a run): their keys are kept in the
BTree bucket of the value itself, packed as bytes (``SmallKeys``), so that
a merge writes one bucket for many values instead of one set object per
value. A value with more than ``SMALL`` keys gets a tree set of its own
(``keysets.KeySet``, written as packed bytes) and keeps its latest keys,
up to ``SMALL`` of them, packed with the value as before (its *tail*):
a merge writes the value's bucket, and the tree set only when the tail is
full, not at every merge; the two are a ``keys.Tailed`` (a tuple that
sorts after bytes, for conflict resolution). A user's entries are kept
the same way (userentries.py).

The commonest queries read these trees through an ``IndexReader``, which
a connection's session takes with its pending tracks: it holds the trees
themselves, so that a query does not read them from the persistent index
again.
"""

import bisect
import functools

import BTrees
from persistent import Persistent

from cybertools.tracking.keys import KEY_BYTES
from cybertools.tracking.keys import PAIR
from cybertools.tracking.keys import SEQ_MASK
from cybertools.tracking.keys import SameTimeError
from cybertools.tracking.keys import TAILED
from cybertools.tracking.keys import Tailed
from cybertools.tracking.keys import appendable
from cybertools.tracking.keys import firstKey
from cybertools.tracking.keys import keyArray
from cybertools.tracking.keys import keyMicroseconds
from cybertools.tracking.keys import lastKey
from cybertools.tracking.keys import microseconds
from cybertools.tracking.keys import packArray
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.keysets import KeySet
from cybertools.tracking.keysets import Timeline
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.results import MergedKeys
from cybertools.tracking.userentries import ChunkedKeys
from cybertools.tracking.userentries import addEntries
from cybertools.tracking.userentries import entryKeys
from cybertools.tracking.userentries import entrySize
from cybertools.tracking.userentries import keysWithRun
from cybertools.tracking.userentries import latestKeyWithRun
from cybertools.tracking.userentries import removeEntry
from cybertools.tracking.validation import indexKeyKind

# The most keys of a value kept packed in the bucket of the value (1 kB).
# A merge rewrites the bucket of each value it adds keys to: packed, the
# keys of some 30 values are one object; in tree sets, one object each (at
# 100,000 tracks of 1,000 tasks, a merge wrote 2,000 tree sets, which was
# most of the time its commit took).
SMALL = 128

# The most entries of a user (a key and a run each) kept packed in the
# bucket of the user: 1 kB as well (see userentries.py).
SMALL_ENTRIES = 64

# A task's users are looked up user by user (a few C lookups each) when
# the task has more than this share of all tracks, and else read from its
# records (a record decoded per track).
USER_WALK_FACTOR = 20

# The kinds of the metadata indexes, known before they hold any value.
KINDS = {'taskId': 'string', 'userName': 'string', 'runId': 'number'}


def valueIndexNames(names):
    """The names with a value index among these index attributes (the time
    stamp orders every index; user names have an index of their own)."""
    return [name for name in names if name not in ('timeStamp', 'userName')]


class TrackIndex(Persistent):
    """See the module's docstring. All state is in BTrees, so merging and
    reindexing tracks never writes this object (but for the first crowded
    track of an index made before there were crowded tracks, or before
    their times were kept)."""

    crowded = None
    crowdedTimes = None
    counts = None
    userRuns = False

    family = BTrees.family64

    def __init__(self, names):
        OO, II = self.family.OO, self.family.II
        self.timeline = Timeline()
        self.values = OO.BTree()
        self.users = OO.BTree()
        # tracks with a value of another kind than its index holds (saved
        # at the same time as the first value of the other kind): not
        # indexed under it, and reported by checkIndexes
        self.refused = OO.BTree()
        self.crowded = II.TreeSet()
        self.crowdedTimes = II.BTree()
        self.userRuns = True
        self.counts = OO.BTree()
        self.counts['userName'] = OO.BTree()
        for name in valueIndexNames(names):
            self.values[name] = OO.BTree()
            self.counts[name] = OO.BTree()

    @property
    def names(self):
        # asked by every query; the names change only when the storage
        # makes a new index
        names = self.__dict__.get('_v_names')
        if names is None:
            names = self._v_names = tuple(self.values.keys())
        return names

    def kind(self, name):
        """The kind of the values of an index, None while it has none."""
        kind = KINDS.get(name)
        if kind is not None:
            return kind
        tree = self.values[name]
        return indexKeyKind(tree.minKey()) if tree else None

    # changes

    def newKey(self, timeStamp):
        """The key for a track indexed now: after every track indexed
        before with the same time stamp."""
        low = firstKey(timeStamp)
        high = low + SEQ_MASK
        times = self.crowdedTimes
        if times and microseconds(timeStamp) in times:
            raise SameTimeError('tracks with the time stamp %r are crowded: '
                                'so are those saved later' % (timeStamp,))
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

    def add(self, trackId, values, key=None):
        """Index one track (under ``key``, if given: the key it had);
        return False if it is crowded instead."""
        if key is None:
            try:
                key = self.newKey(values['timeStamp'])
            except SameTimeError:
                self._crowd(trackId, values['timeStamp'])
                return False
        self.timeline[key] = trackId
        for name in self.values.keys():
            value = values.get(name)
            if value is not None:
                self._insertValueKeys(name, {value: PAIR.pack(key, trackId)})
        self._insertUserKeys({values['userName']:
                              PAIR.pack(key, values['runId'])})
        return True

    def _crowd(self, trackId, timeStamp):
        if self.crowded is None:
            self.crowded = self.family.II.TreeSet()
        if self.crowdedTimes is None and not self.crowded:
            # (an index made before, with no crowded track yet)
            self.crowdedTimes = self.family.II.BTree()
        self.crowded.insert(trackId)
        times = self.crowdedTimes
        if times is not None:
            us = microseconds(timeStamp)
            times[us] = times.get(us, 0) + 1

    def crowdedIds(self):
        return () if self.crowded is None else self.crowded

    def addBatch(self, trackIds, valuesOf):
        """Index many tracks at once: ``trackIds`` in the order of their
        time stamps, then of their ids (see btree.indexOrder), with their
        index values in ``valuesOf`` (track id: values). Each value's keys
        are stored once for the batch, not once per track. Return the ids
        of the tracks crowded instead."""
        timeline = self.timeline
        # what the batch adds, packed in a bytearray per value: index name:
        # value: (key, track id) pairs, and user name: (key, run id) pairs,
        # as a user's entries are packed. Unlike lists, bytearrays (and
        # dicts holding only them and strings) are objects the garbage
        # collector does not track: with lists a batch made tens of
        # thousands that lived long enough to reach its oldest generation,
        # so that it walked the whole heap every few merges.
        byValue = [(name, {}) for name in self.values.keys()]
        byUser = {}
        pair = PAIR.pack
        # the highest key so far: a track later than it (mostly all of
        # them) takes the first key of its time stamp, with no lookup
        top = timeline.maxKey() if timeline else None
        # (a time with crowded tracks takes no key: see newKey)
        crowdedTimes = self.crowdedTimes or ()
        crowded = []
        for trackId in trackIds:
            values = valuesOf[trackId]
            key = firstKey(values['timeStamp'])
            if top is not None and key <= top or crowdedTimes and \
                    microseconds(values['timeStamp']) in crowdedTimes:
                try:
                    key = self.newKey(values['timeStamp'])
                except SameTimeError:
                    crowded.append(trackId)
                    continue
            if top is None or key > top:
                top = key
            timeline[key] = trackId
            for name, found in byValue:
                value = values.get(name)
                if value is not None:
                    packed = found.get(value)
                    if packed is None:
                        found[value] = bytearray(pair(key, trackId))
                    else:
                        packed += pair(key, trackId)
            user = values['userName']
            packed = byUser.get(user)
            if packed is None:
                byUser[user] = bytearray(pair(key, values['runId']))
            else:
                packed += pair(key, values['runId'])
        for name, found in byValue:
            self._insertValueKeys(name, found)
        self._insertUserKeys(byUser)
        for trackId in crowded:
            self._crowd(trackId, valuesOf[trackId]['timeStamp'])
        return crowded

    def _countsOf(self, name):
        """The counts of an index's tree sets (None in an index made
        before there were counts)."""
        counts = self.counts
        return None if counts is None else counts[name]

    def _insertValueKeys(self, name, byValue):
        """Add keys to those of values of an index: ``byValue`` is value:
        (key, track id) pairs, packed, in the order of their keys. A value
        of another kind than the index holds is refused (see ``_fits``)."""
        tree, counts = self.values[name], self._countsOf(name)
        insert = self._insertKeys
        # (the index's kind, read once: None while the index is empty)
        kind = indexKeyKind(tree.minKey()) if tree else None
        for value, pairs in byValue.items():
            numbers = keyArray(pairs)
            if kind is None or indexKeyKind(value) != kind:
                if not self._fits(name, tree, value, numbers[1::2]):
                    continue
                kind = indexKeyKind(tree.minKey()) if tree else None
            insert(tree, value, packArray(numbers[0::2]), counts)
            if kind is None:
                kind = indexKeyKind(value)

    def _insertUserKeys(self, byUser):
        """Add keys and their runs to those of users: ``byUser`` is user
        name: (key, run id) pairs, packed, in the order of their keys."""
        counts, users = self._countsOf('userName'), self.users
        if not self.userRuns:
            for user, pairs in byUser.items():
                keys = packArray(keyArray(pairs)[0::2])
                self._insertKeys(users, user, keys, counts)
            return
        for user, pairs in byUser.items():
            gained = addEntries(users, user, bytes(pairs), SMALL_ENTRIES)
            if gained:
                counts[user] = counts.get(user, 0) + gained

    def _insertKeys(self, tree, value, packed, counts):
        """Add keys (packed, in order) to those of a value."""
        found = tree.get(value)
        kind = type(found)
        if kind is bytes and appendable(found, packed, SMALL):
            # the common case: later keys, still few
            tree[value] = found + packed
            return
        if found is not None and kind is not bytes:
            tail, keySet = found if kind in TAILED else (b'', found)
            if appendable(tail, packed, SMALL):
                tree[value] = Tailed((tail + packed, keySet))
            else:
                tree[value] = _withTail(unpackKeys(tail), keySet,
                                        unpackKeys(packed))
            if counts is not None:
                counts[value] += len(packed) // KEY_BYTES
            return
        keys = unpackKeys(packed)
        if found is not None:
            keys = sorted(unpackKeys(found) + keys)
        if len(keys) <= SMALL:
            tree[value] = packKeys(keys)
            return
        tree[value] = Tailed((b'', KeySet(keys)))
        if counts is not None:
            counts[value] = len(keys)

    def remove(self, key, values):
        trackId = self.timeline.pop(key)
        for name, tree in self.values.items():
            value = values.get(name)
            if value is not None:
                refused = self.refused.get(name)
                if refused is not None and trackId in refused:
                    refused.remove(trackId)
                    continue
                _removeKey(tree, value, key, self._countsOf(name))
        self._removeUserKey(values['userName'], key)

    def _removeUserKey(self, user, key):
        counts = self._countsOf('userName')
        if not self.userRuns:
            _removeKey(self.users, user, key, counts)
        elif removeEntry(self.users, user, key):
            if user in self.users:
                counts[user] -= 1
            else:
                del counts[user]

    def removeCrowded(self, trackId, timeStamp):
        self.crowded.remove(trackId)
        times = self.crowdedTimes
        us = microseconds(timeStamp)
        if times is not None and us in times:
            if times[us] > 1:
                times[us] -= 1
            else:
                del times[us]

    def keys(self, tree, value):
        """The keys stored under a value (None if there are none), as a
        tree set or a SmallKeys."""
        return self._asKeys(tree, tree.get(value))

    def _asKeys(self, tree, keys):
        """What a tree holds for a value, as a tree set or SmallKeys."""
        if keys is None:
            return None
        if tree is self.users and self.userRuns:
            return SmallKeys(entryKeys(keys))
        kind = type(keys)
        if kind is bytes:
            return SmallKeys(keyArray(keys))
        if kind in TAILED:
            tail, keySet = keys
            # (a set of them all, made in C)
            return self.family.II.union(keySet, self.family.II.Set(
                unpackKeys(tail))) if tail else keySet
        return keys

    def _fits(self, name, tree, value, trackIds):
        """Whether a value is of the kind its index holds; if not, the
        tracks with it are noted as refused."""
        kind = indexKeyKind(value)
        if not tree or kind == indexKeyKind(tree.minKey()):
            return True
        refused = self.refused.get(name)
        if refused is None:
            refused = self.refused[name] = self.family.II.TreeSet()
        refused.update(trackIds)
        return False

    def refusals(self):
        """Lines describing the tracks not indexed under a name."""
        return ['index %r: %s not indexed: value of another kind than the '
                'index holds' % (name, _describe(set(ids)))
                for name, ids in self.refused.items() if ids]

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
        sets = self._userSets(taskId, runId, userName)
        if sets is None:
            return []
        sets.sort(key=len)
        if len(sets[0]) * 20 < len(sets[1]) or \
                isinstance(sets[1], SmallKeys):
            # a few keys: look them up rather than walk the big sets
            return [key for key in sets[0]
                    if key in sets[1] and key in sets[2]]
        return list(functools.reduce(self.family.II.intersection, sets))

    def _userSets(self, taskId, runId, userName):
        sets = [self.keys(self.users, userName),
                self.keys(self.values['runId'], runId),
                self.keys(self.values['taskId'], taskId)]
        return None if not all(sets) else sets

    def lastUserKeys(self, taskId, runId, userName):
        return IndexReader(self).lastUserKeys(taskId, runId, userName)

    def _lastUserKeyBySets(self, taskId, runId, userKeys):
        """The key of a user's latest track in a run and a task, in an
        index that keeps the user's keys alone."""
        runKeys = self.keys(self.values['runId'], runId)
        taskKeys = self.keys(self.values['taskId'], taskId)
        if runKeys is None or taskKeys is None:
            return None
        userKeys = self._asKeys(self.users, userKeys)
        if isinstance(userKeys, SmallKeys):
            # a few keys: from the latest back, until one is in the run and
            # the task (cheaper than a set operation)
            for key in reversed(userKeys._keys):
                if key in runKeys and key in taskKeys:
                    return key
            return None
        # many keys: those in the run (in C), then the latest in the task
        II = self.family.II
        if isinstance(runKeys, SmallKeys):
            runKeys = II.Set(runKeys)
        inRun = II.intersection(userKeys, runKeys)
        for i in range(len(inRun) - 1, -1, -1):
            if inRun[i] in taskKeys:
                return inRun[i]
        return None

    def userNames(self, taskId, records, count):
        """The names of the users with merged tracks for a task: read from
        the task's records or, for a task with a big part of all ``count``
        tracks, by looking for each user's keys among the task's."""
        taskKeys = self.keys(self.values['taskId'], taskId)
        if not taskKeys:
            return set()
        if len(taskKeys) * USER_WALK_FACTOR < count:
            timeline = self.timeline
            return {decodeRecord(records[timeline[key]])[2]
                    for key in taskKeys}
        if isinstance(taskKeys, SmallKeys):
            taskKeys = self.family.II.TreeSet(taskKeys)
        found = set()
        intersection = self.family.II.intersection
        for user, entries in self.users.items():
            keys = self._asKeys(self.users, entries)
            if isinstance(keys, SmallKeys):
                if any(key in taskKeys for key in keys):
                    found.add(user)
            elif intersection(keys, taskKeys):
                found.add(user)
        return found

    def indexValues(self, name):
        if name == 'userName':
            return list(self.users.keys())
        return list(self.values[name].keys())

    def lastKey(self, name, value):
        """The latest key with this value, or None."""
        found = self.values[name].get(value)
        if type(found) in TAILED and found[0]:
            return unpackKeys(found[0])[-1]     # the latest, in the tail
        keys = self._asKeys(self.values[name], found)
        return keys.maxKey() if keys else None

    def search(self, criteria):
        """The keys of the tracks matching prepared criteria (see
        btree.TrackingStorage.query), in order: a list, or MergedKeys of
        the tree set of one value (a query by one user or task, say),
        listed when needed."""
        one = criteria.oneValue()
        if one is not None:
            return self.keysOfValue(*one)
        low, high = criteria.low, criteria.high
        sets = [self._matching(name, values)
                for name, values in criteria.values]
        if not sets:
            return list(self.timeline.keys(low, high))
        if len(sets) == 1:
            if low is None and high is None:
                return list(sets[0])    # (faster than through keys())
            return list(sets[0].keys(low, high))
        II = self.family.II
        if low is not None or high is not None:
            # intersect only what lies in the time range
            sets = [II.Set(keys.keys(low, high)) for keys in sets]
        sets = [II.Set(keys) if isinstance(keys, SmallKeys) else keys
                for keys in sets]
        sets.sort(key=len)
        return list(functools.reduce(II.intersection, sets))

    def keysOfValue(self, name, value):
        return IndexReader(self).keysOfValue(name, value)

    def keysInTime(self, name, value, low, high):
        return IndexReader(self).keysInTime(name, value, low, high)

    def _matching(self, name, matcher):
        """The set of keys of the tracks with one of the values."""
        II = self.family.II
        if name == 'timeStamp':
            return II.TreeSet(key for low, high in matcher.timeRanges()
                              for key in self.timeline.keys(low, high))
        tree = self.users if name == 'userName' else self.values[name]
        sets = [self._asKeys(tree, keys)
                for value, keys in matcher.items(tree)]
        if len(sets) == 1:
            return sets[0]
        return functools.reduce(
            II.union, (II.Set(keys) if isinstance(keys, SmallKeys) else keys
                       for keys in sets), II.TreeSet())

    # checks

    def differences(self, expected):
        """Describe how this index differs from ``expected``, an index of
        the same tracks built afresh: a list of strings. Tracks are
        compared, not keys (tracks with the same time stamp may have been
        merged in another order), and the time of each track's key."""
        found = _timeDifferences(self, expected)
        tracks, expectedTracks = _trackSets(self), _trackSets(expected)
        # which tracks of one time stamp are crowded depends on the order
        # of merging too: a crowded track counts as indexed
        crowded = set(self.crowdedIds()) | set(expected.crowdedIds())
        for where in sorted(set(tracks) | set(expectedTracks), key=repr):
            ids = tracks.get(where, set())
            expectedIds = expectedTracks.get(where, set())
            if where != 'timeline':
                ids, expectedIds = ids - crowded, expectedIds - crowded
            missing, stale = expectedIds - ids, ids - expectedIds
            label = where if isinstance(where, str) else '%s %r' % where
            if missing:
                found.append('%s: missing %s' % (label, _describe(missing)))
            if stale:
                found.append('%s: stale %s' % (label, _describe(stale)))
        found.extend(self._countDifferences())
        return found

    def _countDifferences(self):
        """Describe the counts that are not the size of their tree set."""
        if self.counts is None:
            return []
        found = []
        trees = [('userName', self.users)] + list(self.values.items())
        for name, tree in trees:
            counts = self.counts[name]
            sizeOf = (entrySize if tree is self.users and self.userRuns
                      else _sizeOf)
            sizes = {value: sizeOf(keys) for value, keys in tree.items()
                     if type(keys) is not bytes}
            for value in sorted(set(sizes) | set(counts), key=repr):
                size, count = sizes.get(value), counts.get(value)
                if size != count:
                    found.append('%s %r: %s counted, %s keys'
                                 % (name, value, count, size))
        return found


class IndexReader:
    """The lookups of the commonest queries (the tracks of one value, of
    one value in a time range, the latest of a user in a run) on an index
    as one transaction sees it.

    Every attribute read from a persistent object (the index, and the
    method of each BTree lookup) encodes its name anew: a count of a
    task's tracks spent a fifth of its time in them. A reader takes the
    index's trees once, and a session keeps one for as long as its pending
    tracks are up to date (``TrackingStorage._pending``): within one
    transaction, as these trees are, since the connection sees what others
    commit only when the next one begins, and every change of the index's
    own attributes (a new index, set up or upgraded) makes the session
    read its pending tracks, and with them a reader, anew. What is in the
    trees may change meanwhile (a merge of this connection): it is looked
    up at every call."""

    __slots__ = ('index', 'timeline', 'values', 'users', 'counts',
                 'userRuns', 'userEntries', '_lookups')

    def __init__(self, index):
        self.index = index
        self.timeline = index.timeline
        self.values = index.values
        self.users = index.users
        self.counts = index.counts
        self.userRuns = index.userRuns
        # index name: the get method of its tree (bound once)
        self.userEntries = self.users.get
        self._lookups = {'userName': self.userEntries}

    def _lookup(self, name):
        """What looks a value up in the tree of an index."""
        lookup = self._lookups.get(name)
        if lookup is None:
            lookup = self._lookups[name] = self.values[name].get
        return lookup

    def lastUserKeys(self, taskId, runId, userName):
        """The keys of a user's tracks in a run, the latest first (an
        iterable, read as far as needed). Mostly
        the first is the answer; but a track may be saved into the run of
        another task, so the caller checks the task of the track."""
        entries = self.userEntries(userName)
        if entries is None:
            return ()
        if not self.userRuns:
            key = self.index._lastUserKeyBySets(taskId, runId, entries)
            return () if key is None else (key,)
        return keysWithRun(entries, runId)

    def latestUserKey(self, taskId, runId, userName):
        """The first of lastUserKeys, or None: mostly the answer, looked up
        without an iterator."""
        entries = self.userEntries(userName)
        if entries is None:
            return None
        if not self.userRuns:
            return self.index._lastUserKeyBySets(taskId, runId, entries)
        return latestKeyWithRun(entries, runId)

    def keysOfValue(self, name, value):
        """The keys of the tracks with one value (the commonest query): a
        list, or MergedKeys of the value's keys, listed when needed."""
        keys = self._lookup(name)(value)
        if keys is None:
            return []
        if name == 'userName' and self.userRuns:
            if type(keys) is bytes:
                return entryKeys(keys)
            keys = ChunkedKeys(keys)
        elif type(keys) is bytes:
            return MergedKeys(None, keys, len(keys) // KEY_BYTES)
        elif type(keys) in TAILED:
            keys = TailedKeys(keys)
        counts = self.counts
        count = len(keys) if counts is None else counts[name][value]
        return MergedKeys(None, keys, count)

    def keysInTime(self, name, value, low, high):
        """The keys of the tracks with one value from key ``low`` to key
        ``high`` (None: no limit), a list in order: only those in the
        range are read."""
        found = self._lookup(name)(value)
        if found is None:
            return []
        users = name == 'userName'
        kind = type(found)
        if kind is bytes and not users:
            # (the commonest: a value's few keys, packed)
            return _inRange(keyArray(found), low, high).tolist()
        if kind in TAILED and not (users and self.userRuns):
            # a tree set and its tail of later keys
            tail, keySet = found
            return list(keySet.keys(low, high)) + \
                _inRange(keyArray(tail), low, high).tolist()
        tree = self.users if users else self.values[name]
        return list(self.index._asKeys(tree, found).keys(low, high))


def _removeKey(tree, value, key, counts):
    keys = tree[value]
    if type(keys) is bytes:
        found = unpackKeys(keys)
        found.remove(key)
        if found:
            tree[value] = packKeys(found)
        else:
            del tree[value]
        return
    tail = b''
    if type(keys) in TAILED:
        tail, keys = keys
        found = unpackKeys(tail)
        if key in found:
            found.remove(key)
            tail = packKeys(found)
            tree[value] = Tailed((tail, keys))
        else:
            keys.remove(key)
    else:
        keys.remove(key)
    if keys or tail:
        if counts is not None:
            counts[value] -= 1
        return
    # no empty sets: the keys of an index are the values in use
    del tree[value]
    if counts is not None:
        del counts[value]


def _withTail(tail, keySet, keys):
    """What the tree of a value with a tree set of its own holds for it
    once ``keys`` (in order) are added: (the latest keys packed, the tree
    set). The tail (up to SMALL keys) is written with the bucket of the
    value, for some 30 values at once; the tree set, an object of its
    own, only when the tail is full (every SMALL keys, not every merge).
    Keys older than the tail go into the set at once."""
    # every key of the tail is above every key of the set: keys below
    # ``bound`` go into the set
    if tail:
        bound = tail[0]
    elif keySet:
        bound = keySet.maxKey() + 1
    else:
        bound = None
    if bound is not None and keys[0] < bound:
        # (tracks indexed anew, or saved with an earlier time stamp)
        keySet.update(key for key in keys if key < bound)
        keys = [key for key in keys if key >= bound]
    tail = tail + keys if not tail or not keys or tail[-1] < keys[0] \
        else sorted(tail + keys)
    if len(tail) > SMALL:
        moved = (len(tail) - 1) // SMALL * SMALL
        keySet.update(tail[:moved])
        tail = tail[moved:]
    return Tailed((packKeys(tail), keySet))


def _sizeOf(keys):
    """How many keys a value's tree set (and its tail) holds."""
    if type(keys) in TAILED:
        return len(keys[0]) // 8 + len(keys[1])
    return len(keys)


class TailedKeys:
    """The keys of a value's tree set and of its tail, listed when
    iterated (for results.MergedKeys)."""

    __slots__ = ('_tail', '_keySet')

    def __init__(self, keys):
        self._tail, self._keySet = keys

    def __len__(self):
        return _sizeOf((self._tail, self._keySet))

    def __iter__(self):
        yield from self._keySet
        yield from unpackKeys(self._tail)


class SmallKeys:
    """A few keys (an array or a list, from those packed in bytes), read
    like a tree set."""

    __slots__ = ('_keys',)

    def __init__(self, keys):
        self._keys = keys

    def __len__(self):
        return len(self._keys)

    def __bool__(self):
        return bool(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        keys = self._keys
        i = bisect.bisect_left(keys, key)
        return i < len(keys) and keys[i] == key

    def keys(self, low=None, high=None):
        return _inRange(self._keys, low, high)

    def maxKey(self, max=None):
        keys = self._keys
        i = len(keys) if max is None else bisect.bisect_right(keys, max)
        if not i:
            raise ValueError('no key that low')
        return keys[i - 1]


def _inRange(keys, low, high):
    """The keys (in order, an array or a list) from ``low`` to ``high``
    (None: no limit), a slice of them."""
    start = 0 if low is None else bisect.bisect_left(keys, low)
    stop = len(keys) if high is None else bisect.bisect_right(keys, high)
    return keys[start:stop]


def _timeDifferences(index, expected):
    """Describe the tracks of the timeline of ``index`` that it holds at
    another time than ``expected`` does, or more than once."""
    found = []
    times, twice = {}, set()
    for key, trackId in index.timeline.items():
        if trackId in times:
            twice.add(trackId)
        times[trackId] = keyMicroseconds(key)
    expectedTimes = {trackId: keyMicroseconds(key)
                     for key, trackId in expected.timeline.items()}
    elsewhen = {trackId for trackId, us in times.items()
                if expectedTimes.get(trackId, us) != us}
    if twice:
        found.append('timeline: twice %s' % _describe(twice))
    if elsewhen:
        found.append('timeline: at another time %s' % _describe(elsewhen))
    return found


def _trackSets(index):
    """Where each track is indexed, as sets of track ids."""
    timeline = index.timeline
    found = {'timeline': set(timeline.values()) | set(index.crowdedIds())}
    for name, tree in index.values.items():
        for value in tree.keys():
            found[(name, value)] = {timeline.get(key)
                                    for key in index.keys(tree, value)}
    for user in index.users.keys():
        found[('userName', user)] = {timeline.get(key) for key in
                                     index.keys(index.users, user)}
    return found


def _describe(ids):
    ids = sorted(ids, key=repr)
    if all(isinstance(i, int) for i in ids):
        return 'track%s %s' % ('s' if len(ids) > 1 else '',
                               ', '.join('%07i' % i for i in ids))
    return ', '.join(repr(i) for i in ids)
