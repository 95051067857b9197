"""What a tracking storage indexes, and how queries and changes reach the
indexes.

The values a track is indexed under come from an ``ITrackIndexData``
adapter (``TrackIndexData`` by default); ``Criteria`` checks the criteria
of a query and prepares them for the merged index (index.py) and for the
tracks not merged yet (pending.py); the subscribers store and reindex a
track on ``modified`` and make sure that a track reported as removed goes.
"""

from zope.component import adapter
from zope.component import getSiteManager
from zope.interface import implementer
from zope.lifecycleevent.interfaces import IObjectModifiedEvent
from zope.lifecycleevent.interfaces import IObjectRemovedEvent

from cybertools.tracking.index import KINDS
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackIndexData
from cybertools.tracking.interfaces import ITrackRemovedEvent
from cybertools.tracking.keys import firstKey
from cybertools.tracking.keys import firstKeyAt
from cybertools.tracking.keys import lastKey
from cybertools.tracking.keys import lastKeyAt
from cybertools.tracking.keys import microseconds
from cybertools.tracking.partitions import FirstLayoutIndex
from cybertools.tracking.validation import checkTime
from cybertools.tracking.validation import indexKeyKind

TIME_CRITERIA = ('timeFrom', 'timeTo', 'timeFromTo')
# what every record gives first
METADATA = ('taskId', 'runId', 'userName', 'timeStamp')
# criteria by name beside those of the value indexes (index.names)
OTHER_CRITERIA = ('userName', 'timeStamp')

# the name of the first layout's index class, for reading its storages
TrackIndex = FirstLayoutIndex


class Exact:
    """A query value that matches only itself, even when it ends in ``*``:
    ``query(userName=Exact('al*'))`` finds the user named ``al*`` and not
    every user whose name starts with ``al``."""

    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return 'Exact(%r)' % (self.value,)


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
        return _withDataValues(values, data, names)


def _withDataValues(values, data, names):
    """The values, with the data fields of the index names that are not
    metadata."""
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


def usesDefaultIndexData(trackClass, spec):
    """Whether tracks of a class, providing ``spec`` (``providedBy(track)``,
    or ``implementedBy(trackClass)``), get the default index values, so
    that ``defaultIndexValues`` may give them from a record."""
    if spec.isOrExtends(ITrackIndexData) or _conforms(trackClass):
        return False
    factory = getSiteManager().adapters.lookup((spec,), ITrackIndexData, '')
    return factory is None or factory is TrackIndexData


def _conforms(trackClass):
    """Whether the tracks of a class adapt themselves (``__conform__``, as
    zope.interface asks a track for it). Looked up in the classes' own
    dicts: ``getattr`` with a default raised and caught an AttributeError
    at every save (a tenth of a check's time)."""
    for kind in trackClass.__mro__:
        if kind.__dict__.get('__conform__') is not None:
            return True
    return False


def defaultIndexValues(record, indexNames):
    """What TrackIndexData gives for a track whose state is ``record``
    (checked, see records.py) in a storage indexing ``indexNames``: taken
    from the record, so that what is indexed is what is stored."""
    return _withDataValues(_metadataOf(record), record[4], indexNames)


def defaultIndexValuesFunction(indexNames):
    """``defaultIndexValues`` for many records in a row: the index names
    beyond the metadata, which a record gives at once, are found once."""
    dataNames = [name for name in indexNames if name not in METADATA]
    if not dataNames:
        return _metadataOf
    return lambda record: _withDataValues(_metadataOf(record), record[4],
                                          dataNames)


def _metadataOf(record):
    """The index values a record gives at once: its metadata."""
    values = {'taskId': record[0], 'runId': record[1],
              'userName': record[2], 'timeStamp': record[3]}
    if len(record) > 5:
        values.update(record[5])
    return values


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



def checkIndexValues(index, pending, values):
    """Refuse index values that the indexes cannot hold, before anything
    changes: the other values must be of the kind their index holds (the
    merged index tells or, while it has none, the tracks not merged yet:
    ``pending`` gives their index, None when there are none)."""
    for name in index.names:
        value = values.get(name)
        if value is not None and name not in KINDS:
            checkKind('index', name, value, indexKind(index, pending, name))


def indexKind(index, pending, name):
    """The kind of the values of an index: of the merged ones or, while
    there are none, of the pending ones (``pending`` gives their index)."""
    kind = index.kind(name)
    if kind is None and pending is not None:
        kinds = {indexKeyKind(v) for v in pending().values(name)}
        # (values of two kinds, saved at once by two writers: any goes)
        kind = kinds.pop() if len(kinds) == 1 else None
    return kind


def oneName(criteria):
    """(name, value) for the commonest query, the tracks of one task or
    one user: one string of a metadata index (every storage has them),
    not a prefix; else None (the query's ``Criteria`` are made and
    checked)."""
    if len(criteria) != 1:
        return None
    [(name, value)] = criteria.items()
    if type(value) is not str or KINDS.get(name) != 'string' or \
            value.endswith('*'):
        return None
    return name, value


def oneNameInTime(criteria):
    """(name, value, times, keys) for the tracks of one task or one user in
    a time range (``timeFrom`` and/or ``timeTo``): the name and value as
    ``oneName`` gives them, the range checked, in microseconds and in
    order keys (None: no limit); else None."""
    if not 1 < len(criteria) < 4:
        return None
    times, one = {}, None
    for name, value in criteria.items():
        if name == 'timeFrom' or name == 'timeTo':
            times[name] = value
        elif one is None:
            one = oneName({name: value})
            if one is None:
                return None
        else:
            return None
    if one is None:
        return None
    times = _timeRange(times)
    return one + (times, _keyRange(*times))


class Criteria:
    """The criteria of a query, checked and prepared for the merged index
    and the pending tracks (see ``ITrackingStorageQuery.query``)."""

    def __init__(self, criteria, index, pending=None):
        criteria = {name: value for name, value in criteria.items()
                    if value is not None}
        self.timeFrom = self.timeTo = self.low = self.high = None
        if not criteria.keys().isdisjoint(TIME_CRITERIA):
            self.timeFrom, self.timeTo = times = _timeRange(criteria)
            self.low, self.high = _keyRange(*times)
        names = index.names
        for name in criteria:
            if name not in names and name not in OTHER_CRITERIA:
                # the original ignored unknown criteria: say why we don't
                names = names + ('userName',)
                raise ValueError('unknown criterion %r (indexes: %s); a '
                                 'criterion without an index is refused, not '
                                 'ignored' % (name, ', '.join(
                                     sorted(names) + list(TIME_CRITERIA))))
        self.values = [
            (name, ValueMatcher(name, value, None if name == 'timeStamp'
                                else KINDS.get(name) or
                                indexKind(index, pending, name)))
            for name, value in sorted(criteria.items())]

    def oneValue(self):
        """(name, value) where the criteria are one value of an index and
        no time, else None (see TrackIndex.keysOfValue)."""
        if len(self.values) != 1 or self.timeFrom is not None or \
                self.timeTo is not None:
            return None
        name, matcher = self.values[0]
        if name == 'timeStamp' or matcher.prefixes or \
                len(matcher.exact) != 1:
            return None
        return name, matcher.exact[0]

    def timeStamps(self):
        """The microseconds a timeStamp criterion allows, or None."""
        for name, matcher in self.values:
            if name == 'timeStamp':
                return {microseconds(t) for t in matcher.times}
        return None


class ValueMatcher:
    """The values of one criterion: exact values and prefixes."""

    def __init__(self, name, value, kind):
        self.exact, self.prefixes, self.times = [], [], []
        if type(value) is str and kind == 'string' and \
                not value.endswith('*'):
            # the most common criterion: one name
            self.exact.append(value)
            return
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if name == 'timeStamp':
                self.times.append(checkTime(v, 'timeStamp'))
                continue
            exact = isinstance(v, Exact)
            if exact:
                v = v.value
            if checkKind('criterion', name, v, kind) == 'string' and \
                    not exact and v.endswith('*'):
                self.prefixes.append(v[:-1])
            else:
                self.exact.append(v)

    def items(self, mapping):
        """(value, what it maps to) for each matching value of a mapping
        (a BTree or a dict)."""
        for value in self.exact:
            found = mapping.get(value)
            if found is not None:
                yield value, found
        for prefix in self.prefixes:
            if isinstance(mapping, dict):
                for value, found in list(mapping.items()):
                    if isinstance(value, str) and value.startswith(prefix):
                        yield value, found
                continue
            for value, found in mapping.items(prefix):
                if not value.startswith(prefix):
                    break
                yield value, found

    def timeRanges(self):
        return [(firstKey(t), lastKey(t)) for t in self.times]


def _keyRange(timeFrom, timeTo):
    """The order keys from the first of one time (in microseconds) to the
    last of another (None: no limit)."""
    return (None if timeFrom is None else firstKeyAt(timeFrom),
            None if timeTo is None else lastKeyAt(timeTo))


def _timeRange(criteria):
    """Take the time criteria out of ``criteria``; return the range of
    microseconds they allow as (low, high), None for an open end."""
    timeFrom = criteria.pop('timeFrom', None)
    timeTo = criteria.pop('timeTo', None)
    fromTo = criteria.pop('timeFromTo', None)
    if fromTo is not None:
        if not isinstance(fromTo, (list, tuple)) or len(fromTo) != 2:
            raise TypeError('timeFromTo must be a pair (timeFrom, timeTo)')
        if timeFrom is not None or timeTo is not None:
            raise ValueError('give timeFromTo or timeFrom/timeTo, not both')
        timeFrom, timeTo = fromTo
    if timeFrom is not None:
        timeFrom = checkTime(timeFrom, 'timeFrom')
    if timeTo is not None:
        timeTo = checkTime(timeTo, 'timeTo')
    if timeFrom is not None and timeTo is not None and timeFrom > timeTo:
        raise ValueError('timeFrom (%r) is later than timeTo (%r)'
                         % (timeFrom, timeTo))
    return (None if timeFrom is None else microseconds(timeFrom),
            None if timeTo is None else microseconds(timeTo))


@adapter(ITrack, IObjectModifiedEvent)
def reindexModifiedTrack(track, event):
    """Store and reindex a track after ``zope.lifecycleevent.modified``."""
    storage = track.__parent__
    if storage is not None:
        storage.reindexTrack(track)


@adapter(ITrack, IObjectRemovedEvent)
def unindexRemovedTrack(track, event):
    """Make sure a track reported as removed goes.

    The storage's own event comes after the removal. Another one (an
    application notifying ``ObjectRemovedEvent`` before it deletes the
    track from the storage, as users of the original do) removes the track
    when the transaction commits, unless it was deleted before."""
    storage = track.__parent__
    if storage is None or ITrackRemovedEvent.providedBy(event):
        return
    if track.__name__ in storage:
        storage.unindexTrack(None, track)
