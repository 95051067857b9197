"""Indexes of a tracking storage, the adapter giving their values, and the
subscribers that keep them up to date.

Every index entry is a *key* that orders tracks by time stamp, then id:
one integer, the time stamp in microseconds shifted left by ``ID_BITS``
plus the track id (one integer pickles and compares faster than a tuple).
Each index value maps to a tree set of such keys, so the tracks for a value
come out ordered oldest first, a time range within them is a range of
keys, and the latest one is the set's largest key: all without loading a
single track.
"""

import functools
import heapq

import BTrees
from persistent import Persistent
from zope.component import adapter
from zope.interface import implementer
from zope.lifecycleevent.interfaces import IObjectModifiedEvent
from zope.lifecycleevent.interfaces import IObjectRemovedEvent

from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackIndexData
from cybertools.tracking.validation import checkTime
from cybertools.tracking.validation import indexKeyKind

ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1

# Above every key: (taskId, runId, userName, INFINITY) ends a range after
# all keys of a user's tracks in a run.
INFINITY = float('inf')


def orderKey(timeStamp, trackId):
    """The index key of a track (see above)."""
    return (round(timeStamp * 1e6) << ID_BITS) | trackId


def keyTrackId(key):
    """The track id in an index key, or in a tuple ending in one."""
    if type(key) is tuple:
        key = key[-1]
    return key & ID_MASK

TIME_CRITERIA = ('timeFrom', 'timeTo', 'timeFromTo')


class Exact:
    """A query value that matches only itself, even when it ends in ``*``:
    ``query(userName=Exact('al*'))`` finds the user named ``al*`` and not
    every user whose name starts with ``al``."""

    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return 'Exact(%r)' % (self.value,)

# The kinds of the metadata indexes, known before they hold any value.
KINDS = {'taskId': 'string', 'userName': 'string', 'runId': 'number'}


@implementer(ITrackIndexData)
@adapter(ITrack)
class TrackIndexData:
    """The default index values of a track: its metadata and the fields of
    its data named in ``index_attributes``."""

    def __init__(self, context):
        self.context = context

    def getIndexValues(self):
        track = self.context
        values = track.metadata
        data = track.data
        # the storage may index more than the class names (the original's
        # settable indexAttributes)
        names = getattr(track.__parent__, 'indexAttributes',
                        track.index_attributes)
        for name in names:
            if name not in values:
                value = data.get(name)
                if value is not None:
                    values[name] = value
        return values


def getIndexValues(track):
    """The index values of a track, from its registered ITrackIndexData
    adapter or, where none is registered, the default one."""
    indexData = ITrackIndexData(track, None)
    if indexData is None:
        indexData = TrackIndexData(track)
    values = indexData.getIndexValues()
    # the storage's own lookups rely on the metadata being indexed as it is
    values.update(track.metadata)
    return values


class TrackIndex(Persistent):
    """The indexes of the tracks of one storage (or of one of its
    partitions).

    ``values`` maps each index name to a BTree from value to key set;
    ``timeline`` holds every key; ``userTracks`` holds the keys prefixed
    with (taskId, runId, userName), for the lookups of one user's tracks in
    a run (one set for all, so a track does not need a new persistent set).
    All of them are BTrees, so saving a track never writes this object.
    """

    family = BTrees.family64

    def __init__(self, names):
        OO = self.family.OO
        self.timeline = OO.TreeSet()
        self.values = OO.BTree()
        self.userTracks = OO.TreeSet()
        for name in self.valueIndexNames(names):
            self.values[name] = OO.BTree()

    @property
    def names(self):
        return tuple(self.values.keys())

    @staticmethod
    def valueIndexNames(names):
        """The names of the value indexes for these index attributes (the
        time stamp is the order of every index, not an index of its own)."""
        return [name for name in names if name != 'timeStamp']

    def kind(self, name):
        """The kind of the values of an index, None while it has none."""
        tree = self.values[name]
        return indexKeyKind(tree.minKey()) if tree else KINDS.get(name)

    def index(self, trackId, values):
        key = orderKey(values['timeStamp'], trackId)
        self.timeline.insert(key)
        for name, tree in self.values.items():
            value = values.get(name)
            if value is not None:
                self._insert(tree, value, key)
        self.userTracks.insert(_userKey(values) + (key,))

    def unindex(self, trackId, values):
        key = orderKey(values['timeStamp'], trackId)
        self.timeline.remove(key)
        for name, tree in self.values.items():
            value = values.get(name)
            if value is not None:
                self._remove(tree, value, key)
        self.userTracks.remove(_userKey(values) + (key,))

    def _insert(self, tree, value, key):
        keys = tree.get(value)
        if keys is None:
            keys = tree[value] = self.family.OO.TreeSet()
        keys.insert(key)

    def _remove(self, tree, value, key):
        keys = tree[value]
        keys.remove(key)
        if not keys:
            # no empty sets: the keys of an index are the values in use
            del tree[value]

    def differences(self, expected):
        """Describe how this index differs from ``expected``, an index
        built afresh from the stored tracks: a list of strings."""
        found = []
        _compareKeys(found, 'timeline', self.timeline, expected.timeline)
        _compareKeys(found, 'userTracks', self.userTracks,
                     expected.userTracks)
        for name in expected.values.keys():
            tree, expectedTree = self.values.get(name), expected.values[name]
            if tree is None:
                found.append('index %r is missing' % name)
                continue
            for value in sorted(set(tree.keys()) | set(expectedTree.keys())):
                _compareKeys(found, '%s %r' % (name, value),
                             tree.get(value, ()), expectedTree.get(value, ()))
        return found

    # lookups

    def userKeys(self, taskId, runId, userName):
        """The keys of a user's tracks in a run, oldest first."""
        prefix = (taskId, runId, userName)
        return self.userTracks.keys(prefix, prefix + (INFINITY,))

    def lastUserKey(self, taskId, runId, userName):
        """The key of a user's latest track in a run, or None."""
        prefix = (taskId, runId, userName)
        try:
            key = self.userTracks.maxKey(prefix + (INFINITY,))
        except ValueError:      # no key that low
            return None
        return key if key[:3] == prefix else None

    def userNames(self, taskId):
        """The names of the users with tracks for a task (a set).

        Jumps from one (run, user) of the task to the next instead of
        visiting every track."""
        users = set()
        low = (taskId,)
        while True:
            try:
                key = self.userTracks.minKey(low)
            except ValueError:  # no key that high
                break
            if key[0] != taskId:
                break
            users.add(key[2])
            low = key[:3] + (INFINITY,)
        return users

    def indexValues(self, name):
        return list(self.values[name].keys())

    def lastKey(self, name, value):
        """The latest key with this value, or None."""
        keys = self.values[name].get(value)
        return keys.maxKey() if keys else None

    def search(self, criteria):
        """The keys of the tracks matching the criteria (see
        ``ITrackingStorageQuery.query``), as an ordered sequence."""
        criteria = {name: value for name, value in criteria.items()
                    if value is not None}
        low, high = _timeRange(criteria)
        for name in criteria:
            if name not in self.values and name != 'timeStamp':
                # the original ignored unknown criteria: say why we don't
                raise ValueError('unknown criterion %r (indexes: %s); a '
                                 'criterion without an index is refused, not '
                                 'ignored'
                                 % (name, ', '.join(self.names + TIME_CRITERIA)))
        sets = [self._matching(name, value)
                for name, value in sorted(criteria.items())]
        timed = low is not None or high is not None
        if not sets:
            found = self.timeline
        elif len(sets) == 1:
            found = sets[0]
        else:
            if timed:
                # intersect only what lies in the time range
                sets = [self.family.OO.Set(keys.keys(low, high))
                        for keys in sets]
            sets.sort(key=len)
            found = functools.reduce(self.family.OO.intersection, sets)
        return found.keys(low, high) if timed else found.keys()

    def _matching(self, name, value):
        """The key set of the tracks with one of these values."""
        values = value if isinstance(value, (list, tuple)) else [value]
        if name == 'timeStamp':
            sets = [self.timeline.keys(orderKey(t, 0), orderKey(t, ID_MASK))
                    for t in (checkTime(v, 'timeStamp') for v in values)]
        else:
            tree = self.values[name]
            sets = []
            for v in values:
                sets.extend(self._valueSets(name, tree, v))
        if len(sets) == 1 and name != 'timeStamp':
            return sets[0]
        return self.family.OO.Set(heapq.merge(*sets))

    def _valueSets(self, name, tree, value):
        exact = isinstance(value, Exact)
        if exact:
            value = value.value
        kind = checkKind('criterion', name, value, self.kind(name))
        if kind == 'string' and not exact and value.endswith('*'):
            prefix = value[:-1]
            sets = []
            for v, keys in tree.items(prefix):
                if not v.startswith(prefix):
                    break
                sets.append(keys)
            return sets
        keys = tree.get(value)
        return [] if keys is None else [keys]


def checkKind(what, name, value, expected):
    """Check that a value can be indexed with values of kind ``expected``
    (None: any); return its kind."""
    kind = indexKeyKind(value)
    if kind is None:
        raise TypeError('%s %r: %s values cannot be indexed (use a '
                        'string or a number)'
                        % (what, name, type(value).__name__))
    if expected not in (None, kind):
        raise TypeError('%s %r: the index holds %ss, not %ss like %r'
                        % (what, name, expected, kind, value))
    return kind


def checkIndexValues(indexes, values):
    """Refuse index values that the indexes (of all partitions of a
    storage) cannot hold, before anything changes.

    The metadata are checked when they are given (``validation``); the
    other values must be of the kind their index holds in any partition
    (the first one that holds a value tells)."""
    for name in indexes[0].names:
        value = values.get(name)
        if value is not None and name not in KINDS:
            kinds = (index.kind(name) for index in indexes)
            checkKind('index', name, value,
                      next((kind for kind in kinds if kind), None))


def _compareKeys(found, where, keys, expected):
    missing = [k for k in expected if k not in keys]
    extra = [k for k in keys if k not in expected]
    if missing:
        found.append('%s: missing %s' % (where, _describeKeys(missing)))
    if extra:
        found.append('%s: stale %s' % (where, _describeKeys(extra)))


def _describeKeys(keys):
    return 'track%s %s' % ('s' if len(keys) > 1 else '',
                           ', '.join('%07i' % keyTrackId(key) for key in keys))


def _userKey(values):
    return (values['taskId'], values['runId'], values['userName'])


def _timeRange(criteria):
    """Take the time criteria out of ``criteria``; return the range of
    keys they allow as (low, high), None for an open end."""
    timeFrom = criteria.pop('timeFrom', None)
    timeTo = criteria.pop('timeTo', None)
    fromTo = criteria.pop('timeFromTo', None)
    if fromTo is not None:
        if not isinstance(fromTo, (list, tuple)) or len(fromTo) != 2:
            raise TypeError('timeFromTo must be a pair (timeFrom, timeTo)')
        if timeFrom is not None or timeTo is not None:
            raise ValueError('give timeFromTo or timeFrom/timeTo, not both')
        timeFrom, timeTo = fromTo
    low = high = None
    if timeFrom is not None:
        timeFrom = checkTime(timeFrom, 'timeFrom')
        low = orderKey(timeFrom, 0)
    if timeTo is not None:
        timeTo = checkTime(timeTo, 'timeTo')
        high = orderKey(timeTo, ID_MASK)
    if low is not None and high is not None and low > high:
        raise ValueError('timeFrom (%r) is later than timeTo (%r)'
                         % (timeFrom, timeTo))
    return low, high


@adapter(ITrack, IObjectModifiedEvent)
def reindexModifiedTrack(track, event):
    """Store and reindex a track after ``zope.lifecycleevent.modified``."""
    storage = track.__parent__
    if storage is not None:
        storage.reindexTrack(track)


@adapter(ITrack, IObjectRemovedEvent)
def unindexRemovedTrack(track, event):
    """Make sure a track reported as removed is gone from the indexes."""
    storage = track.__parent__
    if storage is not None and track.__name__ in storage:
        storage.removeTrack(track)
