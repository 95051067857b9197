"""Edge cases and regressions of the tracking storage (without a database).

One TestCase per topic: refused input, the defects of the original, events,
the index-data adapter and runs.
"""

import time
import unittest
from unittest import mock

import transaction
import zope.component.testing
import zope.lifecycleevent
from zope.component import adapter
from zope.component import provideAdapter
from zope.component import provideHandler
from zope.component.event import objectEventNotify
from zope.configuration import xmlconfig
from zope.container.interfaces import IContainerModifiedEvent
from zope.event import notify
from zope.interface import implementer
from zope.lifecycleevent import ObjectRemovedEvent

from cybertools.tracking.index import _removeKey
from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.indexing import TrackIndexData
from cybertools.tracking.indexing import reindexModifiedTrack
from cybertools.tracking.indexing import unindexRemovedTrack
from cybertools.tracking.interfaces import IRun
from cybertools.tracking.interfaces import IRunStartedEvent
from cybertools.tracking.interfaces import IRunStoppedEvent
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackAddedEvent
from cybertools.tracking.interfaces import ITrackIndexData
from cybertools.tracking.interfaces import ITrackModifiedEvent
from cybertools.tracking.interfaces import ITrackRemovedEvent

REFUSED = (TypeError, ValueError)

# More than any test starts: a run that a refused call started shows up.
MAX_RUNS = 20


class StateTrack(Track):
    """A track type with an index on a data field."""

    index_attributes = Track.metadata_attributes + ('state',)
    typeName = 'StateTrack'


def snapshot(storage):
    """Everything a caller can see of a storage, for before/after checks."""
    tracks = [(track.__name__, track.metadata, track.data)
              for track in storage.values()]
    runs = []
    for runId in range(1, MAX_RUNS + 1):
        run = storage.getRun(runId=runId)
        runs.append(None if run is None else
                    (run.id, run.taskId, run.start, run.end, run.stopped,
                     run.finished))
    taskIds = storage.getTaskIds()
    userNames = {taskId: storage.getUserNames(taskId) for taskId in taskIds}
    return (len(storage), tracks, runs, taskIds, userNames,
            storage.checkIndexes() == [])


def makeStorage(trackFactory=None):
    """A storage with tracks in two runs, a stopped run and an empty run."""
    storage = TrackingStorage(trackFactory)
    # run 1, current
    storage.saveUserTrack('a001', 0, 'u1', {'score': 1})
    storage.saveUserTrack('a001', 0, 'u2', {'score': 2, 'ok': True})
    # run 2, stopped
    storage.saveUserTrack('a002', 0, 'u1', {'nested': {'list': [1, None]}})
    storage.stopRun('a002')
    # run 3, current, no tracks
    storage.startRun('a003')
    return storage


def names(tracks):
    return [track.__name__ for track in tracks]


def frozenClock(at=1700000000.5):
    """Every call of time.time() returns the same moment."""
    return mock.patch('time.time', return_value=at)


def steppingClock(start=1700000000.0, step=0.001):
    """time.time() advances by ``step`` (less than a second) per call."""
    times = iter(start + i * step for i in range(10**6))
    return mock.patch('time.time', side_effect=lambda: next(times))


class ComponentsTestCase(unittest.TestCase):
    """Tests with a clean component registry, torn down afterwards."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)

    def loadPackageConfiguration(self):
        """What an application does: zope.component's and zope.security's
        configuration, then the package's configure.zcml."""
        xmlconfig.string("""
            <configure xmlns="http://namespaces.zope.org/zope">
              <include package="zope.component" />
              <include package="zope.security" />
              <include package="cybertools.tracking" />
            </configure>""")


class RefusalTestCase(unittest.TestCase):

    def assertRefused(self, storage, call, *args, exceptions=REFUSED, **kw):
        """The call raises one of ``exceptions`` and the storage looks
        exactly as it did before. Returns the exception."""
        before = snapshot(storage)
        self.assertTrue(before[-1], 'indexes inconsistent before the call')
        with self.assertRaises(exceptions) as cm:
            call(*args, **kw)
        self.assertEqual(snapshot(storage), before)
        return cm.exception


# Data that is not a mapping with string keys and JSON-exportable values.
BAD_DATA = [
    [],
    [('key', 'value')],
    'key=value',
    {1: 'x'},
    {('a', 'b'): 'x'},
    {'a': {2: 'x'}},
    {'a': [{'b': {None: 1}}]},
    {'a': object()},
    {'a': {1, 2}},
    {'a': b'bytes'},
    {'a': float('nan')},
    {'a': float('inf')},
    {'a': -float('inf')},
    {'a': [1, float('nan')]},
    {'a': {'b': [b'x']}},
    {'a': [object()]},
    {'a': {'b': {'c': {3}}}},
]


class RefusedSaveTest(RefusalTestCase):
    """saveUserTrack refuses bad arguments before it changes anything."""

    def setUp(self):
        self.storage = makeStorage()
        self.save = self.storage.saveUserTrack

    def test_bad_task_id(self):
        for taskId in ('', None, 5, b'a001', ['a001']):
            with self.subTest(taskId=taskId):
                self.assertRefused(self.storage, self.save,
                                   taskId, 0, 'u1', {'a': 1})
                self.assertRefused(self.storage, self.save,
                                   taskId, 1, 'u1', {'a': 1})

    def test_bad_user_name(self):
        # 'a004' has no run yet: a refused save must not start one
        # (None is the anonymous user: see test_anonymous_user)
        for userName in ('', 5, b'u1', ('u1',), 'u\ud800', 'u' * 1001):
            for taskId, runId in (('a001', 0), ('a001', 1), ('a004', 0)):
                for update in (False, True):
                    with self.subTest(userName=userName, taskId=taskId,
                                      runId=runId, update=update):
                        self.assertRefused(self.storage, self.save, taskId,
                                           runId, userName, {'a': 1},
                                           update=update)

    def test_run_id_not_an_int(self):
        # True would otherwise be taken for run 1 and False for "current"
        for runId in ('1', '0', 1.0, 0.0, True, False, None):
            with self.subTest(runId=runId):
                self.assertRefused(self.storage, self.save,
                                   'a001', runId, 'u1', {'a': 1})

    def test_negative_run_id(self):
        self.assertRefused(self.storage, self.save, 'a001', -1, 'u1', {})

    def test_run_that_does_not_exist(self):
        for update in (False, True):
            with self.subTest(update=update):
                self.assertRefused(self.storage, self.save,
                                   'a001', 99, 'u1', {'a': 1}, update=update)

    def test_bad_data(self):
        # into the current run, into a new run, and as an update of the
        # user's last track
        for data in BAD_DATA:
            for taskId, update in (('a001', False), ('a004', False),
                                   ('a001', True)):
                with self.subTest(data=data, taskId=taskId, update=update):
                    self.assertRefused(self.storage, self.save,
                                       taskId, 0, 'u1', data, update=update)

    def test_bad_data_with_overwrite(self):
        for data in BAD_DATA:
            with self.subTest(data=data):
                self.assertRefused(self.storage, self.save, 'a001', 0, 'u1',
                                   data, update=True, overwrite=True)

    def test_bad_time_stamp(self):
        for timeStamp in ('2024-01-01', '1700000000', b'1', [1.0], True,
                          float('nan'), float('inf'), -float('inf')):
            for taskId, update in (('a001', False), ('a004', False),
                                   ('a001', True)):
                with self.subTest(timeStamp=timeStamp, taskId=taskId,
                                  update=update):
                    self.assertRefused(self.storage, self.save, taskId, 0,
                                       'u1', {'a': 1}, update=update,
                                       timeStamp=timeStamp)

    def test_time_stamp_out_of_range_is_refused(self):
        # Before 1970 or after the year 9999 a time stamp cannot be shown
        # (time.gmtime); the storage refuses it.
        for timeStamp in (1e20, -1e20, -1, 253402300800):
            with self.subTest(timeStamp=timeStamp):
                self.assertRefused(self.storage, self.save, 'a001', 0, 'u1',
                                   {}, timeStamp=timeStamp)

    def test_time_stamps_at_the_ends_of_the_range(self):
        for timeStamp in (0, 253402300799.5):
            storage = makeStorage()
            trackId = storage.saveUserTrack('a001', 0, 'u1', {},
                                            timeStamp=timeStamp)
            self.assertIn('u1', repr(storage[trackId]))

    def test_valid_save_after_refusals_still_works(self):
        # the refusals above leave nothing half done that breaks a save
        for data in BAD_DATA:
            with self.assertRaises(REFUSED):
                self.save('a004', 0, 'u1', data)
        trackId = self.save('a004', 0, 'u1', {'a': (1, 2)})
        self.assertEqual(trackId, '0000004')
        track = self.storage[trackId]
        self.assertEqual(track.runId, 4)
        self.assertEqual(track.data, {'a': [1, 2]})   # tuples become lists
        self.assertEqual(self.storage.checkIndexes(), [])


class RefusedQueryTest(RefusalTestCase):
    """query refuses criteria it cannot answer instead of ignoring them."""

    def setUp(self):
        self.storage = makeStorage()

    def test_unknown_criterion_is_named(self):
        for criteria in ({'colour': 'red'},
                         {'taskId': 'a001', 'colour': 'red'},
                         {'colour': ['red', 'blue']}):
            with self.subTest(criteria=criteria):
                error = self.assertRefused(self.storage, self.storage.query,
                                           exceptions=ValueError, **criteria)
                self.assertIn('colour', str(error))

    def test_time_from_later_than_time_to(self):
        self.assertRefused(self.storage, self.storage.query,
                           exceptions=ValueError, timeFrom=20.0, timeTo=10.0)
        self.assertRefused(self.storage, self.storage.query,
                           exceptions=ValueError, timeFromTo=(20.0, 10.0))

    def test_time_from_equal_to_time_to_is_allowed(self):
        track = self.storage['0000001']
        result = self.storage.query(timeFrom=track.timeStamp,
                                    timeTo=track.timeStamp)
        self.assertIn(track, list(result))

    def test_criterion_of_the_wrong_kind(self):
        for criteria in ({'runId': '3'}, {'runId': ['1', '2']},
                         {'taskId': 5}, {'userName': ['u1', 5]},
                         {'taskId': b'a001'}, {'taskId': object()},
                         {'runId': float('nan')}):
            with self.subTest(criteria=criteria):
                self.assertRefused(self.storage, self.storage.query,
                                   **criteria)

    def test_malformed_time_criteria(self):
        for criteria in ({'timeFrom': 'yesterday'}, {'timeTo': b'1'},
                         {'timeFrom': float('nan')}, {'timeFromTo': 5},
                         {'timeFromTo': (1.0,)}, {'timeFromTo': (1.0, 'x')},
                         {'timeFromTo': (1.0, 2.0), 'timeFrom': 1.0}):
            with self.subTest(criteria=criteria):
                self.assertRefused(self.storage, self.storage.query,
                                   **criteria)

    def test_metadata_criterion_of_wrong_kind_refused_on_empty_storage(self):
        # The kind of runId (an int) and taskId (a string) is known from
        # the interface; whether a query is refused must not depend on
        # whether the storage happens to hold tracks yet.
        storage = TrackingStorage()
        for criteria in ({'runId': '3'}, {'taskId': 5}, {'userName': 5}):
            with self.subTest(criteria=criteria):
                self.assertRefused(storage, storage.query, **criteria)


class RefusedChangeTest(RefusalTestCase):
    """updateTrack, removeTrack, del and stopRun refuse what is not theirs."""

    def setUp(self):
        self.storage = makeStorage()

    def test_update_with_bad_data(self):
        track = self.storage['0000001']
        for data in BAD_DATA:
            for overwrite in (False, True):
                with self.subTest(data=data, overwrite=overwrite):
                    self.assertRefused(self.storage, self.storage.updateTrack,
                                       track, data, overwrite=overwrite)
                    self.assertRefused(self.storage, track.update,
                                       data, overwrite=overwrite)
        # the working copy was not changed either
        self.assertEqual(track, self.storage['0000001'])

    def test_not_a_track(self):
        for notATrack in ('0000001', 1, None, {'taskId': 'a001'},
                          self.storage.getRun(runId=1)):
            with self.subTest(notATrack=notATrack):
                self.assertRefused(self.storage, self.storage.updateTrack,
                                   notATrack, {'a': 1})
                self.assertRefused(self.storage, self.storage.removeTrack,
                                   notATrack)
                self.assertRefused(self.storage, self.storage.reindexTrack,
                                   notATrack)

    def test_track_of_another_storage(self):
        # same ids, same content: only the parent tells them apart
        other = makeStorage()
        otherBefore = snapshot(other)
        track = other['0000001']
        self.assertRefused(self.storage, self.storage.updateTrack,
                           track, {'a': 1})
        self.assertRefused(self.storage, self.storage.removeTrack, track)
        self.assertRefused(self.storage, self.storage.reindexTrack, track)
        self.assertEqual(snapshot(other), otherBefore)

    def test_unsaved_track(self):
        track = Track('a001', 1, 'u1', {'a': 1})
        self.assertRefused(self.storage, self.storage.updateTrack,
                           track, {'a': 2})
        self.assertRefused(self.storage, self.storage.removeTrack, track)

    def test_removed_track(self):
        track = self.storage['0000001']
        self.storage.removeTrack(track)
        for call, args in ((self.storage.updateTrack, (track, {'a': 1})),
                           (self.storage.removeTrack, (track,)),
                           (self.storage.reindexTrack, (track,)),
                           (self.storage.__delitem__, ('0000001',))):
            with self.subTest(call=call.__name__):
                self.assertRefused(self.storage, call, *args,
                                   exceptions=KeyError)

    def test_delete_unknown_id(self):
        for name in ('0000099', '99', 'x', '', None, 1):
            with self.subTest(name=name):
                self.assertRefused(self.storage, self.storage.__delitem__,
                                   name, exceptions=KeyError)

    def test_stop_unknown_run(self):
        self.assertRefused(self.storage, self.storage.stopRun, runId=99)
        self.assertRefused(self.storage, self.storage.stopRun, 'a001', 99)

    def test_stop_run_with_bad_arguments(self):
        for kw in ({}, {'runId': '1'}, {'runId': True}, {'runId': -1},
                   {'taskId': 5}, {'taskId': ''}):
            with self.subTest(kw=kw):
                self.assertRefused(self.storage, self.storage.stopRun, **kw)

    def test_empty_update_changes_nothing(self):
        # "An empty data without overwrite changes nothing": not even the
        # time stamp
        track = self.storage['0000001']
        before = snapshot(self.storage)
        self.assertEqual(self.storage.updateTrack(track, {}), '0000001')
        self.assertEqual(snapshot(self.storage), before)


class IndexValueKindTest(RefusalTestCase):
    """An index holds values of one kind; a track that would mix kinds is
    refused, whichever way it gets there."""

    def setUp(self):
        self.storage = makeStorage(StateTrack)
        self.trackId = self.storage.saveUserTrack('a001', 0, 'u3',
                                                  {'state': 'new'})

    def test_save_with_value_of_other_kind(self):
        for state in (5, 5.0, True, ['new'], {'a': 'new'}):
            for taskId, update in (('a001', False), ('a004', False),
                                   ('a001', True)):
                with self.subTest(state=state, taskId=taskId, update=update):
                    self.assertRefused(self.storage,
                                       self.storage.saveUserTrack,
                                       taskId, 0, 'u3', {'state': state},
                                       update=update)
        self.assertEqual(names(self.storage.query(state='new')),
                         [self.trackId])

    def test_update_with_value_of_other_kind(self):
        track = self.storage[self.trackId]
        self.assertRefused(self.storage, self.storage.updateTrack,
                           track, {'state': 5})
        self.assertRefused(self.storage, track.update, {'state': 5})

    def test_change_in_place_with_value_of_other_kind(self):
        # a storage in no database stores a change at once: the change
        # itself is refused, and the track is as stored again
        track = self.storage[self.trackId]

        def change():
            track.data['state'] = 5
        self.assertRefused(self.storage, change)
        self.assertEqual(track.data, {'state': 'new'})

    def test_unindexable_value_refused_while_index_is_empty(self):
        storage = TrackingStorage(StateTrack)
        for state in (['new'], {'a': 1}, float('nan')):
            with self.subTest(state=state):
                self.assertRefused(storage, storage.saveUserTrack,
                                   'a001', 0, 'u1', {'state': state})

    def test_values_of_the_same_kind_are_accepted(self):
        # ints and floats are both numbers and sort together
        storage = TrackingStorage(StateTrack)
        storage.saveUserTrack('a001', 0, 'u1', {'state': 1})
        storage.saveUserTrack('a001', 0, 'u1', {'state': 2.5})
        self.assertEqual(len(storage.query(state=[1, 2.5])), 2)
        self.assertEqual(storage.checkIndexes(), [])


class TrackIdTest(unittest.TestCase):
    """Track ids: numeric order past 9,999,999, one spelling per id."""

    def test_ids_and_order_past_9999999_tracks(self):
        storage = TrackingStorage()
        storage._trackLanes._floors[0] = 9999998
        # one time stamp for all three: only the ids order them
        with frozenClock():
            ids = [storage.saveUserTrack('t', 0, 'u', {'n': n})
                   for n in range(3)]
        self.assertEqual(ids, ['9999999', '10000000', '10000001'])
        self.assertEqual(storage.keys(), ids)
        self.assertEqual(list(storage), ids)
        self.assertEqual([name for name, _ in storage.items()], ids)
        self.assertEqual(names(storage.query()), ids)
        self.assertEqual(names(storage.query(taskId='t')), ids)
        self.assertEqual(names(storage.getUserTracks('t', 0, 'u')), ids)
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         '10000001')
        self.assertEqual(storage['10000000'].data, {'n': 1})
        self.assertIn('10000000', storage)
        self.assertEqual(storage.checkIndexes(), [])

    def test_ids_are_not_reused_after_removal(self):
        storage = makeStorage()
        del storage['0000003']
        self.assertEqual(storage.saveUserTrack('a001', 0, 'u1', {}),
                         '0000004')

    def test_only_the_canonical_spelling_of_an_id_is_a_key(self):
        # keys() names '0000001'; '1' and '00000001' are not keys, so the
        # container must not answer to them (one track, one name/URL).
        storage = makeStorage()
        self.assertIn('0000001', storage.keys())
        for alias in ('1', '00000001', '000001'):
            with self.subTest(alias=alias):
                self.assertNotIn(alias, storage)
                self.assertIsNone(storage.get(alias))
                with self.assertRaises(KeyError):
                    storage[alias]


class WildcardTest(unittest.TestCase):
    """'abc*' matches every value starting with 'abc', nothing else."""

    TASKS = ['ab', 'abc', 'abcz1', 'abd', 'abc~', 'xabc', 'abc\U0010ffff',
             'abb', 'ABC', 'abcz']

    def setUp(self):
        self.storage = TrackingStorage()
        self.ids = {taskId: self.storage.saveUserTrack(taskId, 0, 'u', {})
                    for taskId in self.TASKS}

    def test_prefix_matches_exactly(self):
        expected = ['abc', 'abcz1', 'abc~', 'abc\U0010ffff', 'abcz']
        result = self.storage.query(taskId='abc*')
        # oldest first across the matching values, not grouped by value
        self.assertEqual(names(result), [self.ids[t] for t in expected])
        self.assertEqual([t.taskId for t in result], expected)

    def test_star_alone_matches_everything(self):
        self.assertEqual(len(self.storage.query(taskId='*')),
                         len(self.TASKS))

    def test_prefix_without_match(self):
        self.assertEqual(list(self.storage.query(taskId='abe*')), [])
        self.assertEqual(list(self.storage.query(taskId='zzz*')), [])

    def test_overlapping_wildcards_in_a_list_give_each_track_once(self):
        result = self.storage.query(taskId=['ab*', 'abc*', 'abcz'])
        expected = [self.ids[t] for t in self.TASKS if t.startswith('ab')]
        self.assertEqual(names(result), expected)

    def test_wildcard_combined_with_other_criteria(self):
        self.storage.saveUserTrack('abcq', 0, 'other', {})
        result = self.storage.query(taskId='abc*', userName='other')
        self.assertEqual([t.taskId for t in result], ['abcq'])


class QueryResultTest(unittest.TestCase):
    """A query result is a proper sequence, ordered oldest first."""

    def setUp(self):
        self.storage = TrackingStorage()
        self.base = time.time()
        offsets = [50, 10, 40, 20, 60, 30]
        for n, offset in enumerate(offsets):
            self.storage.saveUserTrack('t%i' % (n % 2), 0, 'u%i' % (n % 3),
                                       {'n': n},
                                       timeStamp=self.base + offset)
        self.expected = sorted(self.storage.values(),
                               key=lambda track: track.timeStamp)

    def test_no_criteria_returns_all_tracks_oldest_first(self):
        result = self.storage.query()
        self.assertEqual(len(result), 6)
        self.assertEqual([t.data['n'] for t in result], [1, 3, 5, 2, 0, 4])
        self.assertEqual(list(result), self.expected)

    def test_criteria_that_are_none_are_ignored(self):
        self.assertEqual(self.storage.query(taskId=None, userName=None),
                         self.expected)

    def test_empty_storage(self):
        result = TrackingStorage().query()
        self.assertEqual(len(result), 0)
        self.assertEqual(result, [])
        self.assertEqual(list(reversed(result)), [])

    def test_len_and_indexing(self):
        result = self.storage.query()
        self.assertEqual(len(result), len(self.expected))
        for i in range(-6, 6):
            with self.subTest(index=i):
                self.assertEqual(result[i], self.expected[i])
        for i in (6, -7, 100):
            with self.subTest(index=i):
                with self.assertRaises(IndexError):
                    result[i]

    def test_slicing(self):
        result = self.storage.query()
        for s in (slice(1, 4), slice(None, 2), slice(-2, None),
                  slice(None, None, 2), slice(1, None, 3),
                  slice(None, None, -1), slice(4, 1, -1),
                  slice(None, None, -2), slice(10, 20), slice(3, 3)):
            with self.subTest(slice=s):
                part = result[s]
                self.assertEqual(list(part), self.expected[s])
                self.assertEqual(len(part), len(self.expected[s]))
        # a slice is a result again
        self.assertEqual(result[1:5][::-1][1:], self.expected[1:5][::-1][1:])
        self.assertEqual(result[::2][-1], self.expected[::2][-1])

    def test_iteration_and_reversed(self):
        result = self.storage.query()
        self.assertEqual([t for t in result], self.expected)
        self.assertEqual(list(reversed(result)), self.expected[::-1])
        # twice: a result can be iterated more than once
        self.assertEqual(list(result), list(result))

    def test_equality_with_lists(self):
        result = self.storage.query()
        self.assertEqual(result, self.expected)
        self.assertTrue(result == tuple(self.expected))
        self.assertTrue(result == self.storage.query())
        self.assertFalse(result != self.expected)
        self.assertNotEqual(result, self.expected[:-1])
        self.assertNotEqual(result, self.expected[::-1])

    def test_criteria_results_are_ordered_and_time_limits_inclusive(self):
        result = self.storage.query(taskId='t0')
        self.assertEqual([t.data['n'] for t in result], [2, 0, 4])
        result = self.storage.query(timeFrom=self.base + 20,
                                    timeTo=self.base + 50)
        self.assertEqual([t.data['n'] for t in result], [3, 5, 2, 0])
        result = self.storage.query(timeFromTo=(self.base + 20,
                                                self.base + 50),
                                    taskId='t1')
        self.assertEqual([t.data['n'] for t in result], [3, 5])
        result = self.storage.query(userName=['u0', 'u2'],
                                    timeFrom=self.base + 45)
        self.assertEqual([t.data['n'] for t in result], [0])


class IndexConsistencyTest(ComponentsTestCase):
    """The indexes agree with the tracks after every kind of change."""

    def setUp(self):
        super().setUp()
        self.storage = TrackingStorage(StateTrack)
        self.first = self.storage.saveUserTrack('a001', 0, 'u1',
                                                {'state': 'new'})
        self.second = self.storage.saveUserTrack('a001', 0, 'u2',
                                                 {'state': 'new'})
        self.third = self.storage.saveUserTrack('a002', 0, 'u1',
                                                {'state': 'open'})

    def assertConsistent(self):
        self.assertEqual(self.storage.checkIndexes(), [])

    def stateIndex(self, state):
        return names(self.storage.query(state=state))

    def test_check_indexes_notices_drift(self):
        # the checks below are only worth something if this one fails
        self.storage.indexPending()
        index = self.storage._index
        key = index.timeline.minKey()
        trackId = index.timeline.pop(key)
        self.assertTrue(self.storage.checkIndexes())
        index.timeline[key] = trackId
        self.assertConsistent()
        _removeKey(index.values['state'], 'new', key, index.counts['state'])
        self.assertTrue(self.storage.checkIndexes())

    def test_after_update_track(self):
        self.storage.updateTrack(self.storage[self.first], {'state': 'done'})
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [self.second])
        self.assertEqual(self.stateIndex('done'), [self.first])

    def test_after_save_with_update(self):
        trackId = self.storage.saveUserTrack('a001', 0, 'u2',
                                             {'state': 'done'}, update=True)
        self.assertEqual(trackId, self.second)
        self.assertConsistent()
        self.assertEqual(self.stateIndex('done'), [self.second])

    def test_after_overwrite(self):
        # overwrite drops 'state': the track leaves the state index
        trackId = self.storage.saveUserTrack('a001', 0, 'u1', {'other': 1},
                                             update=True, overwrite=True)
        self.assertEqual(trackId, self.first)
        self.assertEqual(self.storage[trackId].data, {'other': 1})
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [self.second])
        self.storage.updateTrack(self.storage[self.second], {},
                                 overwrite=True)
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [])

    def test_after_remove_track(self):
        self.storage.removeTrack(self.storage[self.first])
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [self.second])

    def test_after_del(self):
        del self.storage[self.third]
        self.assertConsistent()
        self.assertEqual(self.stateIndex('open'), [])
        self.assertEqual(names(self.storage.query(taskId='a002')), [])

    def test_after_reindex_tracks(self):
        self.storage.reindexTracks()
        self.assertConsistent()
        # and it repairs drift
        self.storage.indexPending()
        del self.storage._index.values['state']['new']
        self.storage._index.timeline.clear()
        self.assertTrue(self.storage.checkIndexes())
        self.storage.reindexTracks()
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [self.first, self.second])
        self.assertEqual(len(self.storage.query()), 3)

    def test_after_modified_event_with_package_configuration(self):
        self.loadPackageConfiguration()
        track = self.storage[self.first]
        track.data['state'] = 'done'
        track.data['note'] = 'changed in place'
        zope.lifecycleevent.modified(track)
        self.assertEqual(self.storage[self.first].data,
                         {'state': 'done', 'note': 'changed in place'})
        self.assertConsistent()
        self.assertEqual(self.stateIndex('done'), [self.first])
        self.assertEqual(self.stateIndex('new'), [self.second])

    def test_after_modified_event_with_provided_handlers(self):
        provideHandler(objectEventNotify)
        provideHandler(reindexModifiedTrack)
        provideHandler(unindexRemovedTrack)
        provideAdapter(TrackIndexData)
        track = self.storage[self.third]
        track.data['state'] = 'done'
        zope.lifecycleevent.modified(track)
        self.assertConsistent()
        self.assertEqual(self.stateIndex('done'), [self.third])
        self.assertEqual(self.stateIndex('open'), [])

    def test_after_removed_event(self):
        # a track reported removed by someone else goes when the
        # transaction commits (its remover may still delete it first, as
        # the original's users do), once
        self.loadPackageConfiguration()
        track = self.storage[self.second]
        notify(ObjectRemovedEvent(track, self.storage, track.__name__))
        self.assertIn(self.second, self.storage)
        transaction.commit()
        self.assertNotIn(self.second, self.storage)
        self.assertEqual(len(self.storage), 2)
        self.assertConsistent()

    def test_missing_data_field_is_not_indexed(self):
        # no 'state' at all, and a 'state' of None: no KeyError, not indexed
        withoutState = self.storage.saveUserTrack('a001', 0, 'u3', {'x': 1})
        noneState = self.storage.saveUserTrack('a001', 0, 'u4',
                                               {'state': None})
        self.assertConsistent()
        self.assertNotIn('state', self.storage[withoutState].indexdata)
        self.assertNotIn('state', self.storage[noneState].indexdata)
        self.assertEqual(self.stateIndex('new'), [self.first, self.second])
        self.assertIn(withoutState, names(self.storage.query(taskId='a001')))
        # dropping the field by an update takes the track out of the index
        self.storage.updateTrack(self.storage[self.first], {'state': None})
        self.assertConsistent()
        self.assertEqual(self.stateIndex('new'), [self.second])
        self.storage.reindexTracks()
        self.assertConsistent()


class UserNamesAndTaskIdsTest(unittest.TestCase):
    """Users and tasks whose tracks are all gone are no longer named."""

    def setUp(self):
        self.storage = TrackingStorage()
        save = self.storage.saveUserTrack
        self.u2run1 = save('a001', 0, 'u2', {})
        save('a001', 0, 'u1', {})
        self.storage.startRun('a001')
        self.u2run2 = save('a001', 0, 'u2', {})
        self.a002 = [save('a002', 0, 'u3', {}), save('a002', 0, 'u3', {})]

    def test_user_removed_from_task(self):
        self.assertEqual(self.storage.getUserNames('a001'), ['u1', 'u2'])
        del self.storage[self.u2run1]
        # u2 still has a track in the second run
        self.assertEqual(self.storage.getUserNames('a001'), ['u1', 'u2'])
        del self.storage[self.u2run2]
        self.assertEqual(self.storage.getUserNames('a001'), ['u1'])

    def test_task_removed(self):
        self.assertEqual(self.storage.getTaskIds(), ['a001', 'a002'])
        self.storage.removeTrack(self.storage[self.a002[0]])
        self.assertEqual(self.storage.getTaskIds(), ['a001', 'a002'])
        self.storage.removeTrack(self.storage[self.a002[1]])
        self.assertEqual(self.storage.getTaskIds(), ['a001'])
        self.assertEqual(self.storage.getUserNames('a002'), [])

    def test_similar_task_ids_are_kept_apart(self):
        self.storage.saveUserTrack('a0011', 0, 'u9', {})
        self.storage.saveUserTrack('a00', 0, 'u8', {})
        self.assertEqual(self.storage.getUserNames('a001'), ['u1', 'u2'])


class TimeOrderTest(unittest.TestCase):
    """Time stamps have sub-second precision; ties go by save order."""

    def test_sub_second_time_stamps_are_kept(self):
        storage = TrackingStorage()
        with frozenClock(1700000000.25):
            trackId = storage.saveUserTrack('t', 0, 'u', {})
        self.assertEqual(storage[trackId].timeStamp, 1700000000.25)

    def test_tracks_within_one_second_are_ordered_by_save_order(self):
        storage = TrackingStorage()
        with steppingClock(step=0.001):
            ids = [storage.saveUserTrack('t', 0, 'u', {'n': n})
                   for n in range(5)]
        stamps = [storage[i].timeStamp for i in ids]
        self.assertEqual(int(stamps[0]), int(stamps[-1]))   # one second
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual(names(storage.query()), ids)
        self.assertEqual(names(storage.getUserTracks('t', 0, 'u')), ids)
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         ids[-1])

    def test_equal_time_stamps_are_ordered_by_save_order(self):
        storage = TrackingStorage()
        with frozenClock():
            ids = [storage.saveUserTrack('t', 0, 'u', {'n': n})
                   for n in range(5)]
        self.assertEqual(names(storage.query()), ids)
        self.assertEqual(names(storage.query(userName='u')), ids)
        self.assertEqual(names(reversed(storage.query())), ids[::-1])
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         ids[-1])

    def test_real_clock_keeps_save_order(self):
        storage = TrackingStorage()
        ids = [storage.saveUserTrack('t', 0, 'u', {'n': n})
               for n in range(20)]
        self.assertEqual(names(storage.query()), ids)
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         ids[-1])

    def test_update_makes_a_track_the_latest(self):
        storage = TrackingStorage()
        with steppingClock():
            first = storage.saveUserTrack('t', 0, 'u', {'n': 1})
            second = storage.saveUserTrack('t', 0, 'u', {'n': 2})
            storage.updateTrack(storage[first], {'n': 3})
        self.assertEqual(names(storage.query()), [second, first])
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         first)

    def test_explicit_time_stamps_order_tracks_and_extend_the_run(self):
        storage = TrackingStorage()
        base = time.time() + 1000
        later = storage.saveUserTrack('t', 0, 'u', {}, timeStamp=base + 30)
        early = storage.saveUserTrack('t', 0, 'u', {}, timeStamp=base + 10)
        middle = storage.saveUserTrack('t', 0, 'u', {}, timeStamp=base + 20)
        self.assertEqual(storage[early].timeStamp, base + 10)
        self.assertEqual(names(storage.query()), [early, middle, later])
        self.assertEqual(names(storage.getUserTracks('t', 0, 'u')),
                         [early, middle, later])
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').__name__,
                         later)
        self.assertEqual(storage.getRun('t').end, base + 30)

    def test_int_time_stamp_is_accepted(self):
        storage = TrackingStorage()
        trackId = storage.saveUserTrack('t', 0, 'u', {}, timeStamp=1000)
        self.assertEqual(storage[trackId].timeStamp, 1000.0)
        self.assertEqual(names(storage.query(timeFromTo=(1000, 1000))),
                         [trackId])


class RunEndTest(unittest.TestCase):
    """A run's end is the latest of its start, its tracks' time stamps and
    its stop time, also after tracks are removed or moved back."""

    def setUp(self):
        self.storage = TrackingStorage()
        self.runId = self.storage.startRun('t')
        self.run = self.storage.getRun(runId=self.runId)
        self.base = self.run.start + 1000

    def save(self, offset, **kw):
        # data is not empty: an empty update would change nothing
        return self.storage.saveUserTrack('t', 0, 'u', {'offset': offset},
                                          timeStamp=self.base + offset, **kw)

    def test_end_follows_the_latest_track(self):
        self.assertEqual(self.run.end, self.run.start)
        self.save(10)
        self.assertEqual(self.run.end, self.base + 10)
        latest = self.save(20)
        self.save(15)
        self.assertEqual(self.run.end, self.base + 20)
        self.storage.removeTrack(self.storage[latest])
        self.assertEqual(self.run.end, self.base + 15)

    def test_end_after_stop_and_removal_of_all_tracks(self):
        first = self.save(10)
        second = self.save(20)
        self.storage.stopRun('t', finish=False)
        stopped = self.run.stopped
        self.assertIsNotNone(stopped)
        # the tracks are later than the stop: they define the end
        self.assertEqual(self.run.end, self.base + 20)
        del self.storage[second]
        self.assertEqual(self.run.end, self.base + 10)
        del self.storage[first]
        self.assertEqual(self.run.end, stopped)

    def test_stop_after_the_tracks_defines_the_end(self):
        self.storage.saveUserTrack('t', 0, 'u', {},
                                   timeStamp=self.run.start - 100)
        self.assertEqual(self.run.end, self.run.start)
        self.storage.stopRun('t')
        self.assertGreaterEqual(self.run.stopped, self.run.start)
        self.assertEqual(self.run.end, self.run.stopped)

    def test_tracks_before_the_start_leave_the_end_at_the_start(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {},
                                             timeStamp=self.run.start - 100)
        self.assertEqual(self.run.end, self.run.start)
        del self.storage[trackId]
        self.assertEqual(self.run.end, self.run.start)

    def test_update_to_an_earlier_time_stamp_fits_the_end_back(self):
        self.save(10)
        self.save(30)
        self.save(5, update=True)
        self.assertEqual(self.run.end, self.base + 10)

    def test_update_extends_the_end(self):
        self.save(10)
        self.save(40, update=True)
        self.assertEqual(self.run.end, self.base + 40)
        self.assertEqual(len(self.storage), 1)

    def test_end_of_other_runs_is_untouched(self):
        self.save(10)
        otherRun = self.storage.startRun('t')
        other = self.storage.getRun(runId=otherRun)
        self.storage.saveUserTrack('t', 0, 'u', {}, timeStamp=self.base + 50)
        self.assertEqual(other.end, self.base + 50)
        self.assertEqual(self.run.end, self.base + 10)


class EventsTest(ComponentsTestCase):
    """The storage notifies its own events, with the right attributes, and
    no container events."""

    def setUp(self):
        super().setUp()
        provideHandler(objectEventNotify)
        self.events = []

        def record(kind):
            def handler(obj, event):
                self.events.append((kind, obj, event))
            return handler

        provideHandler(record('added'), (ITrack, ITrackAddedEvent))
        provideHandler(record('modified'), (ITrack, ITrackModifiedEvent))
        provideHandler(record('removed'), (ITrack, ITrackRemovedEvent))
        provideHandler(record('started'), (IRun, IRunStartedEvent))
        provideHandler(record('stopped'), (IRun, IRunStoppedEvent))

        self.containerEvents = []
        provideHandler(lambda obj, event: self.containerEvents.append(event),
                       (None, IContainerModifiedEvent))
        provideHandler(lambda event: self.containerEvents.append(event),
                       (IContainerModifiedEvent,))
        self.storage = TrackingStorage()

    def kinds(self):
        return [kind for kind, _, _ in self.events]

    def test_save_into_a_new_run(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {'a': 1})
        self.assertEqual(self.kinds(), ['started', 'added'])
        _, run, event = self.events[0]
        self.assertIs(event.object, run)
        self.assertIs(event.storage, self.storage)
        self.assertEqual((run.id, run.taskId), (1, 't'))
        self.assertIs(run.__parent__, self.storage)
        _, track, event = self.events[1]
        self.assertIs(event.object, track)
        self.assertIs(event.newParent, self.storage)
        self.assertEqual(event.newName, trackId)
        self.assertIsNone(event.oldParent)
        self.assertEqual(track.__name__, trackId)
        self.assertIs(track.__parent__, self.storage)
        self.assertEqual((track.taskId, track.runId, track.userName,
                          track.data), ('t', 1, 'u', {'a': 1}))
        self.assertEqual(self.containerEvents, [])

    def test_save_into_the_current_run(self):
        self.storage.startRun('t')
        del self.events[:]
        self.storage.saveUserTrack('t', 0, 'u', {})
        self.assertEqual(self.kinds(), ['added'])

    def test_update_track(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {'a': 1})
        track = self.storage[trackId]
        del self.events[:]
        self.storage.updateTrack(track, {'b': 2})
        self.assertEqual(self.kinds(), ['modified'])
        _, obj, event = self.events[0]
        self.assertIs(obj, track)
        self.assertIs(event.object, track)
        self.assertEqual(track.data, {'a': 1, 'b': 2})
        self.assertEqual(self.containerEvents, [])

    def test_save_with_update(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {'a': 1})
        del self.events[:]
        self.storage.saveUserTrack('t', 0, 'u', {'a': 2}, update=True)
        self.assertEqual(self.kinds(), ['modified'])
        _, track, event = self.events[0]
        self.assertEqual(track.__name__, trackId)
        self.assertEqual(track.data, {'a': 2})
        self.assertIs(track.__parent__, self.storage)

    def test_remove_track(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {})
        track = self.storage[trackId]
        del self.events[:]
        self.storage.removeTrack(track)
        self.assertEqual(self.kinds(), ['removed'])
        _, obj, event = self.events[0]
        self.assertIs(obj, track)
        self.assertIs(event.oldParent, self.storage)
        self.assertEqual(event.oldName, trackId)
        self.assertIsNone(event.newParent)
        self.assertEqual(self.containerEvents, [])

    def test_del(self):
        trackId = self.storage.saveUserTrack('t', 0, 'u', {})
        del self.events[:]
        del self.storage[trackId]
        self.assertEqual(self.kinds(), ['removed'])
        _, track, event = self.events[0]
        self.assertEqual(track.__name__, trackId)
        self.assertIs(event.oldParent, self.storage)
        self.assertEqual(event.oldName, trackId)

    def test_start_and_stop_run(self):
        runId = self.storage.startRun('t')
        self.storage.stopRun('t')
        otherId = self.storage.startRun()
        self.storage.stopRun(runId=otherId, finish=False)
        self.assertEqual(self.kinds(),
                         ['started', 'stopped', 'started', 'stopped'])
        runs = [obj for _, obj, _ in self.events]
        self.assertEqual([run.id for run in runs],
                         [runId, runId, otherId, otherId])
        for _, run, event in self.events:
            self.assertIs(event.object, run)
            self.assertIs(event.storage, self.storage)
        self.assertTrue(runs[1].finished)
        self.assertFalse(runs[3].finished)
        self.assertIsNone(runs[2].taskId)

    def test_nothing_to_stop_notifies_nothing(self):
        self.assertEqual(self.storage.stopRun('t'), 0)
        self.assertEqual(self.events, [])

    def test_refused_calls_notify_nothing(self):
        with self.assertRaises(REFUSED):
            self.storage.saveUserTrack('t', 0, 'u', [])
        with self.assertRaises(REFUSED):
            self.storage.saveUserTrack('t', 0, '', {})
        self.storage.saveUserTrack('t', 0, 'u', {})
        del self.events[:]
        with self.assertRaises(REFUSED):
            self.storage.saveUserTrack('t', 0, 'u', {'a': {1}}, update=True)
        with self.assertRaises(REFUSED):
            self.storage.stopRun(runId=99)
        self.assertEqual(self.events, [])

    def test_no_container_modified_event(self):
        # the original wrote the container (and notified) on every save
        trackId = self.storage.saveUserTrack('t', 0, 'u', {})
        self.storage.saveUserTrack('t', 0, 'u', {'a': 1}, update=True)
        self.storage.saveUserTrack('t', 0, 'v', {})
        self.storage.updateTrack(self.storage[trackId], {'b': 1})
        del self.storage[trackId]
        self.assertEqual(self.kinds(), ['started', 'added', 'modified',
                                        'added', 'modified', 'removed'])
        self.assertEqual(self.containerEvents, [])


class LevelTrack(Track):
    """A track type indexed under a value derived from its data."""

    index_attributes = Track.metadata_attributes + ('level',)
    typeName = 'LevelTrack'


@implementer(ITrackIndexData)
@adapter(LevelTrack)
class LevelIndexData(TrackIndexData):
    """Indexes a LevelTrack under 'level', derived from data['score']."""

    def getIndexValues(self):
        values = super().getIndexValues()
        score = self.context.data.get('score')
        if score is not None:
            values['level'] = 'high' if score >= 50 else 'low'
        return values


class IndexDataAdapterTest(ComponentsTestCase):
    """A custom ITrackIndexData adapter decides what a track is indexed
    under."""

    def saveScores(self, storage):
        return {score: storage.saveUserTrack('t', 0, 'u', {'score': score})
                for score in (10, 70, 90)}

    def test_custom_adapter_gives_index_values(self):
        provideAdapter(LevelIndexData)
        storage = TrackingStorage(LevelTrack)
        ids = self.saveScores(storage)
        noScore = storage.saveUserTrack('t', 0, 'u', {'other': 1})
        self.assertEqual(names(storage.query(level='high')),
                         [ids[70], ids[90]])
        self.assertEqual(names(storage.query(level='low')), [ids[10]])
        self.assertEqual(storage[ids[90]].indexdata['level'], 'high')
        self.assertNotIn('level', storage[noScore].indexdata)
        self.assertEqual(storage.checkIndexes(), [])

    def test_update_moves_the_derived_value(self):
        provideAdapter(LevelIndexData)
        storage = TrackingStorage(LevelTrack)
        ids = self.saveScores(storage)
        storage.updateTrack(storage[ids[90]], {'score': 20})
        self.assertEqual(names(storage.query(level='high')), [ids[70]])
        self.assertEqual(names(storage.query(level='low')),
                         [ids[10], ids[90]])
        self.assertEqual(storage.checkIndexes(), [])

    def test_without_the_adapter_the_default_is_used(self):
        # the control: the same track type without the registration has
        # no 'level' field in its data, so nothing is indexed there
        storage = TrackingStorage(LevelTrack)
        self.saveScores(storage)
        self.assertEqual(list(storage.query(level='high')), [])
        self.assertEqual(storage.checkIndexes(), [])

    def test_adapter_for_another_class_is_not_used(self):
        provideAdapter(LevelIndexData)
        storage = TrackingStorage(StateTrack)
        trackId = storage.saveUserTrack('t', 0, 'u', {'score': 90})
        self.assertNotIn('level', storage[trackId].indexdata)

    def test_a_track_class_that_adapts_itself_gives_its_values(self):
        # zope.interface asks a track's __conform__ first, also where a
        # base class defines it
        storage = TrackingStorage(ConformingLevelTrack)
        ids = self.saveScores(storage)
        self.assertEqual(names(storage.query(level='high')),
                         [ids[70], ids[90]])
        self.assertEqual(storage.checkIndexes(), [])


class SelfAdaptingTrack(LevelTrack):

    def __conform__(self, interface):
        if interface is ITrackIndexData:
            return LevelIndexData(self)
        return None


class ConformingLevelTrack(SelfAdaptingTrack):
    """Adapts itself by its base class's __conform__."""


class RunsTest(RefusalTestCase):
    """startRun, stopRun and getRun as the interfaces describe them."""

    def setUp(self):
        self.storage = TrackingStorage()

    def test_start_run(self):
        before = time.time()
        runId = self.storage.startRun('t')
        self.assertEqual(runId, 1)
        run = self.storage.getRun('t')
        self.assertIs(run, self.storage.getRun(runId=runId))
        self.assertEqual((run.id, run.taskId, run.stopped, run.finished),
                         (1, 't', None, False))
        self.assertEqual(run.end, run.start)
        self.assertGreaterEqual(run.start, before)
        self.assertIs(run.__parent__, self.storage)

    def test_new_run_replaces_the_current_run(self):
        first = self.storage.startRun('t')
        self.storage.saveUserTrack('t', 0, 'u', {})
        second = self.storage.startRun('t')
        self.assertEqual(second, first + 1)
        self.assertEqual(self.storage.getRun('t').id, second)
        # the previous run stays as it is
        old = self.storage.getRun(runId=first)
        self.assertIsNone(old.stopped)
        self.assertFalse(old.finished)
        trackId = self.storage.saveUserTrack('t', 0, 'u', {})
        self.assertEqual(self.storage[trackId].runId, second)
        self.assertEqual(len(self.storage.getUserTracks('t', 0, 'u')), 1)
        self.assertEqual(len(self.storage.getUserTracks('t', first, 'u')), 1)

    def test_save_starts_a_run_when_there_is_none(self):
        self.storage.saveUserTrack('t', 0, 'u', {})
        self.storage.saveUserTrack('s', 0, 'u', {})
        self.assertEqual(self.storage.getRun('t').id, 1)
        self.assertEqual(self.storage.getRun('s').id, 2)

    def test_stop_run(self):
        runId = self.storage.startRun('t')
        self.assertEqual(self.storage.stopRun('t'), runId)
        run = self.storage.getRun(runId=runId)
        self.assertTrue(run.finished)
        self.assertIsInstance(run.stopped, float)
        self.assertGreaterEqual(run.end, run.stopped)
        self.assertIsNone(self.storage.getRun('t'))
        # the next save starts a new run
        trackId = self.storage.saveUserTrack('t', 0, 'u', {})
        self.assertEqual(self.storage[trackId].runId, runId + 1)

    def test_stop_without_finish(self):
        runId = self.storage.startRun('t')
        self.assertEqual(self.storage.stopRun('t', finish=False), runId)
        run = self.storage.getRun(runId=runId)
        self.assertFalse(run.finished)
        self.assertIsNotNone(run.stopped)
        self.assertIsNone(self.storage.getRun('t'))

    def test_stop_an_earlier_run_by_id(self):
        first = self.storage.startRun('t')
        second = self.storage.startRun('t')
        self.assertEqual(self.storage.stopRun('t', first), first)
        self.assertTrue(self.storage.getRun(runId=first).finished)
        # the current run is not affected
        self.assertEqual(self.storage.getRun('t').id, second)
        self.assertFalse(self.storage.getRun(runId=second).finished)

    def test_stopping_a_task_without_current_run_returns_0(self):
        self.assertEqual(self.storage.stopRun('t'), 0)
        runId = self.storage.startRun('t')
        self.storage.stopRun('t')
        before = snapshot(self.storage)
        self.assertEqual(self.storage.stopRun('t'), 0)
        self.assertEqual(snapshot(self.storage), before)
        self.assertIsNone(self.storage.getRun(runId=runId + 1))

    def test_run_without_task(self):
        runId = self.storage.startRun()
        run = self.storage.getRun(runId=runId)
        self.assertIsNone(run.taskId)
        self.assertIsNone(self.storage.getRun())
        # tracks can be saved into it by id; it is no task's current run
        trackId = self.storage.saveUserTrack('t', runId, 'u', {})
        self.assertEqual(self.storage[trackId].runId, runId)
        self.assertIsNone(self.storage.getRun('t'))
        self.assertEqual(names(self.storage.getUserTracks('t', runId, 'u')),
                         [trackId])
        self.assertEqual(list(self.storage.getUserTracks('t', 0, 'u')), [])
        self.assertEqual(self.storage.stopRun(runId=runId), runId)
        self.assertTrue(run.finished)
        # a task's next run gets a new id
        self.assertEqual(self.storage.startRun('t'), runId + 1)

    def test_stop_needs_task_or_run(self):
        self.storage.startRun()
        self.assertRefused(self.storage, self.storage.stopRun)

    def test_get_run_of_nothing(self):
        self.assertIsNone(self.storage.getRun())
        self.assertIsNone(self.storage.getRun('t'))
        self.assertIsNone(self.storage.getRun(runId=1))
        self.storage.startRun('t')
        self.assertIsNone(self.storage.getRun(runId=2))
        self.assertIsNone(self.storage.getRun('s'))

    def test_get_run_with_bad_arguments(self):
        for kw in ({'runId': '1'}, {'runId': -1}, {'runId': 1.0},
                   {'taskId': 5}, {'taskId': ''}):
            with self.subTest(kw=kw):
                with self.assertRaises(REFUSED):
                    self.storage.getRun(**kw)

    def test_run_ids_are_unique_and_never_0(self):
        ids = [self.storage.startRun('t'), self.storage.startRun(),
               self.storage.startRun('s'), self.storage.startRun('t')]
        self.assertEqual(ids, [1, 2, 3, 4])

    def test_start_run_at_a_given_time(self):
        runId = self.storage.startRun('t', start=1700000000)
        run = self.storage.getRun(runId=runId)
        self.assertEqual((run.start, run.end), (1700000000.0, 1700000000.0))
        self.assertRefused(self.storage, self.storage.startRun, 't',
                           start='yesterday')

    def test_state(self):
        runs = [self.storage.getRun(runId=self.storage.startRun('t'))
                for i in range(3)]
        self.storage.stopRun(runId=runs[1].id, finish=False)
        self.storage.stopRun(runId=runs[2].id)
        self.assertEqual([run.state for run in runs],
                         ['open', 'stopped', 'finished'])

    def test_get_runs_of_all_tasks_and_of_one(self):
        for taskId in ('t', None, 's', 't'):
            self.storage.startRun(taskId)
        self.storage.saveUserTrack('u', 0, 'x', {})   # starts run 5
        runs = self.storage.getRuns()
        self.assertEqual([run.id for run in runs], [1, 2, 3, 4, 5])
        self.assertEqual([run.id for run in reversed(runs)][:2], [5, 4])
        self.assertEqual(len(runs), 5)
        self.assertEqual([run.id for run in self.storage.getRuns('t')],
                         [1, 4])
        self.assertEqual(list(self.storage.getRuns('nothing')), [])
        with self.assertRaises(TypeError):
            self.storage.getRuns(5)


class MaintenanceTest(unittest.TestCase):
    """setupIndexes follows the track factory's index_attributes."""

    def setUp(self):
        self.storage = TrackingStorage()
        self.ids = [self.storage.saveUserTrack('t', 0, 'u', {'state': state})
                    for state in ('new', 'done', 'new')]

    def test_setup_indexes_adds_and_fills_a_new_index(self):
        self.storage.trackFactory = StateTrack
        self.storage.setupIndexes()
        self.assertEqual(names(self.storage.query(state='new')),
                         [self.ids[0], self.ids[2]])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_setup_indexes_drops_an_index_no_longer_asked_for(self):
        self.storage.trackFactory = StateTrack
        self.storage.setupIndexes()
        self.storage.trackFactory = Track
        self.storage.setupIndexes()
        with self.assertRaises(ValueError):
            self.storage.query(state='new')
        self.assertEqual(self.storage.checkIndexes(), [])
        self.assertEqual(len(self.storage.query()), 3)

    def test_setup_indexes_with_mixed_kinds_keeps_the_indexes_working(self):
        # Existing data mixes kinds in the field that becomes an index:
        # the values of the first kind are indexed, the others are not
        # (and checkIndexes says so); every query keeps working.
        name = self.storage.saveUserTrack('t', 0, 'u', {'state': 5})

        def found(**criteria):
            # the track class changes below, so compare the tracks' state
            return [(t.__name__, t.metadata, t.data)
                    for t in self.storage.query(**criteria)]

        before = found()
        self.assertEqual(len(before), 4)
        self.storage.trackFactory = StateTrack
        self.storage.setupIndexes()
        self.assertEqual(found(), before)
        self.assertEqual(found(taskId='t'), before)
        self.assertEqual(found(userName='u'), before)
        self.assertNotIn(name, [t.__name__ for t in
                                self.storage.query(state='new')])
        problems = self.storage.checkIndexes()
        self.assertEqual(len(problems), 1)
        self.assertIn("index 'state': track %s not indexed" % name,
                      problems[0])

    def test_index_attributes_follow_the_class_and_the_storage(self):
        # the storage keeps the names it asks for on every save; a change
        # of either source is seen at once
        storage = TrackingStorage(StateTrack)
        self.assertEqual(storage.indexAttributes[-1], 'state')
        with mock.patch.object(StateTrack, 'index_attributes',
                               StateTrack.index_attributes + ('level',)):
            self.assertEqual(storage.indexAttributes[-2:],
                             ('state', 'level'))
        self.assertEqual(storage.indexAttributes[-1], 'state')
        storage.indexAttributes = ('color',)
        self.assertEqual(storage.indexAttributes[-2:], ('state', 'color'))
        storage.trackFactory = Track
        self.assertEqual(storage.indexAttributes,
                         Track.metadata_attributes + ('color',))


class RoundedTrack(Track):
    """A track class whose time stamp is a property of its own."""

    @property
    def timeStamp(self):
        return self.__dict__['_seconds']

    @timeStamp.setter
    def timeStamp(self, value):
        self.__dict__['_seconds'] = float(int(value))


class LoggingTrack(Track):
    """A track class that sees every attribute set."""

    def __setattr__(self, name, value):
        self.__dict__.setdefault('_set', []).append(name)
        super().__setattr__(name, value)


class TrackStateTest(unittest.TestCase):
    """A new track's state is set directly only where that is what setting
    its attributes would do."""

    def test_a_property_of_a_subclass_is_called(self):
        storage = TrackingStorage(RoundedTrack)
        storage.saveUserTrack('t', 0, 'u', {}, timeStamp=1700000000.7)
        # (the run a save starts starts at the time the track gave)
        self.assertEqual(storage.getRun(taskId='t').start, 1700000000.0)
        self.assertEqual(RoundedTrack('t', 1, 'u', {},
                                      1700000001.9).timeStamp,
                         1700000001.0)

    def test_a_setattr_of_a_subclass_is_called(self):
        track = LoggingTrack('t', 1, 'u', {'a': 1}, 1700000000.0)
        self.assertEqual(track._set, ['taskId', 'runId', 'userName',
                                      'timeStamp', 'data'])
        self.assertEqual(track.data, {'a': 1})

    def test_plain_tracks_get_their_state_at_once(self):
        track = Track('t', 1, 'u', None, 1700000000.0)
        self.assertEqual((track.taskId, track.runId, track.userName,
                          track.timeStamp, track.data),
                         ('t', 1, 'u', 1700000000.0, {}))
        with mock.patch('time.time', return_value=1700000005.0):
            self.assertEqual(Track('t', 1, 'u').timeStamp, 1700000005.0)
