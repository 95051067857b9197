"""Tracks merged into the indexes in batches: queries are exact before and
after a merge, in the saving connection and in others, and two merges at
once never index a track twice or lose one."""

import os
import random
import shutil
import tempfile
import unittest

import transaction
from BTrees.Length import Length
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.index import SMALL
from cybertools.tracking.index import SMALL_ENTRIES
from cybertools.tracking.keys import SEQ_MASK
from cybertools.tracking.keys import Tailed
from cybertools.tracking.mergeguard import LOG_SIZE
from cybertools.tracking.mergeguard import PendingChanges
from cybertools.tracking.pending import PendingIndex
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.records import encodeRecord


class DatabaseTest(unittest.TestCase):
    """A storage in a database, and connections to it."""

    def setUp(self):
        self.db = DB(DemoStorage())
        self.addCleanup(self.db.close)
        with self.db.transaction() as conn:
            conn.root()['tracks'] = TrackingStorage()

    def connection(self):
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        self.addCleanup(conn.close)
        self.addCleanup(tm.abort)
        return conn.root()['tracks'], tm

    def names(self, result):
        return [t.__name__ for t in result]


class MergeTest(DatabaseTest):

    def test_found_right_after_saving_and_after_commit(self):
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        name = one.saveUserTrack('quiz', 0, 'alice', {'score': 1})
        self.assertEqual(self.names(one.query(taskId='quiz')), [name])
        self.assertEqual(one.getLastUserTrack('quiz', 0, 'alice').__name__,
                         name)
        self.assertEqual(one.getUserNames('quiz'), ['alice'])
        self.assertEqual(self.names(two.query(taskId='quiz')), [])
        tm1.commit()
        tm2.begin()
        self.assertEqual(self.names(two.query(taskId='quiz')), [name])
        self.assertEqual(two.getRun('quiz').end, two[name].timeStamp)
        # merged by the other connection: found from the indexes
        self.assertEqual(two.indexPending(), 1)
        tm2.commit()
        tm1.begin()
        self.assertEqual(self.names(one.query(userName='alice')), [name])
        self.assertEqual(one.checkIndexes(), [])

    def test_found_after_saves_the_pending_index_had_not_seen(self):
        # a save adds its track to the pending index only where that has
        # seen the lane up to it; else the next lookup reads the track
        storage, tm = self.connection()
        for i in range(3):
            storage.saveUserTrack('quiz', 0, 'u%i' % i, {})
        for track in list(storage.query(taskId='quiz')):
            storage.removeTrack(track)
        self.assertEqual(len(storage.query(taskId='quiz')), 0)
        name = storage.saveUserTrack('quiz', 0, 'bob', {})
        self.assertEqual(self.names(storage.query(taskId='quiz')), [name])
        tm.commit()
        other, tm2 = self.connection()
        other.saveUserTrack('quiz', 0, 'carol', {})
        tm2.commit()
        tm.begin()
        self.assertEqual(len(storage.query(taskId='quiz')), 2)
        latest = storage.saveUserTrack('quiz', 0, 'dora', {})
        self.assertEqual(self.names(storage.query(userName='dora')), [latest])
        self.assertEqual(len(storage.query(taskId='quiz')), 3)

    def test_changes_of_pending_tracks_are_seen_elsewhere(self):
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        first = one.saveUserTrack('quiz', 0, 'alice', {'score': 1})
        second = one.saveUserTrack('quiz', 0, 'bob', {'score': 2})
        tm1.commit()
        tm2.begin()
        self.assertEqual(len(two.query(taskId='quiz')), 2)
        tm2.abort()
        one[first].userName = 'carol'
        one.removeTrack(one[second])
        tm1.commit()
        tm2.begin()
        self.assertEqual([t.userName for t in two.query(taskId='quiz')],
                         ['carol'])
        self.assertEqual(two.query(userName='bob'), [])

    def test_a_change_of_a_pending_track_is_followed_here(self):
        # (not read anew: update=True changes a pending track mostly)
        storage, tm = self.connection()
        other, tm2 = self.connection()
        for i in range(20):
            storage.saveUserTrack('quiz', 0, 'u%i' % (i % 4), {'i': i})
        tm.commit()
        pending = storage._pending()
        storage.saveUserTrack('quiz', 0, 'u1', {'x': 1}, update=True)
        storage['0000002'].userName = 'moved'
        storage.reindexTrack(storage['0000002'])
        storage.removeTrack(storage['0000003'])
        self.assertIs(storage._pending(), pending)
        self.assertEqual(storage.getLastUserTrack('quiz', 0, 'u1').data,
                         {'i': 17, 'x': 1})
        self.assertEqual(self.names(storage.query(userName='moved')),
                         ['0000002'])
        self.assertEqual(len(storage.query(taskId='quiz')), 19)
        tm.commit()
        self.assertIs(storage._pending(), pending)
        tm2.begin()
        self.assertEqual(self.names(other.query(userName='moved')),
                         ['0000002'])
        self.assertEqual(len(other.query(userName='u1')), 4)
        self.assertEqual(other.query(userName='u1')[-1].data,
                         {'i': 17, 'x': 1})
        # an abort undoes the changes followed
        storage['0000004'].userName = 'gone'
        storage.reindexTrack(storage['0000004'])
        tm.abort()
        self.assertEqual(len(storage.query(userName='gone')), 0)
        self.assertEqual(len(storage.query(userName='u3')), 5)

    def test_two_merges_at_once(self):
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        for i in range(50):
            one.saveUserTrack('quiz', 0, 'alice', {'i': i})
        tm1.commit()
        tm2.begin()
        for i in range(50):
            two.saveUserTrack('quiz', 0, 'bob', {'i': i})
        tm2.commit()
        tm1.begin()
        tm2.begin()
        self.assertEqual(one.indexPending(), 100)
        self.assertEqual(two.indexPending(), 100)
        tm1.commit()
        with self.assertRaises(ConflictError):
            tm2.commit()
        tm2.abort()
        for attempt in tm2.attempts():
            with attempt:
                self.assertEqual(two.indexPending(), 0)
        tm1.begin()
        timeline = list(one._index.timeline.values())
        self.assertEqual(len(timeline), 100)
        self.assertEqual(len(set(timeline)), 100)
        self.assertEqual(one.checkIndexes(), [])
        self.assertEqual(len(one.query(userName='bob')), 50)

    def test_last_user_track_changed_in_place(self):
        # as stored (and indexed) until the commit stores the change, like
        # the answer of every query
        storage, tm = self.connection()
        first = storage.saveUserTrack('quiz', 0, 'u', {}, timeStamp=1000)
        second = storage.saveUserTrack('quiz', 0, 'u', {}, timeStamp=2000)
        storage.indexPending()
        tm.commit()
        run = storage[second].runId
        storage[second].taskId = 'other'
        self.assertEqual(storage.getLastUserTrack('quiz', run, 'u').__name__,
                         second)
        self.assertEqual(self.names(storage.query(taskId='quiz')),
                         [first, second])
        tm.commit()
        self.assertEqual(storage.getLastUserTrack('quiz', run, 'u').__name__,
                         first)
        self.assertEqual(storage.getLastUserTrack('other', run, 'u'),
                         storage[second])

    def test_merged_every_merge_size_tracks(self):
        storage, tm = self.connection()
        storage.mergeSize = 100
        for i in range(400):
            storage.saveUserTrack('quiz', 0, 'alice', {'i': i})
        # merged on the way: at most 1.5 times the size is pending
        self.assertLessEqual(len(storage._pending()), 150 + 100)
        self.assertGreater(len(storage._index.timeline), 0)
        self.assertEqual([t.data['i'] for t in storage.query(taskId='quiz')],
                         list(range(400)))
        tm.commit()
        self.assertEqual(storage.checkIndexes(), [])


class MergeGuardTest(unittest.TestCase):
    """A merge and a change of a pending track in another transaction at
    the same time conflict (mergeguard.py); changes of pending tracks at
    once do not. In a FileStorage, which resolves conflicts."""

    def setUp(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        self.db = DB(FileStorage(os.path.join(directory, 'Data.fs')))
        self.addCleanup(self.db.close)
        with self.db.transaction() as conn:
            conn.root()['tracks'] = storage = TrackingStorage()
            for i, user in enumerate(('alice', 'alice', 'bob')):
                storage.saveUserTrack('quiz', 0, user, {'n': i},
                                      timeStamp=1700000000 + 10 * i)

    connection = DatabaseTest.connection

    def assertIndexed(self, storage, tm):
        tm.begin()
        self.assertEqual(storage.checkIndexes(), [])
        for result in (storage.query(), storage.query(userName='alice'),
                       storage.query(timeFrom=1700000005)):
            stamps = [t.timeStamp for t in result]
            self.assertEqual(stamps, sorted(stamps))
            self.assertEqual(len(set(t.__name__ for t in result)),
                             len(result))

    def retried(self, tm, change):
        with self.assertRaises(ConflictError):
            tm.commit()
        tm.abort()
        for attempt in tm.attempts():
            with attempt:
                change()

    def test_a_merge_and_an_update_at_once(self):
        for mergeFirst in (True, False):
            with self.subTest(mergeFirst=mergeFirst):
                self.setUp()
                one, tm1 = self.connection()
                two, tm2 = self.connection()
                self.assertEqual(one.indexPending(), 3)
                two.updateTrack(two['0000001'], {'n': 9})
                first, second = (tm1, tm2) if mergeFirst else (tm2, tm1)
                first.commit()
                self.retried(second, (
                    lambda: two.updateTrack(two['0000001'], {'n': 9}))
                    if mergeFirst else one.indexPending)
                self.assertIndexed(one, tm1)
                self.assertEqual(self.names(one.query(timeFrom=1700000005)),
                                 ['0000002', '0000003', '0000001'])
                self.assertEqual(
                    one.getLastUserTrack('quiz', 0, 'alice').__name__,
                    '0000001')
                one.updateTrack(one['0000001'], {'n': 10})
                tm1.commit()
                self.assertIndexed(one, tm1)
                self.assertEqual(len(one.query(userName='alice')), 2)

    def test_a_merge_and_a_change_in_place_or_a_removal_at_once(self):
        def rename(storage):
            storage['0000001'].userName = 'carol'

        def remove(storage):
            storage.removeTrack(storage['0000001'])
        for change in (rename, remove):
            with self.subTest(change=change.__name__):
                self.setUp()
                one, tm1 = self.connection()
                two, tm2 = self.connection()
                one.indexPending()
                change(two)
                tm1.commit()
                self.retried(tm2, lambda: change(two))
                self.assertIndexed(one, tm1)
                self.assertEqual(len(one.query(userName='alice')), 1)
                self.assertEqual(len(one.query(userName='carol')),
                                 1 if change is rename else 0)

    def test_a_merge_and_a_change_of_data_alone_at_once(self):
        # (no index holds the data: both commit, and all is indexed)
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        one.indexPending()
        two['0000001'].data['n'] = 9
        tm1.commit()
        tm2.commit()
        self.assertIndexed(one, tm1)
        self.assertEqual(one['0000001'].data, {'n': 9})
        self.assertEqual(self.names(one.query(userName='alice')),
                         ['0000001', '0000002'])

    def test_changes_of_pending_tracks_at_once_add_up(self):
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        counted = one._pendingChanges()
        one.updateTrack(one['0000001'], {'n': 5})
        two.removeTrack(two['0000003'])
        # (what each counts, added up at the commit of the second)
        here, there = (storage._pendingChanges() - counted
                       for storage in (one, two))
        tm1.commit()
        tm2.commit()
        tm1.begin()
        self.assertGreater(min(here, there), 0)
        self.assertEqual(one._pendingChanges(), counted + here + there)
        self.assertEqual([t.data['n'] for t in one.query()], [1, 5])
        self.assertIndexed(one, tm1)

    def test_others_follow_changes_of_pending_tracks(self):
        # (the tracks changed read anew, not all pending tracks)
        reader, tm = self.connection()
        pending = reader._pending()
        one, tm1 = self.connection()
        two, tm2 = self.connection()
        one.updateTrack(one['0000001'], {'n': 9})
        two['0000002'].userName = 'carol'
        two.reindexTrack(two['0000002'])
        two.removeTrack(two['0000003'])
        tm1.commit()
        tm2.commit()
        tm.begin()
        self.assertIs(reader._pending(), pending)
        self.assertEqual(self.names(reader.query(userName='alice')),
                         ['0000001'])
        self.assertEqual(reader.query(userName='alice')[0].data, {'n': 9})
        self.assertEqual(self.names(reader.query(userName='carol')),
                         ['0000002'])
        self.assertEqual(reader.query(userName='bob'), [])
        self.assertIndexed(reader, tm)

    def test_changes_here_resolved_after_others_are_followed(self):
        # (the commit of the second is resolved: its own changes are
        # numbered after the other's, which it follows all the same)
        for removal in (False, True):
            with self.subTest(removal=removal):
                self.setUp()
                one, tm1 = self.connection()
                two, tm2 = self.connection()
                for storage in (one, two):
                    storage.query(userName='alice')
                track = one['0000001']
                track.userName = 'carol'
                one.reindexTrack(track)
                if removal:
                    two.removeTrack(two['0000002'])
                else:
                    two['0000002'].userName = 'dave'
                    two.reindexTrack(two['0000002'])
                tm2.commit()
                tm1.commit()
                tm1.begin()
                self.assertEqual(self.names(one.query(userName='carol')),
                                 ['0000001'])
                self.assertEqual(self.names(one.query(userName='dave')),
                                 [] if removal else ['0000002'])
                self.assertEqual(one.query(userName='alice'), [])
                self.assertEqual(len(one.query()), 2 if removal else 3)
                self.assertIndexed(one, tm1)

    def test_too_many_changes_or_untold_ones_are_read_anew(self):
        reader, tm = self.connection()
        writer, tm1 = self.connection()
        for i in range(LOG_SIZE + 1):
            writer.updateTrack(writer['0000001'], {'n': i})
        tm1.commit()
        pending = reader._pending()
        tm.begin()
        self.assertIsNot(reader._pending(), pending)
        self.assertEqual(reader['0000001'].data, {'n': LOG_SIZE})
        pending = reader._pending()
        writer.updateTrack(writer['0000001'], {'n': -1})
        writer._pendingTracksChanged()      # (a change not told)
        tm1.commit()
        tm.begin()
        self.assertIsNot(reader._pending(), pending)
        self.assertEqual(reader.query(userName='alice')[-1].data, {'n': -1})

    def test_the_logs_of_changes_at_once_are_joined(self):
        old = {'changes': 5, 'merges': 1, 'logFrom': 2,
               'log': ((4, 10), (6, 11))}
        committed = dict(old, changes=7, log=old['log'] + ((7, 12), (8, 13)))
        new = dict(old, changes=6, log=old['log'] + ((7, 14),))
        resolved = PendingChanges()._p_resolveConflict(old, committed, new)
        self.assertEqual(resolved['changes'], 8)
        self.assertEqual(resolved['log'],
                         ((4, 10), (6, 11), (7, 12), (8, 13), (9, 14)))
        self.assertEqual(resolved['logFrom'], 2)
        # a change here the log does not tell: complete from then on only
        new = dict(old, changes=7, logFrom=8, log=((8, 14),))
        resolved = PendingChanges()._p_resolveConflict(old, committed, new)
        self.assertEqual((resolved['logFrom'], resolved['log'][-1]),
                         (10, (10, 14)))

    def test_a_value_growing_to_many_keys_resolves_with_others(self):
        # (a value's keys packed alone, then with a set or chunks: BTrees'
        # conflict resolution compares them; different values of one
        # bucket changed at once resolve)
        for name, grown in (('userName', SMALL_ENTRIES), ('taskId', SMALL)):
            with self.subTest(index=name):
                self.setUp()
                one, tm1 = self.connection()
                for i in range(grown):
                    one.saveUserTrack('big', 0, 'big', {}, timeStamp=1e9 + i)
                one.indexPending()
                tm1.commit()
                two, tm2 = self.connection()
                one.saveUserTrack('big', 0, 'big', {}, timeStamp=2e9)
                one.indexPending()
                tree = one._index.users if name == 'userName' else \
                    one._index.values['taskId']
                self.assertIs(type(tree['big']), Tailed)
                moved = two['0000003']
                moved.userName = moved.taskId = 'other'
                tm1.commit()
                tm2.commit()
                self.assertIndexed(one, tm1)
                self.assertEqual(len(one.query(userName='other')), 1)
                self.assertEqual(len(one.query(taskId='big')), grown + 1)

    def test_a_storage_counting_in_a_length_counts_on(self):
        one, tm1 = self.connection()
        one._pendingChanges = Length(7)
        tm1.commit()
        one['0000001'].userName = 'carol'
        tm1.commit()
        self.assertIs(type(one._pendingChanges), PendingChanges)
        self.assertGreater(one._pendingChanges(), 7)
        two, tm2 = self.connection()
        one.indexPending()
        two['0000002'].userName = 'dave'
        tm1.commit()
        with self.assertRaises(ConflictError):
            tm2.commit()

    def test_tracks_indexed_at_another_time_or_twice_are_reported(self):
        storage, tm = self.connection()
        storage.indexPending()
        record = decodeRecord(storage._records[2])
        record[3] += 1
        storage._records[2] = encodeRecord(record)
        timeline = storage._index.timeline
        timeline[timeline.maxKey() + 64] = 3
        self.assertEqual(storage.checkIndexes()[:2], [
            'timeline: twice track 0000003',
            'timeline: at another time tracks 0000002, 0000003'])

    names = DatabaseTest.names


class ParentTrack(Track):
    """A track class with an index on a data field."""

    index_attributes = ('taskId', 'runId', 'userName', 'timeStamp',
                        'parent')


class PendingIndexTest(unittest.TestCase):

    def ids(self, pending, taskId):
        return [i for key, i in pending.tracksOfValue('taskId', taskId)]

    def test_tracks_added_in_a_row_and_again(self):
        pending = PendingIndex()
        pending.add(1, {'taskId': 'a', 'timeStamp': 1.0})
        pending.addAll([2, 3], iter([{'taskId': 'a', 'timeStamp': 2.0},
                                     {'taskId': 'b', 'timeStamp': 3.0}]))
        self.assertEqual(self.ids(pending, 'a'), [1, 2])
        # tracks added again are indexed by their new values alone
        pending.addAll([1, 4], [{'taskId': 'b', 'timeStamp': 1.0},
                                {'taskId': 'b', 'timeStamp': 4.0}])
        self.assertEqual(self.ids(pending, 'a'), [2])
        self.assertEqual(self.ids(pending, 'b'), [1, 3, 4])
        self.assertEqual(len(pending), 4)

    def test_an_order_given_out_stays_as_it_was(self):
        pending = PendingIndex()
        pending.addAll([1, 2], [{'taskId': 'a', 'timeStamp': 2.0},
                                {'taskId': 'a', 'timeStamp': 1.0}])
        found = pending.tracksOfValue('taskId', 'a')
        self.assertEqual([i for key, i in found], [2, 1])
        # asked again, unchanged: the same order, not sorted again
        self.assertIs(pending.tracksOfValue('taskId', 'a'), found)
        pending.add(3, {'taskId': 'a', 'timeStamp': 1.5})
        pending.remove(1)
        self.assertEqual([i for key, i in found], [2, 1])
        self.assertEqual(self.ids(pending, 'a'), [2, 3])
        self.assertEqual(pending.lastOf('taskId', 'a')[1], 3)
        self.assertIsNone(pending.lastOf('taskId', 'b'))

    def test_a_time_range_includes_both_ends(self):
        pending = PendingIndex()
        # three tracks in one microsecond, one before and one after it
        times = [1.000001, 2.0, 2.0, 2.0, 2.000001]
        pending.addAll([1, 2, 3, 4, 5], [{'taskId': 'a', 'timeStamp': t}
                                         for t in times])

        def inTime(low, high):
            return [i for key, i in
                    pending.tracksInTime('taskId', 'a', low, high)]
        self.assertEqual(inTime(2000000, 2000000), [2, 3, 4])
        self.assertEqual(inTime(1000002, 1999999), [])
        self.assertEqual(inTime(1000001, 2000000), [1, 2, 3, 4])
        self.assertEqual(inTime(2000000, None), [2, 3, 4, 5])
        self.assertEqual(inTime(None, 1000001), [1])
        self.assertEqual(inTime(None, None), [1, 2, 3, 4, 5])
        self.assertEqual(pending.tracksInTime('taskId', 'b', None, None), ())

    def test_each_name_is_indexed_when_first_asked_for(self):
        def values(taskId, userName, timeStamp):
            return {'taskId': taskId, 'userName': userName,
                    'timeStamp': timeStamp}
        pending = PendingIndex()
        pending.addAll([1, 2], [values('a', 'u', 1.0), values('b', 'u', 2.0)])
        self.assertEqual(pending.values('userName'), {'u'})
        self.assertEqual(pending._byName.keys(), {'userName'})
        # a track added since is indexed by the next lookup, for every
        # name asked for before; a name asked for first, from the tracks
        pending.add(3, values('a', 'v', 3.0))
        self.assertEqual(pending._added, [3])
        self.assertEqual(pending.values('taskId'), {'a', 'b'})
        self.assertEqual(pending._added, [])
        self.assertEqual(self.ids(pending, 'a'), [1, 3])
        self.assertEqual(
            [i for key, i in pending.tracksOfValue('userName', 'v')], [3])
        pending.add(4, values('c', 'v', 4.0))
        self.assertEqual(self.ids(pending, 'c'), [4])
        self.assertEqual(
            [i for key, i in pending.tracksOfValue('userName', 'v')], [3, 4])
        self.assertEqual(pending._byName.keys(), {'userName', 'taskId'})

    def test_the_runs_asked_for_are_kept_up_to_a_limit(self):
        from cybertools.tracking import pending as module
        self.addCleanup(setattr, module, 'MOST_KEPT', module.MOST_KEPT)
        module.MOST_KEPT = 5
        pending = PendingIndex()
        pending.add(1, {'taskId': 't', 'runId': 3, 'userName': 'u',
                        'timeStamp': 1.0})
        for run in range(20):
            found = [i for key, i in pending.userTracks('t', run, 'u')]
            self.assertEqual(found, [1] if run == 3 else [], run)
            self.assertLessEqual(len(pending._ordered), 5)
        # a track added since is in the next answer
        pending.add(2, {'taskId': 't', 'runId': 19, 'userName': 'u',
                        'timeStamp': 2.0})
        self.assertEqual([i for key, i in pending.userTracks('t', 19, 'u')],
                         [2])

    def test_lookups_agree_with_the_tracks_whatever_the_order(self):
        # random adds, re-adds and removals, and lookups by one name or
        # the other or of a user's run between them, against the tracks
        # themselves
        rnd = random.Random(17)
        for run in range(40):
            pending, model = PendingIndex(), {}
            for step in range(60):
                action = rnd.random()
                if action < 0.4:
                    trackId = rnd.randrange(20)
                    values = {'taskId': rnd.choice('ab'),
                              'runId': rnd.choice([1, 2]),
                              'userName': rnd.choice(['u', 'v', None]),
                              'timeStamp': float(rnd.randrange(5))}
                    if rnd.random() < 0.5:
                        pending.add(trackId, values)
                    else:
                        pending.addAll([trackId], [values])
                    model[trackId] = values
                elif action < 0.55:
                    trackId = rnd.randrange(20)
                    pending.remove(trackId)
                    model.pop(trackId, None)
                elif action < 0.8:
                    name = rnd.choice(['taskId', 'userName'])
                    value = rnd.choice(['a', 'b', 'u', 'v'])
                    expected = sorted(
                        (values['timeStamp'], trackId)
                        for trackId, values in model.items()
                        if values[name] == value)
                    found = [(pending.entries[i]['timeStamp'], i)
                             for key, i in pending.tracksOfValue(name, value)]
                    self.assertEqual(found, expected, (run, step))
                    self.assertEqual(
                        pending.values(name),
                        {values[name] for values in model.values()} - {None})
                else:
                    asked = (rnd.choice('ab'), rnd.choice([1, 2]),
                             rnd.choice(['u', 'v']))
                    expected = sorted(
                        (values['timeStamp'], trackId)
                        for trackId, values in model.items()
                        if (values['taskId'], values['runId'],
                            values['userName']) == asked)
                    found = [(pending.entries[i]['timeStamp'], i)
                             for key, i in pending.userTracks(*asked)]
                    self.assertEqual(found, expected, (run, step))


class MixedKindsTest(unittest.TestCase):
    """Two writers at once save the first values of one index, of two
    kinds: both commit, and the storage keeps working."""

    def test_a_string_and_a_number_at_once(self):
        db = DB(DemoStorage())
        self.addCleanup(db.close)
        with db.transaction() as conn:
            conn.root()['tracks'] = TrackingStorage(trackFactory=ParentTrack)
        managers = [transaction.TransactionManager() for i in range(2)]
        storages = []
        for tm in managers:
            conn = db.open(transaction_manager=tm)
            self.addCleanup(conn.close)
            self.addCleanup(tm.abort)
            storages.append(conn.root()['tracks'])
        storages[0].startRun('t')
        managers[0].commit()
        for tm in managers:
            tm.begin()
        first = storages[0].saveUserTrack('t', 0, 'u', {'parent': 'p-1'})
        second = storages[1].saveUserTrack('t', 0, 'v', {'parent': 5})
        managers[0].commit()
        managers[1].commit()
        managers[0].begin()
        storage = storages[0]
        self.assertEqual([t.__name__ for t in storage.query(parent='p-1')],
                         [first])
        self.assertEqual([t.__name__ for t in storage.query(parent=5)],
                         [second])
        storage.indexPending()
        self.assertEqual([t.__name__ for t in storage.query(parent='p-1')],
                         [first])
        problems = storage.checkIndexes()
        self.assertEqual(len(problems), 1)
        self.assertIn("index 'parent': track %s not indexed" % second,
                      problems[0])
        storage.reindexTracks()
        self.assertEqual(len(storage.checkIndexes()), 1)
        self.assertEqual(len(storage.query(taskId='t')), 2)


class OrderTest(unittest.TestCase):
    """Merged and pending tracks come in one order: by time stamp, then
    by save order; the same in every way of reading a result."""

    def test_a_change_that_keeps_the_time_keeps_the_place(self):
        # (tracks of one time stamp in save order, however merged)
        for merged in (False, True):
            with self.subTest(merged=merged):
                storage = TrackingStorage()
                for user in ('a', 'b', 'c'):
                    storage.saveUserTrack('quiz', 0, user, {},
                                          timeStamp=1700000000)
                if merged:
                    storage.indexPending()
                storage.setTrackData(storage['0000002'], {'x': 1})
                storage['0000003'].data['y'] = 2
                storage['0000001'].userName = 'd'
                storage.indexPending()
                for result in (storage.query(taskId='quiz'),
                               storage.query(timeFrom=1700000000),
                               storage.query()):
                    self.assertEqual([t.__name__ for t in result],
                                     ['0000001', '0000002', '0000003'])
                self.assertEqual([t.__name__ for t in
                                  storage.query(userName='d')], ['0000001'])
                self.assertEqual(storage.query(userName='a'), [])
                self.assertEqual(storage.checkIndexes(), [])

    def test_merged_and_pending_in_one_order(self):
        rnd = random.Random(7)
        storage = TrackingStorage()
        stamps = [1700000000 + rnd.randrange(50) for i in range(300)]
        for i, stamp in enumerate(stamps):
            storage.saveUserTrack('t', 0, 'u%i' % (i % 3), {'i': i},
                                  timeStamp=stamp)
            if i == 150:
                storage.indexPending()
        expected = sorted(range(300), key=lambda i: (stamps[i], i))
        result = storage.query(taskId='t')
        self.assertTrue(result.pending and result.keys)
        self.assertEqual([t.data['i'] for t in result], expected)
        self.assertEqual([t.data['i'] for t in reversed(result)],
                         expected[::-1])
        self.assertEqual([result[n].data['i'] for n in range(300)], expected)
        self.assertEqual([t.data['i'] for t in result[10:200:3]],
                         expected[10:200:3])
        for user in ('u0', 'u1', 'u2'):
            mine = [i for i in expected if i % 3 == int(user[1])]
            self.assertEqual(
                [t.data['i'] for t in storage.query(userName=user)], mine)

    def test_last_user_track_with_few_and_many_tracks(self):
        # a user's keys are packed while few, a tree set when many: the
        # latest track of a run is found either way
        rnd = random.Random(8)
        storage = TrackingStorage()
        saved = {}
        runs = {task: storage.startRun(task) for task in ('a', 'b', 'c')}
        shared = storage.startRun()     # a run without a task
        for i in range(400):
            user = 'many' if i % 4 else 'few%i' % (i % 3)
            task = rnd.choice('abc')
            run = shared if rnd.random() < 0.2 else runs[task]
            name = storage.saveUserTrack(task, run, user, {'i': i},
                                         timeStamp=1700000000 + rnd.random())
            stamp = storage[name].timeStamp
            key = (task, run, user)
            if key not in saved or saved[key][0] <= stamp:
                saved[key] = (stamp, name)
        storage.indexPending()
        self.assertGreater(len(storage.query(userName='many')), 64)
        for (task, run, user), (stamp, name) in saved.items():
            self.assertEqual(
                storage.getLastUserTrack(task, run, user).__name__, name)
        self.assertIsNone(storage.getLastUserTrack('a', shared, 'nobody'))

    def test_last_user_track_older_than_a_merged_one(self):
        # time stamps can be given: a track saved after a merge may be
        # older than a merged one, and is not the last then
        storage = TrackingStorage()
        storage.saveUserTrack('t', 0, 'u', {'i': 'new'}, timeStamp=2000)
        storage.indexPending()
        storage.saveUserTrack('t', 0, 'u', {'i': 'old'}, timeStamp=1000)
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u').data['i'],
                         'new')
        storage.saveUserTrack('t', 0, 'u', {'i': 'same'}, timeStamp=2000)
        last = storage.getLastUserTrack('t', 0, 'u')
        self.assertEqual(last.data['i'], 'same')
        self.assertIs(last, storage.getUserTracks('t', 0, 'u')[-1])

    def test_progress_of_reindexing_and_checking(self):
        storage = TrackingStorage()
        for i in range(2500):
            storage.saveUserTrack('t', 0, 'u', {}, timeStamp=1700000000 + i)
        storage.indexPending()
        reports = []
        storage.reindexTracks(progress=reports.append)
        self.assertEqual(reports, [1000, 1000, 500])
        reports = []
        self.assertEqual(storage.checkIndexes(progress=reports.append), [])
        self.assertEqual(reports, [1000, 1000, 500])


class TimeRangeTest(unittest.TestCase):
    """The tracks of one task or user in a time range, read from the keys
    in the range alone: the same as through the general criteria, for
    values of every size, merged, pending and crowded tracks."""

    def setUp(self):
        rnd = random.Random(9)
        self.storage = storage = TrackingStorage()
        self.stamps = {}
        tasks = ['few'] * 20 + ['some'] * 200 + ['many'] * 600
        rnd.shuffle(tasks)
        for i, task in enumerate(tasks):
            user = 'often' if i % 3 else 'seldom%i' % (i % 5)
            # mostly later and later (the latest keys of a value with many
            # go into its tail), the same second many times over (crowded)
            stamp = 1700000000 if i % 9 == 0 else \
                1700000000 + i * 2 + rnd.randrange(-20, 20) + rnd.random()
            name = storage.saveUserTrack(task, 0, user, {'i': i},
                                         timeStamp=stamp)
            self.stamps[name] = storage[name].timeStamp
            if i in (400, 700):
                storage.indexPending()
        self.assertTrue(storage._index.crowdedIds())
        self.assertIs(type(storage._index.values['taskId']['many']), Tailed)

    def expected(self, name, value, low, high):
        found = [t for t in self.storage.query(**{name: value})
                 if (low is None or t.timeStamp >= low) and
                 (high is None or t.timeStamp <= high)]
        return [t.__name__ for t in found]

    def test_the_same_as_through_the_criteria(self):
        storage = self.storage
        ranges = [(1700000500, 1700001200), (None, 1700000300.5),
                  (1700001500, None), (1700000000, 1700000000),
                  (1600000000, 1600000001), (None, None)]
        values = [('taskId', 'few'), ('taskId', 'some'), ('taskId', 'many'),
                  ('taskId', 'none'), ('userName', 'often'),
                  ('userName', 'seldom2')]
        for name, value in values:
            for low, high in ranges:
                times = {}
                if low is not None:
                    times['timeFrom'] = low
                if high is not None:
                    times['timeTo'] = high
                found = [t.__name__ for t in
                         storage.query(**{name: value}, **times)]
                self.assertEqual(found, self.expected(name, value, low, high),
                                 (name, value, low, high))
                general = storage.query(**{name: [value]}, **times)
                self.assertEqual([t.__name__ for t in general], found)

    def test_times_are_checked(self):
        with self.assertRaises(ValueError):
            self.storage.query(taskId='few', timeFrom=1700000200,
                               timeTo=1700000100)
        with self.assertRaises(TypeError):
            self.storage.query(taskId='few', timeFrom='today')
        self.assertEqual(len(self.storage.query(taskId='few', timeFrom=None)),
                         20)


class CrowdedTest(unittest.TestCase):
    """More tracks with one time stamp than keys for one microsecond (an
    import of whole seconds): the merge leaves them crowded, and they are
    found all the same, in order, and can be changed and removed."""

    STAMP = 1700000000
    KEYS = SEQ_MASK + 1     # the keys of one microsecond
    COUNT = KEYS + 19

    def setUp(self):
        self.db = DB(DemoStorage())
        self.addCleanup(self.db.close)
        self.tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=self.tm)
        self.addCleanup(conn.close)
        self.addCleanup(self.tm.abort)
        conn.root()['tracks'] = self.storage = TrackingStorage()
        self.tm.commit()
        self.storage.saveUserTrack('t', 0, 'early', {}, timeStamp=1000)
        self.names = [self.storage.saveUserTrack(
            't', 0, 'u%i' % (i % 2), {'i': i}, timeStamp=self.STAMP)
            for i in range(self.COUNT)]
        self.storage.saveUserTrack('t', 0, 'late', {}, timeStamp=2e9)

    def assertAllFound(self, storage, names):
        result = storage.query(taskId='t')
        self.assertEqual([t.__name__ for t in result][1:-1], names)
        self.assertEqual(len(result), len(names) + 2)
        self.assertEqual([t.__name__ for t in storage.query(
            timeFromTo=(self.STAMP, self.STAMP))], names)
        self.assertEqual([t.__name__ for t in storage.query(userName='u1')],
                         names[1::2])
        self.assertEqual(storage.getLastUserTrack('t', 0, 'u1').__name__,
                         names[1::2][-1])
        self.assertEqual(storage.getUserNames('t'),
                         ['early', 'late', 'u0', 'u1'])
        self.assertEqual(storage.checkIndexes(), [])

    def test_merged_and_found(self):
        storage = self.storage
        self.assertEqual(storage.indexPending(), self.COUNT + 2)
        self.assertEqual(len(storage._index.crowdedIds()),
                         self.COUNT - self.KEYS)
        self.assertAllFound(storage, self.names)
        self.tm.commit()
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        self.addCleanup(conn.close)
        self.assertAllFound(conn.root()['tracks'], self.names)
        # more of the same time stamp, merged later
        more = storage.saveUserTrack('t', 0, 'u1', {}, timeStamp=self.STAMP)
        storage.indexPending()
        self.assertAllFound(storage, self.names + [more])

    def test_changed_and_removed(self):
        storage = self.storage
        storage.indexPending()
        crowded = list(storage._index.crowdedIds())
        last = storage['%07i' % crowded[-1]]
        last.data['i'] = 'changed'
        self.tm.commit()
        self.assertEqual(storage.query(taskId='t')[-2].data['i'], 'changed')
        for trackId in crowded:
            storage.removeTrack(storage['%07i' % trackId])
        self.tm.commit()
        kept = [name for name in self.names
                if int(name) not in crowded]
        self.assertEqual(len(kept), self.KEYS)
        self.assertAllFound(storage, kept)
        self.assertEqual(list(storage._index.crowdedIds()), [])

    def test_reindexed(self):
        self.storage.reindexTracks()
        self.assertAllFound(self.storage, self.names)

    def test_a_later_track_of_the_time_stands_after_the_crowded_ones(self):
        # (also where a removal freed a key of the time, or all of them)
        storage = self.storage
        storage.indexPending()
        names = list(self.names)
        for count in (1, self.KEYS):
            # the last key of the time, then every key of it
            removed = [t.__name__ for t in storage.query(
                taskId='t', timeFromTo=(self.STAMP, self.STAMP))
                if int(t.__name__) not in storage._index.crowdedIds()]
            for name in removed[-count:]:
                storage.removeTrack(storage[name])
                names.remove(name)
            names.append(storage.saveUserTrack('t', 0, 'new', {},
                                               timeStamp=self.STAMP))
            storage.indexPending()
            self.assertInOrder(storage, names)
        for name in names:
            storage.removeTrack(storage[name])
        self.assertEqual(len(storage._index.crowdedTimes), 0)
        # no crowded track left: the time takes keys again
        name = storage.saveUserTrack('t', 0, 'new', {}, timeStamp=self.STAMP)
        storage.indexPending()
        self.assertEqual(list(storage._index.crowdedIds()), [])
        self.assertInOrder(storage, [name])

    def assertInOrder(self, storage, names):
        self.assertEqual([t.__name__ for t in storage.query(taskId='t')],
                         [storage.query(userName='early')[0].__name__] +
                         names +
                         [storage.query(userName='late')[0].__name__])
        self.assertEqual([t.__name__ for t in storage.query(
            timeFromTo=(self.STAMP, self.STAMP))], names)
        self.assertEqual(storage.getLastUserTrack('t', 0, 'new').__name__,
                         names[-1])
        self.assertEqual(storage.checkIndexes(), [])

    def test_a_result_kept_when_a_crowded_track_gets_a_key(self):
        storage = self.storage
        storage.indexPending()
        result = storage.query(taskId='t')
        expected = [t.__name__ for t in storage.query(taskId='t')]
        # a new time stamp: out of the crowd, into the indexes
        storage.updateTrack(storage[self.names[-1]], {'moved': True})
        self.assertEqual([t.__name__ for t in result], expected)
        self.assertEqual(storage.checkIndexes(), [])


class UserNamesTest(unittest.TestCase):
    """The users of a task are read from its tracks (there is no index
    of them): from its records for a small task, user by user for a task
    with a big share of all tracks; merged, pending and removed alike."""

    def setUp(self):
        self.storage = storage = TrackingStorage()
        for i in range(400):
            storage.saveUserTrack('big', 0, 'u%i' % (i % 7), {})
            if i % 40 == 0:
                storage.saveUserTrack('small%i' % (i % 3), 0, 'v%i' % i, {})
        storage.indexPending()

    def test_small_and_big_tasks(self):
        storage = self.storage
        self.assertEqual(storage.getUserNames('big'),
                         ['u%i' % i for i in range(7)])
        self.assertEqual(storage.getUserNames('small1'),
                         ['v160', 'v280', 'v40'])
        self.assertEqual(storage.getUserNames('nothing'), [])
        self.assertEqual(len(storage.getUserNames()), 17)

    def test_pending_and_removed(self):
        storage = self.storage
        storage.saveUserTrack('small1', 0, 'new', {})
        storage.saveUserTrack('big', 0, 'new', {})
        self.assertEqual(storage.getUserNames('small1'),
                         ['new', 'v160', 'v280', 'v40'])
        self.assertIn('new', storage.getUserNames('big'))
        self.assertIn('new', storage.getUserNames())
        for track in list(storage.query(userName=['v40', 'u3'])):
            storage.removeTrack(track)
        self.assertEqual(storage.getUserNames('small1'),
                         ['new', 'v160', 'v280'])
        self.assertNotIn('u3', storage.getUserNames('big'))
        self.assertNotIn('v40', storage.getUserNames())
        storage.indexPending()
        self.assertEqual(storage.getUserNames('small1'),
                         ['new', 'v160', 'v280'])


class CountTest(DatabaseTest):
    """A result of one value with a tree set of its own counts it from the
    value's count and lists its keys only when needed (MergedKeys), and
    stays what the query found all the same."""

    def setUp(self):
        super().setUp()
        self.storage, self.tm = self.connection()
        # more than index.SMALL tracks of one task: a tree set of its own
        # (and of its run); 50 of each of its four users (packed)
        for i in range(200):
            user = 'ann' if i % 4 == 1 else 'bob%i' % (i % 4)
            self.storage.saveUserTrack('big', 0, user,
                                       {'i': i}, timeStamp=1000 + i)
        self.storage.indexPending()
        self.tm.commit()

    def counts(self):
        index = self.storage._index
        return {name: dict(index.counts[name].items())
                for name in index.counts.keys()}

    def test_counts_follow_merges_and_removals(self):
        storage = self.storage
        self.assertEqual(self.counts(), {'taskId': {'big': 200},
                                         'runId': {1: 200}, 'userName': {}})
        for i in range(40):
            storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=2000 + i)
        storage.indexPending()
        self.assertEqual(self.counts()['userName'], {'ann': 90})
        storage.removeTrack(storage['0000002'])
        storage.updateTrack(storage['0000004'], {'i': -1})
        self.assertEqual(self.counts()['userName'], {'ann': 89})
        self.assertEqual(self.counts()['taskId'], {'big': 239})
        self.assertEqual(len(storage.query(userName='ann')), 89)
        # a user with chunks of entries (userentries.py), listed in order
        anns = [t for t in storage.query(taskId='big') if t.userName == 'ann']
        self.assertEqual(list(storage.query(userName='ann')), anns)
        self.assertEqual(storage.checkIndexes(), [])
        for track in list(storage.query(taskId='big')):
            storage.removeTrack(track)
        self.assertEqual(self.counts(), {'taskId': {}, 'runId': {},
                                         'userName': {}})
        self.assertEqual(storage.checkIndexes(), [])

    def test_a_wrong_count_is_reported(self):
        self.storage._index.counts['taskId']['big'] = 7
        self.assertEqual(self.storage.checkIndexes(),
                         ["taskId 'big': 7 counted, 200 keys"])

    def test_len_reads_the_count_alone(self):
        result = self.storage.query(taskId='big')
        self.assertEqual(len(result), 200)
        self.assertIsNone(result.merged._keys)
        self.assertEqual(len(list(result)), 200)

    def test_len_of_a_small_value_makes_no_key(self):
        # a value of few tracks keeps its keys packed with it: counted
        # from their bytes, unpacked when listed
        storage = self.storage
        for i in range(5):
            storage.saveUserTrack('small', 0, 'ann', {}, timeStamp=3000 + i)
        storage.indexPending()
        result = storage.query(taskId='small')
        self.assertEqual(len(result), 5)
        self.assertIsNone(result.merged._keys)
        storage.removeTrack(storage['0000203'])
        self.assertEqual(len(result), 5)
        self.assertEqual([t.__name__ for t in result],
                         ['0000201', '0000202', '0000204', '0000205'])

    def test_results_of_a_long_transaction_are_let_go(self):
        # a transaction making many queries holds only the results in use
        from cybertools.tracking.session import HELD_KEYS_CHECKED
        from cybertools.tracking.session import sessionOf
        storage = self.storage
        kept = storage.query(taskId='big')
        expected = self.names(storage.query(taskId='big'))
        for i in range(5 * HELD_KEYS_CHECKED):
            len(storage.query(taskId='big'))
        held = sessionOf(storage).heldKeys
        self.assertLessEqual(len(held), 2 * HELD_KEYS_CHECKED)
        self.assertIn(kept.merged, [ref() for ref in held])
        storage.removeTrack(storage['0000001'])
        storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=900)
        storage.indexPending()
        self.assertEqual(self.names(kept), expected[1:])

    def assertKeeps(self, change, pending=0):
        """A lazy result stays what its query found, whatever ``change``
        does before it is used."""
        storage = self.storage
        for i in range(pending):
            storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=1500 + i)
        result = storage.query(taskId='big')
        expected = self.names(storage.query(taskId='big'))
        self.assertEqual(len(result), 200 + pending)
        change()
        self.assertEqual(len(result), 200 + pending)
        found = [t.__name__ for t in result if t.__name__ in storage]
        self.assertEqual(found, [name for name in expected
                                 if name in storage])
        self.assertEqual(len(result[:]), len(result))

    def test_kept_through_a_merge(self):
        storage = self.storage

        def merge():
            for i in range(10):
                storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=900 + i)
            storage.indexPending()
        self.assertKeeps(merge, pending=3)

    def test_kept_through_removals_and_updates(self):
        storage = self.storage

        def change():
            storage.removeTrack(storage['0000001'])
            storage.updateTrack(storage['0000003'], {'x': 1})
            storage['0000007'].timeStamp = 5
            # a key given to another track: 0000010's time stamp again
            storage.removeTrack(storage['0000010'])
            storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=1009)
            storage.indexPending()
            storage['0000005'].taskId = 'other'
            self.tm.savepoint()
        self.assertKeeps(change)

    def test_a_track_removed_since_is_an_error_by_index(self):
        result = self.storage.query(taskId='big')
        self.storage.removeTrack(self.storage['0000001'])
        with self.assertRaises(KeyError):
            result[0]
        self.assertEqual(result[1].__name__, '0000002')

    def removedElsewhere(self, count):
        """Another connection, with the first tracks of the task removed
        in it (not committed)."""
        other, tm = self.connection()
        for track in list(other.query(taskId='big'))[:count]:
            other.removeTrack(track)
        return other, tm

    def test_kept_through_commits_of_others(self):
        def commitElsewhere():
            other, tm = self.removedElsewhere(50)
            other.saveUserTrack('big', 0, 'ann', {}, timeStamp=1)
            other.indexPending()
            tm.commit()
            self.tm.commit()
            self.tm.begin()
            self.assertEqual(len(self.storage.query(taskId='big')), 151)
        self.assertKeeps(commitElsewhere)

    def test_kept_through_an_abort(self):
        def abort():
            other, tm = self.removedElsewhere(10)
            tm.commit()
            self.tm.abort()
        self.assertKeeps(abort)

    def test_kept_through_a_restore_among_the_merged(self):
        storage = self.storage
        storage.removeTrack(storage['0000002'])
        result = storage.query(taskId='big')
        expected = self.names(storage.query(taskId='big'))
        # indexed at once: its id is below those merged
        storage.restoreTrack('0000002', 'big', 1, 'ann', 1001, {})
        self.assertEqual(len(storage.query(taskId='big')), 200)
        self.assertEqual(len(result), 199)
        self.assertEqual(self.names(result), expected)

    def test_keys_that_cannot_be_taken_fail_when_used(self):
        result = self.storage.query(taskId='big')

        class Broken:
            def __iter__(self):
                raise OSError('database gone')
        result.merged._set = Broken()
        # the abort itself goes through
        self.tm.abort()
        with self.assertRaisesRegex(OSError, 'database gone'):
            list(result)
        self.assertEqual(len(result), 200)

    def test_an_index_without_counts(self):
        # indexes made before there were counts count their sets
        index = self.storage._index
        del index.counts
        self.assertIsNone(index.counts)
        self.storage.saveUserTrack('big', 0, 'ann', {}, timeStamp=1)
        self.storage.indexPending()
        self.assertEqual(len(self.storage.query(taskId='big')), 201)
        self.assertEqual(self.storage.checkIndexes(), [])



class IndexReaderTest(DatabaseTest):
    """The commonest queries read the index through a reader that the
    session takes with its pending tracks (index.IndexReader): a new
    index, made in the same transaction or committed by another
    connection, is read at once."""

    def setUp(self):
        super().setUp()
        self.storage, self.tm = self.connection()
        for i in range(10):
            self.storage.saveUserTrack('quiz', 0, 'ann', {'i': i},
                                       timeStamp=1000 + i)
        self.storage.indexPending()
        self.tm.commit()

    def assertFindsAll(self, storage, count):
        self.assertEqual(len(storage.query(taskId='quiz')), count)
        self.assertEqual(len(self.names(storage.query(userName='ann'))),
                         count)
        self.assertEqual(len(storage.query(taskId='quiz', timeFrom=1000)),
                         count)
        last = storage.getLastUserTrack('quiz', 0, 'ann')
        self.assertEqual(last.data, {'i': count - 1})

    def saveAndMerge(self, storage, count):
        for i in range(count, count + 5):
            storage.saveUserTrack('quiz', 0, 'ann', {'i': i},
                                  timeStamp=1000 + i)
        storage.indexPending()

    def test_a_new_index_in_the_same_transaction(self):
        storage = self.storage
        self.assertFindsAll(storage, 10)
        storage.reindexTracks()
        # merged into the new index alone
        self.saveAndMerge(storage, 10)
        self.assertFindsAll(storage, 15)
        self.assertEqual(storage.checkIndexes(), [])

    def test_a_new_index_committed_elsewhere(self):
        self.assertFindsAll(self.storage, 10)
        other, tm = self.connection()
        other.reindexTracks()
        self.saveAndMerge(other, 10)
        tm.commit()
        self.tm.begin()
        self.assertFindsAll(self.storage, 15)

    def test_a_new_index_rolled_back(self):
        storage = self.storage
        self.assertFindsAll(storage, 10)
        savepoint = self.tm.savepoint()
        storage.reindexTracks()
        self.saveAndMerge(storage, 10)
        self.assertFindsAll(storage, 15)
        savepoint.rollback()
        self.assertFindsAll(storage, 10)
        # and the index it had is the one merged into
        self.saveAndMerge(storage, 10)
        self.assertFindsAll(storage, 15)
        self.assertEqual(storage.checkIndexes(), [])



class TailTest(DatabaseTest):
    """A value with a tree set of its own keeps its latest keys packed with
    the value (a tail, index.SMALL at most) and moves them into the set
    when the tail is full: queries, counts and removals see both."""

    def setUp(self):
        super().setUp()
        self.storage, self.tm = self.connection()
        self.times = {}         # track name: time stamp

    def save(self, count, start, step=1.0, user='ann'):
        for i in range(count):
            ts = start + i * step
            name = self.storage.saveUserTrack('big', 0, user, {}, timeStamp=ts)
            self.times[name] = ts
        self.storage.indexPending()
        self.tm.commit()

    def expected(self, low=None, high=None):
        return sorted((name for name, ts in self.times.items()
                       if (low is None or ts >= low) and
                       (high is None or ts <= high)),
                      key=lambda name: (self.times[name], name))

    def assertAgrees(self):
        storage = self.storage
        self.assertEqual(self.names(storage.query(taskId='big')),
                         self.expected())
        self.assertEqual(len(storage.query(taskId='big')), len(self.times))
        self.assertEqual(self.names(storage.query(taskId='big',
                                                  timeFrom=1150,
                                                  timeTo=1450)),
                         self.expected(1150, 1450))
        self.assertEqual(self.names(storage.query(taskId='big',
                                                  userName='bob')),
                         [name for name in self.expected()
                          if storage[name].userName == 'bob'])
        latest = self.expected()[-1]
        self.assertEqual(storage.getRun(taskId='big').end,
                         self.times[latest])
        self.assertEqual(storage.checkIndexes(), [])

    def parts(self):
        tail, keys = self.storage._index.values['taskId']['big']
        return len(tail) // 8, len(keys)

    def test_merges_fill_the_tail_and_then_the_set(self):
        from cybertools.tracking.index import SMALL
        self.save(SMALL + 10, 1000)         # a tree set: no tail yet
        for merge in range(8):
            self.save(37, 1200 + merge * 40, user='bob' if merge % 2 else
                      'ann')
            tail, inSet = self.parts()
            self.assertTrue(0 < tail <= SMALL)
            self.assertEqual(tail + inSet, len(self.times))
            self.assertAgrees()

    def test_older_keys_and_removals(self):
        from cybertools.tracking.index import SMALL
        self.save(SMALL + 10, 1000)
        self.save(20, 1300)
        self.save(5, 1100.5)                # older than the tail: the set
        self.assertEqual(self.parts()[0], 20)
        self.assertAgrees()
        storage = self.storage
        inTail, inSet = self.expected()[-1], self.expected()[0]
        for name in (inTail, inSet):
            storage.removeTrack(storage[name])
            del self.times[name]
        self.tm.commit()
        self.assertAgrees()
        for name in self.expected()[-20:]:
            storage.removeTrack(storage[name])
            del self.times[name]
        # the tail is empty now: later keys still go after the set's
        self.assertEqual(self.parts()[0], 0)
        self.save(3, 1250)
        self.save(3, 1600)
        self.assertAgrees()
