"""Tracks as ZODB citizens: one object per stored track in a connection,
changes stored at commit and undone by an abort; results that stay what
the query found; records of plain values."""

import gc
import json
import os
import pickle
import tempfile
import tracemalloc
import unittest

from unittest import mock

import transaction
from transaction.interfaces import DoomedTransaction
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from cybertools.tracking.btree import ANONYMOUS
from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.lanes import LANE_BITS
from cybertools.tracking.btree import parseTrackId
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.records import decodeRecords
from cybertools.tracking.records import encodeRecord
from cybertools.tracking.session import TrackSession
from cybertools.tracking.session import sessionOf


class ItemWithData(Track):
    data = {}


class ItemWithScore(Track):
    metadata_attributes = Track.metadata_attributes + ('score',)


class DatabaseTestCase(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.path = os.path.join(self.directory, 'Data.fs')
        self.db = DB(FileStorage(self.path))
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(self.tm)
        self.conn.root()['tracks'] = self.storage = TrackingStorage()
        for i in range(3):
            self.storage.saveUserTrack('quiz', 0, 'u%i' % i, {'n': i},
                                       timeStamp=1700000000 + i)
        self.tm.commit()

    def tearDown(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()
        for name in os.listdir(self.directory):
            os.remove(os.path.join(self.directory, name))
        os.rmdir(self.directory)

    def keepOneRecentTrack(self):
        """The session keeps one recent track: the cache holds one
        object."""
        self.db.setCacheSize(1)
        sessionOf(self.storage).followCacheSize()

    def addMerged(self, count):
        """More tracks like the first three, up to ``count`` in all,
        merged and committed."""
        for i in range(3, count):
            self.storage.saveUserTrack('quiz', 0, 'u%i' % i, {'n': i},
                                       timeStamp=1700000000 + i)
        self.storage.indexPending()
        self.tm.commit()

    def otherStorage(self, db=None):
        tm = transaction.TransactionManager()
        conn = (db or self.db).open(tm)
        self.addCleanup(conn.close)
        self.addCleanup(tm.abort)
        return conn.root()['tracks'], tm


class IdentityTest(DatabaseTestCase):

    def test_one_object_per_track(self):
        storage = self.storage
        track = storage['0000002']
        self.assertIs(storage['0000002'], track)
        self.assertIs(storage.query(userName='u1')[0], track)
        self.assertIs(storage.getLastUserTrack('quiz', 0, 'u1'), track)
        self.assertIs(storage.getUserTracks('quiz', 0, 'u1')[0], track)
        self.assertIs(list(storage.values())[1], track)

    def test_a_track_in_use_is_given_when_no_longer_recent(self):
        storage = self.storage
        session = sessionOf(storage)
        self.keepOneRecentTrack()
        storage.indexPending()
        first = storage['0000001']
        storage['0000002'], storage['0000003']
        self.assertNotIn(1, session.recent)
        self.assertIs(storage.query(taskId='quiz')[0], first)
        self.assertIs(list(storage.query(taskId='quiz'))[0], first)

    def test_a_track_making_room_is_referred_to_while_it_is_held(self):
        storage = self.storage
        session = sessionOf(storage)
        self.keepOneRecentTrack()
        held = storage['0000001']
        self.assertNotIn(1, session.tracks)     # recent: no reference
        storage['0000002']
        self.assertIn(1, session.tracks)
        storage['0000003']
        # nothing held the second: it went without a reference
        self.assertNotIn(2, session.tracks)
        self.assertIs(storage['0000001'], held)
        self.assertIs(storage.query(taskId='quiz')[0], held)

    def test_a_track_held_by_its_data_alone_stays_the_one_in_use(self):
        storage = self.storage
        self.keepOneRecentTrack()
        data = storage['0000001'].data
        storage['0000002'], storage['0000003']
        self.assertIs(storage['0000001'].data, data)
        data['n'] = 5
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 5})

    def test_the_recent_track_of_an_id_is_the_one_in_use(self):
        session = sessionOf(self.storage)
        old, new = ItemWithData('t', 1, 'u', {}), ItemWithData('t', 1, 'u', {})
        session.add(99, old)
        session.add(99, new, keep=False)
        self.assertNotIn(99, session.recent)
        session.add(99, old)
        session.add(99, new)
        self.assertIs(session.recent[99], new)
        self.assertEqual(list(session.recent)[-1], 99)

    def test_setting_data_is_stored_at_commit(self):
        track = self.storage['0000001']
        track.data = {'n': 10, 'extra': True}
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 10, 'extra': True})

    def test_changing_data_in_place_is_stored_and_reindexed(self):
        track = self.storage['0000001']
        track.data['n'] = 11
        track.data.setdefault('list', []).append({'deep': 1})
        track.userName = 'carol'
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data,
                         {'n': 11, 'list': [{'deep': 1}]})
        self.assertEqual([t.__name__ for t in other.query(userName='carol')],
                         ['0000001'])
        self.assertEqual(other.query(userName='u0'), [])
        self.assertEqual(other.checkIndexes(), [])

    def test_a_nested_change_after_the_track_is_gone_is_stored(self):
        items = self.storage['0000001'].data.setdefault('items', [])
        self.tm.commit()
        items.append(5)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data['items'], [5])

    def test_abort_undoes_changes(self):
        track = self.storage['0000001']
        track.data['n'] = 99
        track.taskId = 'other'
        self.tm.abort()
        self.assertEqual(track.data, {'n': 0})
        self.assertEqual(track.taskId, 'quiz')
        self.assertIs(self.storage['0000001'], track)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 0})

    def test_containers_taken_before_an_abort_stay_the_tracks(self):
        # as with persistent objects: after the abort they hold the stored
        # state, and a change through them is stored
        track = self.storage['0000001']
        track.data['items'] = [1]
        self.tm.commit()
        data, items = track.data, track.data['items']
        data['n'] = 99
        items.append(2)
        self.tm.abort()
        self.assertEqual((data, items), ({'n': 0, 'items': [1]}, [1]))
        self.assertIs(track.data, data)
        items.append(3)
        data['n'] = 7
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 7, 'items': [1, 3]})

    def test_containers_taken_before_an_update_stay_the_tracks(self):
        track = self.storage['0000001']
        data = track.data
        self.storage.updateTrack(track, {'m': 1})
        data['k'] = 2
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 0, 'm': 1, 'k': 2})

    def test_a_change_after_an_abort_is_stored(self):
        track = self.storage['0000001']
        track.data['n'] = 99
        self.tm.abort()
        track.data['n'] = 5
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 5})

    def test_a_saved_track_nobody_uses_is_freed_at_once(self):
        # its data is put in tracked containers (which refer back to the
        # track) only when read: until then no cycle keeps it for the
        # garbage collector
        session = sessionOf(self.storage)
        gc.disable()
        self.addCleanup(gc.enable)
        name = self.storage.saveUserTrack('quiz', 0, 'u9', {'n': [1]})
        self.assertIsNone(session.get(parseTrackId(name)))
        # and its weak reference went with it
        self.assertNotIn(parseTrackId(name), session.tracks)
        track = self.storage[name]
        track.data['n'].append(2)
        self.assertEqual(self.storage[name].data, {'n': [1, 2]})

    def test_a_class_with_data_of_its_own_tracks_changes(self):
        # a class attribute ``data`` (a default, as older code has it)
        # hides the lazy TrackData: the data is tracked at once instead
        storage = TrackingStorage(trackFactory=ItemWithData)
        self.conn.root()['items'] = storage
        name = storage.saveUserTrack('t', 0, 'u', {'n': [1]})
        self.tm.commit()
        storage[name].data['n'].append(2)
        self.tm.commit()
        self.assertEqual(decodeRecord(storage._records[parseTrackId(name)])[4],
                         {'n': [1, 2]})
        self.assertEqual(ItemWithData.data, {})

    def test_a_change_before_the_storage_is_in_a_database_is_kept(self):
        # in no database a change is stored at once, so it goes with the
        # storage into whatever connection (and transaction manager) it is
        # added to
        storage = TrackingStorage()
        name = storage.saveUserTrack('t', 0, 'u', {'n': [1]})
        track = storage[name]
        track.data['n'].append(2)
        track.userName = 'v'
        self.conn.root()['new'] = storage
        self.tm.commit()
        transaction.abort()     # the default manager's transaction
        other, tm = self.otherStorage()
        other = other._p_jar.root()['new']
        self.assertEqual(other[name].data, {'n': [1, 2]})
        self.assertEqual([t.__name__ for t in other.query(userName='v')],
                         [name])

    def test_an_invalid_change_in_no_database_is_refused(self):
        # refused at once, and undone: in the track and in the containers
        # taken out of it
        storage = TrackingStorage()
        name = storage.saveUserTrack('t', 0, 'u', {'n': 1, 'l': [1]})
        track = storage[name]
        data, items = track.data, track.data['l']
        with self.assertRaises(TypeError):
            data['n'] = object()
        with self.assertRaises(TypeError):
            items.append(object())
        with self.assertRaises(TypeError):
            track.userName = 5
        self.assertEqual((data, items), ({'n': 1, 'l': [1]}, [1]))
        self.assertEqual((track.data, track.userName), ({'n': 1, 'l': [1]},
                                                        'u'))
        self.assertEqual(decodeRecord(storage._records[parseTrackId(name)]),
                         ['t', 1, 'u', track.timeStamp, {'n': 1, 'l': [1]}])
        items.append(2)
        self.assertEqual(storage[name].data['l'], [1, 2])

    def test_an_invalid_change_fails_the_commit(self):
        # (metadata are checked at the commit; what cannot go into the
        # data is refused at once, see DataValueTest)
        track = self.storage['0000001']
        track.userName = 5
        with self.assertRaises(TypeError):
            self.tm.commit()
        self.tm.abort()
        self.assertEqual(self.storage['0000001'].userName, 'u0')

    def test_changes_of_other_connections_are_seen(self):
        track = self.storage['0000001']
        other, tm = self.otherStorage()
        other['0000001'].data['n'] = 7
        tm.commit()
        self.tm.begin()
        self.assertIs(self.storage['0000001'], track)
        self.assertEqual(track.data, {'n': 7})


    def test_an_aborted_save_leaves_no_track(self):
        name = self.storage.saveUserTrack('quiz', 0, 'u9', {'n': 9})
        track = self.storage[name]
        self.tm.abort()
        self.assertNotIn(name, self.storage)
        with self.assertRaises(KeyError):
            self.storage[name]
        self.assertEqual(len(self.storage.query(userName='u9')), 0)
        self.assertEqual(track.data, {'n': 9})     # the object, detached

    def test_a_track_removed_elsewhere_is_gone(self):
        self.storage['0000001']
        other, tm = self.otherStorage()
        other.removeTrack(other['0000001'])
        tm.commit()
        self.tm.begin()
        self.assertIsNone(self.storage.get('0000001'))
        self.assertEqual([t.__name__ for t in self.storage.values()],
                         ['0000002', '0000003'])


class CommitTest(DatabaseTestCase):
    """A change that cannot be stored fails the commit, and every later
    try to commit the transaction; nothing of it is stored."""

    def test_a_refused_change_dooms_the_transaction(self):
        first, second = self.storage['0000001'], self.storage['0000002']
        first.data['n'] = 100
        second.data['n'] = 200
        second.userName = 5
        with self.assertRaises(TypeError):
            self.tm.commit()
        with self.assertRaises(DoomedTransaction):
            self.tm.commit()
        self.tm.abort()
        self.assertEqual((first.data, second.data), ({'n': 0}, {'n': 1}))
        self.assertEqual(second.userName, 'u1')
        other, tm = self.otherStorage()
        self.assertEqual([t.data for t in other.values()],
                         [{'n': 0}, {'n': 1}, {'n': 2}])
        # the next transaction commits what it changes
        self.storage['0000003'].data['n'] = 300
        self.tm.commit()
        tm.begin()
        self.assertEqual(other['0000003'].data, {'n': 300})

    def test_a_change_by_a_later_before_commit_hook_is_stored(self):
        track = self.storage['0000001']
        track.data['n'] = 10
        txn = self.tm.get()
        txn.addBeforeCommitHook(lambda: self.storage['0000002'].data.update(
            n=20))
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual([t.data['n'] for t in other.values()], [10, 20, 2])

    def test_a_change_after_the_before_commit_hooks_fails_the_commit(self):
        storage = self.storage

        class Synchronizer:
            changes = [20]

            def beforeCompletion(self, txn):
                if self.changes:
                    storage['0000002'].data['n'] = self.changes.pop()

            def afterCompletion(self, txn):
                pass

            def newTransaction(self, txn):
                pass
        synchronizer = Synchronizer()
        self.tm.registerSynch(synchronizer)
        self.storage['0000001'].data['n'] = 10
        with self.assertRaisesRegex(RuntimeError, 'tracks 0000002 were '
                                    'changed after their changes were'):
            self.tm.commit()
        self.tm.abort()
        self.tm.unregisterSynch(synchronizer)
        other, tm = self.otherStorage()
        self.assertEqual([t.data['n'] for t in other.values()], [0, 1, 2])


class DataValueTest(DatabaseTestCase):
    """What goes into a stored track's data is what will be stored: made
    plain and checked when it goes in."""

    def test_values_are_made_as_they_will_be_stored(self):
        class Name(str):
            def __eq__(self, other):
                return True
            __hash__ = str.__hash__

        track = self.storage['0000001']
        track.data['tuple'] = ([1],)
        track.data['tuple'][0].append(2)
        track.data.update(name=Name('v'))
        track.data['list'] = []
        track.data['list'].extend([(3,), Name('w')])
        self.assertIs(type(track.data['name']), str)
        self.assertNotEqual(track.data['name'], 'other')
        self.assertEqual(track.data['list'], [[3], 'w'])
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, track.data)
        self.assertEqual(track.data['tuple'], [[1, 2]])

    def test_what_cannot_be_stored_is_refused_at_once(self):
        track = self.storage['0000001']
        data = track.data
        cycle = []
        cycle.append(cycle)
        for change, error in (
                (lambda: data.__setitem__('x', object()), TypeError),
                (lambda: data.__setitem__(1, 'x'), TypeError),
                (lambda: data.update({'a': 1, 'b': 'x\ud800'}), ValueError),
                (lambda: data.__setitem__('c', cycle), ValueError),
                (lambda: data.setdefault('d', [2 ** 64]), ValueError),
                (lambda: setattr(track, 'data', {'e': {1, 2}}), TypeError)):
            with self.assertRaises(error):
                change()
        self.assertEqual(track.data, {'n': 0})
        self.assertIs(track.data, data)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 0})

    def test_data_nesting_too_deep_in_all_fails_the_commit(self):
        deep = level = {}
        for i in range(45):
            level['k'] = level = {}
        track = self.storage['0000001']
        track.data['a'] = {'b': {'c': {'d': {'e': {}}}}}
        track.data['a']['b']['c']['d']['e']['f'] = deep
        with self.assertRaisesRegex(ValueError, 'deeper than 50'):
            self.tm.commit()
        self.tm.abort()
        self.assertEqual(track.data, {'n': 0})

    def test_containers_replaced_stay_the_tracks_after_an_abort(self):
        track = self.storage['0000001']
        track.data['l'] = [1]
        self.tm.commit()
        data, items = track.data, track.data['l']
        track.data = {'z': 1}
        track.data['l'] = [9]
        self.tm.abort()
        self.assertIs(track.data, data)
        self.assertIs(track.data['l'], items)
        self.assertEqual(data, {'n': 0, 'l': [1]})
        items.append(2)
        del data['n']
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'l': [1, 2]})

    def test_containers_replaced_stay_the_tracks_after_a_rollback(self):
        track = self.storage['0000001']
        track.data['l'] = [1]
        data, items = track.data, track.data['l']
        savepoint = self.tm.savepoint()
        data.pop('l')
        track.data = {'z': 1}
        savepoint.rollback()
        self.assertIs(track.data, data)
        self.assertIs(track.data['l'], items)
        items.append(2)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 0, 'l': [1, 2]})


class OwnContainerTest(DatabaseTestCase):
    """A list or dict of a track's data put into the data again: as itself
    where it was taken out (or stands where it goes), as a copy where it is
    in the data elsewhere, never into itself."""

    def setUp(self):
        super().setUp()
        self.track = self.storage['0000001']
        self.track.data['l'] = [[0]]
        self.tm.commit()
        self.data = self.track.data

    def stored(self):
        other, tm = self.otherStorage()
        return other['0000001'].data

    def test_into_itself_is_refused(self):
        data, items = self.data, self.data['l']
        for change in (lambda: items.append(items),
                       lambda: items[0].append(items),
                       lambda: data.__setitem__('self', data),
                       lambda: items.extend([items[0], items]),
                       lambda: data.update(x=data)):
            with self.assertRaisesRegex(ValueError, 'cannot go into itself'):
                change()
        self.assertEqual(data, {'n': 0, 'l': [[0]]})
        self.tm.savepoint()
        self.tm.commit()

    def test_at_a_second_place_it_is_a_copy(self):
        data, items = self.data, self.data['l']
        data['m'] = items
        items *= 2
        items.append(items[0])
        self.assertIsNot(data['m'], items)
        self.assertIsNot(items[1], items[0])
        items[0].append(1)
        self.tm.commit()
        self.assertEqual(self.stored(), data)
        self.assertEqual(data['l'], [[0, 1], [0], [0]])

    def test_where_it_stands_or_taken_out_it_is_itself(self):
        data, items = self.data, self.data['l']
        inner = items[0]
        data['l'] = items
        items[:] = reversed(items)
        items[0] = inner
        moved = data.pop('l')
        data.update(m=moved)
        self.assertIs(data['m'], items)
        self.assertIs(items[0], inner)
        inner.append(1)
        data.update(self=1)
        self.tm.commit()
        self.assertEqual(self.stored(), {'n': 0, 'm': [[0, 1]], 'self': 1})


class TouchedTrackTest(DatabaseTestCase):
    """A track stored or removed in a transaction, held, is given its state
    of before by an abort or a rollback, whichever joined the transaction
    first, the connection or the storage's session."""

    def changes(self):
        storage = self.storage
        yield 'update', lambda t: storage.updateTrack(t, {'n': 33})
        yield 'setTrackData', lambda t: storage.setTrackData(t, {'n': 33})

        def reindex(track):
            track.userName = 'moved'
            storage.reindexTrack(track)
        yield 'reindex', reindex

    def test_stored_then_aborted_or_rolled_back(self):
        for name, change in self.changes():
            for joinedFirst in (False, True):
                for rollback in (False, True):
                    with self.subTest(change=name, joinedFirst=joinedFirst,
                                      rollback=rollback):
                        track = self.storage['0000001']
                        if joinedFirst:
                            self.storage['0000002'].data['x'] = 1
                        savepoint = self.tm.savepoint()
                        change(track)
                        track.data['y'] = 2
                        if rollback:
                            savepoint.rollback()
                        else:
                            self.tm.abort()
                        self.assertEqual((track.userName, track.data),
                                         ('u0', {'n': 0}))
                        self.assertIs(self.storage['0000001'], track)
                        self.tm.abort()
                        track.data['z'] = 3
                        self.tm.commit()
                        other, tm = self.otherStorage()
                        self.assertEqual(other['0000001'].data,
                                         {'n': 0, 'z': 3})
                        del track.data['z']
                        self.tm.commit()

    def test_removed_then_aborted_or_rolled_back(self):
        for rollback in (False, True):
            with self.subTest(rollback=rollback):
                track = self.storage['0000001']
                before = dict(track.data)
                track.data['a'] = 1
                savepoint = self.tm.savepoint()
                self.storage.removeTrack(track)
                if rollback:
                    savepoint.rollback()
                    self.assertEqual(track.data, dict(before, a=1))
                else:
                    self.tm.abort()
                    self.assertEqual(track.data, before)
                self.assertIs(self.storage['0000001'], track)
                track.data['b'] = 2
                self.storage['0000001'].data['c'] = 3
                self.tm.commit()
                other, tm = self.otherStorage()
                self.assertEqual(other['0000001'].data,
                                 dict(track.data, c=3))
                self.assertEqual(len(other), 3)

    def test_a_change_of_a_track_removed_elsewhere_conflicts(self):
        track = self.storage['0000001']
        self.tm.commit()
        other, tm = self.otherStorage()
        other.removeTrack(other['0000001'])
        tm.commit()
        self.tm.begin()
        track.data['x'] = 1
        with self.assertRaisesRegex(ConflictError, 'removed after'):
            self.tm.commit()
        self.tm.abort()
        self.assertNotIn('0000001', self.storage)

    def test_containers_of_data_read_after_a_first_change(self):
        self.storage['0000001'].data['l'] = [1]
        self.tm.commit()
        storage, tm = self.otherStorage()
        track = storage['0000001']
        track.userName = 'again'     # (its data not read yet)
        data, items = track.data, track.data['l']
        data['l'] = [9]
        tm.abort()
        self.assertIs(track.data, data)
        self.assertIs(data['l'], items)
        items.append(2)
        tm.commit()
        self.tm.begin()
        self.assertEqual(self.storage['0000001'].data['l'], [1, 2])


class PooledConnectionTest(DatabaseTestCase):
    """ZODB's pool gives a connection out again with another transaction
    manager (``db.transaction()`` does every time): the storage's session
    takes part in that one's transactions."""

    def test_changes_are_stored_and_others_seen(self):
        self.tm.abort()
        self.conn.close()
        for step in range(3):
            with self.db.transaction() as conn:
                storage = conn.root()['tracks']
                self.assertIs(conn, self.conn)
                track = storage['0000001']
                self.assertEqual(track.data, {'n': step})
                track.data['n'] = step + 1
                track.userName = 'u%i' % (step + 10)
                self.assertEqual(len(storage.query(taskId='quiz')),
                                 3 + step)
                other, tm = self.otherStorage()
                other.saveUserTrack('quiz', 0, 'v%i' % step, {})
                tm.commit()
        with self.db.transaction() as conn:
            storage = conn.root()['tracks']
            self.assertEqual(storage['0000001'].data, {'n': 3})
            self.assertEqual(
                [t.__name__ for t in storage.query(userName='u12')],
                ['0000001'])
            self.assertEqual(storage.getUserNames('quiz'),
                             ['u1', 'u12', 'u2', 'v0', 'v1', 'v2'])
            self.assertEqual(storage.checkIndexes(), [])
        self.conn = self.db.open(self.tm)


class HeldTrackTest(DatabaseTestCase):
    """A track object kept from an earlier transaction, changed after
    another connection changed the track: its state would overwrite that
    change, so the commit fails with a ConflictError."""

    def changedElsewhere(self):
        other, tm = self.otherStorage()
        other['0000001'].data['n'] = 7
        other['0000001'].data['there'] = True
        tm.commit()

    def test_a_change_in_place_conflicts(self):
        track = self.storage['0000001']
        self.tm.commit()
        self.changedElsewhere()
        self.tm.begin()
        track.data['here'] = True
        with self.assertRaises(ConflictError):
            self.tm.commit()
        self.tm.abort()
        self.assertEqual(track.data, {'n': 7, 'there': True})
        for attempt in self.tm.attempts():
            with attempt:
                track.data['here'] = True
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data,
                         {'n': 7, 'there': True, 'here': True})

    def test_an_update_and_a_reindexing_conflict(self):
        track = self.storage['0000001']
        self.tm.commit()
        self.changedElsewhere()
        self.tm.begin()
        with self.assertRaises(ConflictError):
            self.storage.updateTrack(track, {'here': True})
        track.userName = 'moved'
        with self.assertRaises(ConflictError):
            self.storage.reindexTrack(track)
        self.tm.abort()
        self.assertEqual((track.userName, track.data),
                         ('u0', {'n': 7, 'there': True}))

    def test_a_track_looked_up_again_is_current(self):
        track = self.storage['0000001']
        self.tm.commit()
        self.changedElsewhere()
        self.tm.begin()
        self.assertIs(self.storage['0000001'], track)
        track.data['here'] = True
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data,
                         {'n': 7, 'there': True, 'here': True})


class SavepointTest(DatabaseTestCase):
    """Zope and Plone take savepoints in many requests: after a save, and
    with changed tracks."""

    def test_rollback_undoes_what_came_after(self):
        storage = self.storage
        track = storage['0000001']
        track.data['n'] = 10
        savepoint = self.tm.savepoint()
        track.data['n'] = 11
        storage['0000002'].userName = 'moved'
        name = storage.saveUserTrack('quiz', 0, 'u9', {'n': 9})
        storage.updateTrack(storage['0000003'], {'n': 33})
        savepoint.rollback()
        self.assertEqual(track.data, {'n': 10})
        self.assertEqual(storage['0000002'].userName, 'u1')
        self.assertNotIn(name, storage)
        self.assertEqual(storage['0000003'].data, {'n': 2})
        self.assertEqual(len(storage.query(taskId='quiz')), 3)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual([t.data['n'] for t in other.values()], [10, 1, 2])
        self.assertEqual(other.checkIndexes(), [])

    def test_containers_taken_before_a_rollback_stay_the_tracks(self):
        track = self.storage['0000001']
        savepoint = self.tm.savepoint()     # before the data was read
        data = track.data
        data['items'] = [1]
        items = data['items']
        inner = self.tm.savepoint()
        items.append(2)
        inner.rollback()
        self.assertEqual((data, items), ({'n': 0, 'items': [1]}, [1]))
        savepoint.rollback()
        self.assertEqual(data, {'n': 0})
        self.assertIs(track.data, data)
        data['n'] = 5
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other['0000001'].data, {'n': 5})

    def test_saves_after_a_rollback_are_kept(self):
        storage = self.storage
        savepoint = self.tm.savepoint()
        storage.saveUserTrack('quiz', 0, 'u8', {'n': 8})
        savepoint.rollback()
        name = storage.saveUserTrack('quiz', 0, 'u9', {'n': 9})
        self.assertEqual([t.userName for t in storage.query(taskId='quiz')],
                         ['u0', 'u1', 'u2', 'u9'])
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(other[name].data, {'n': 9})
        self.assertEqual(len(other), 4)

    def test_rollback_undoes_a_removal_asked_for(self):
        storage = self.storage
        storage.unindexTrack(None, storage['0000001'])
        savepoint = self.tm.savepoint()
        storage.unindexTrack(None, storage['0000002'])
        savepoint.rollback()
        self.tm.commit()
        self.assertEqual(list(storage), ['0000002', '0000003'])

    def test_saves_after_a_rollback_that_undid_a_new_lane(self):
        # (the other connection holds lane 0: a save here takes a lane of
        # its own, which the rollback undoes)
        other, tm = self.otherStorage()
        other.saveUserTrack('quiz', 0, 'u7', {'n': 7})
        tm.commit()
        storage = self.storage
        for joinedBefore in (False, True):
            with self.subTest(joinedBefore=joinedBefore):
                self.tm.begin()
                if joinedBefore:
                    # (then the rollback is ours, not an abort)
                    storage['0000003'].data['n'] = 3
                sessionOf(storage).lanes.clear()
                with mock.patch('cybertools.tracking.lanes._mayUseLaneZero',
                                return_value=False):
                    savepoint = self.tm.savepoint()
                    storage.saveUserTrack('quiz', 0, 'u8', {'n': 8})
                    savepoint.rollback()
                    name = storage.saveUserTrack('quiz', 0, 'u9', {'n': 9})
                self.assertGreater(parseTrackId(name), 1 << LANE_BITS)
                self.tm.commit()
                tm.begin()
                self.assertEqual(other.query(userName='u9')[-1].__name__,
                                 name)
                self.assertGreater(other.indexPending(), 0)
                self.assertEqual(other.query(userName='u9')[-1].__name__,
                                 name)
                self.assertEqual(other.checkIndexes(), [])
                tm.commit()

    def test_a_result_found_before_a_rollback_keeps_its_tracks(self):
        storage = self.storage
        storage.indexPending()
        self.tm.commit()
        for joinedBefore in (False, True):
            with self.subTest(joinedBefore=joinedBefore):
                if joinedBefore:
                    storage['0000003'].data['n'] = 3
                savepoint = self.tm.savepoint()
                storage.updateTrack(storage['0000001'], {'x': 1})
                result = storage.query(taskId='quiz')
                self.assertEqual(self.names(result),
                                 ['0000002', '0000003', '0000001'])
                savepoint.rollback()
                self.assertEqual(self.names(result),
                                 ['0000002', '0000003', '0000001'])
                self.assertEqual(result[2].__name__, '0000001')
                self.assertEqual(self.names(storage.query(taskId='quiz')),
                                 ['0000001', '0000002', '0000003'])
                self.tm.abort()

    def names(self, result):
        return [t.__name__ for t in result]

    def test_optimistic_savepoint_after_a_save(self):
        self.storage.saveUserTrack('quiz', 0, 'u9', {'n': 9})
        self.tm.savepoint(optimistic=True)
        self.tm.commit()
        other, tm = self.otherStorage()
        self.assertEqual(len(other), 4)

class ResultTest(DatabaseTestCase):

    def test_removing_while_iterating(self):
        for i in range(300):
            self.storage.saveUserTrack('t', 0, 'u', {'i': i})
        result = self.storage.query(taskId='t')
        for track in result:
            self.storage.removeTrack(track)
        self.assertEqual(len(self.storage.query(taskId='t')), 0)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_updating_while_iterating_visits_each_once(self):
        for i in range(50):
            self.storage.saveUserTrack('t', 0, 'u', {'i': i})
        seen = []
        for track in self.storage.query(taskId='t'):
            seen.append(track.__name__)
            self.storage.updateTrack(track, {'seen': True})
        self.assertEqual(len(seen), 50)
        self.assertEqual(len(set(seen)), 50)

    def test_len_and_slices_keep_what_was_found(self):
        result = self.storage.query()
        self.storage.saveUserTrack('quiz', 0, 'late', {})
        self.assertEqual(len(result), 3)
        self.assertEqual([t.userName for t in result[-2:]], ['u1', 'u2'])
        for track in list(self.storage.values()):
            self.storage.removeTrack(track)
        self.assertEqual(len(result), 3)

    def test_a_slice_leaves_out_a_track_removed_since(self):
        for merged in (False, True):
            for i in range(10):
                self.storage.saveUserTrack('t', 0, 'u', {'i': i})
            if merged:
                self.storage.indexPending()
            part = self.storage.query(taskId='t')[2:6]
            values = self.storage.values()
            self.storage.removeTrack(part[1])
            self.assertEqual([t.data['i'] for t in part], [2, 4, 5])
            self.assertEqual([t.data['i'] for t in reversed(part)],
                             [5, 4, 2])
            with self.assertRaises(KeyError):
                part[1]
            self.assertEqual(len(list(values)), len(values) - 1)
            for track in list(self.storage.query(taskId='t')):
                self.storage.removeTrack(track)

    def test_merged_tracks_in_use_of_two_lanes_are_read_anew(self):
        # the tracks of a result that the connection uses are given as
        # they are, unless changed since: here, by another connection,
        # whose tracks are in a lane of their own
        self.storage.saveUserTrack('quiz', 0, 'u3', {'n': 3},
                                   timeStamp=1700000003)
        self.tm.commit()
        other, tm = self.otherStorage()
        for i in range(3):
            other.saveUserTrack('quiz', 0, 'v%i' % i, {'n': 10 + i},
                                timeStamp=1700000010 + i)
        other.indexPending()
        tm.commit()
        self.tm.begin()
        names = [t.__name__ for t in self.storage.query(taskId='quiz')]
        self.assertEqual(len({int(name) >> LANE_BITS for name in names}), 2)
        tracks = list(self.storage.query(taskId='quiz'))
        self.assertEqual([t.data['n'] for t in tracks],
                         [0, 1, 2, 3, 10, 11, 12])
        other['0000002'].data['n'] = 21
        other[names[5]].data['n'] = 31
        other.removeTrack(other[names[6]])
        tm.commit()
        self.tm.begin()
        again = list(self.storage.query(taskId='quiz'))
        self.assertEqual([t.data['n'] for t in again],
                         [0, 21, 2, 3, 10, 31])
        self.assertEqual([id(t) for t in again], [id(t) for t in tracks[:6]])


class MadeAheadTest(DatabaseTestCase):
    """A result makes the tracks not in use some at a time, ahead of the
    one it gives out (btree's _idsAhead): what happens to a track made
    ahead before it is given out is seen when it is."""

    def setUp(self):
        super().setUp()
        self.addMerged(200)
        # a fresh connection, where no track is in use
        self.conn.close()
        self.conn = self.db.open(self.tm)
        self.storage = self.conn.root()['tracks']

    def test_tracks_made_ahead_are_the_ones_in_use(self):
        inUse = self.storage['0000100']
        result = iter(self.storage.query(taskId='quiz'))
        first = next(result)
        self.assertIs(self.storage['0000002'], next(result))
        later = self.storage['0000009']
        rest = list(result)
        self.assertIs(rest[6], later)
        self.assertIs(rest[97], inUse)
        self.assertEqual([first] + [self.storage['0000002']] + rest,
                         [self.storage[name] for name in self.storage])

    def test_tracks_made_ahead_are_made_as_one_by_one(self):
        self.storage.trackFactory = ItemWithScore
        self.tm.commit()
        other, tm = self.otherStorage()
        other['0000005'].score = 7
        tm.commit()
        self.tm.begin()
        ahead = {t.__name__: t for t in self.storage.query(taskId='quiz')}
        # a connection of a cache too small to make tracks ahead
        db = DB(self.db.storage, cache_size=2)
        self.addCleanup(db.close)
        other, tm = self.otherStorage(db)
        for track in other.query(taskId='quiz'):
            made = ahead[track.__name__]
            self.assertIs(type(made), type(track))
            state = dict(made.__dict__, __parent__=None, _session=None)
            self.assertEqual(
                state, dict(track.__dict__, __parent__=None, _session=None))
        self.assertEqual(ahead['0000005'].score, 7)

    def test_removed_and_changed_here_before_given_out(self):
        seen = []
        for track in self.storage.query(taskId='quiz'):
            seen.append(track.data['n'])
            if track.data['n'] == 0:
                self.storage.removeTrack(self.storage['0000003'])
                self.storage['0000004'].data['n'] = 'changed'
        self.assertEqual(seen[:4], [0, 1, 'changed', 4])
        self.assertEqual(len(seen), 199)

    def test_removed_and_changed_elsewhere_before_given_out(self):
        other, tm = self.otherStorage()
        seen = []
        for track in self.storage.query(taskId='quiz'):
            seen.append(track.data['n'])
            if track.data['n'] == 0:
                other.removeTrack(other['0000003'])
                other['0000004'].data['n'] = 'changed'
                tm.commit()
                self.tm.commit()    # this connection sees it from now on
        self.assertEqual(seen[:4], [0, 1, 'changed', 4])
        self.assertEqual(len(seen), 199)

    def test_a_rollback_before_given_out(self):
        self.storage['0000004'].data['n'] = 'before'
        savepoint = self.tm.savepoint()
        seen = []
        for track in self.storage.query(taskId='quiz'):
            seen.append(track.data['n'])
            if track.data['n'] == 0:
                self.storage['0000004'].data['n'] = 'after'
                self.storage.removeTrack(self.storage['0000003'])
                savepoint.rollback()
        self.assertEqual(seen[:5], [0, 1, 2, 'before', 4])
        self.assertEqual(len(seen), 200)

    def test_a_small_cache_makes_tracks_one_by_one(self):
        self.conn.close()
        self.db.close()
        self.db = DB(FileStorage(self.path), cache_size=2)
        self.conn = self.db.open(self.tm)
        storage = self.conn.root()['tracks']
        with mock.patch.object(TrackSession, 'keepMade') as keepMade:
            tracks = list(storage.query(taskId='quiz'))
        keepMade.assert_not_called()
        self.assertEqual([t.data['n'] for t in tracks], list(range(200)))
        self.assertIs(storage[tracks[-1].__name__], tracks[-1])

    def test_a_cache_size_set_anew_is_followed(self):
        list(self.storage.query(taskId='quiz'))
        session = sessionOf(self.storage)
        self.assertEqual(len(session.recent), 200)
        self.db.setCacheSize(20)
        self.tm.begin()
        tracks = list(self.storage.query(taskId='quiz'))
        self.assertEqual(len(session.recent), 20)
        self.assertEqual([t.data['n'] for t in tracks], list(range(200)))
        self.assertIs(self.storage['0000001'], tracks[0])

    def test_tracks_before_a_damaged_record_are_given_out(self):
        self.storage._records.laneTree(0)[40] = b'["quiz",1,"u39",1700'
        tracks = []
        with self.assertRaisesRegex(ValueError, 'damaged'):
            for track in self.storage.query(taskId='quiz'):
                tracks.append(track)
        self.assertEqual(len(tracks), 39)


class CheckedTracksTest(DatabaseTestCase):
    """A result gives out a track it gave out before without looking it up
    while the connection saw no change of the records or the timeline
    (watched.py): every such change is seen. The tracks fill several
    buckets: the change is in one that nothing else reads."""

    def setUp(self):
        super().setUp()
        self.addMerged(300)
        self.tracks = self.found()
        self.assertEqual(self.found(), self.tracks)
        self.assertTrue(sessionOf(self.storage).checked)

    def found(self):
        return list(self.storage.query(taskId='quiz'))

    def numbers(self):
        return [t.data['n'] for t in self.found()]

    def test_a_change_elsewhere_is_seen(self):
        other, tm = self.otherStorage()
        other['0000004'].data['n'] = 40
        tm.commit()
        self.tm.begin()
        self.assertEqual(self.numbers()[:5], [0, 1, 2, 40, 4])
        self.assertIs(self.found()[3], self.tracks[3])

    def test_a_removal_elsewhere_is_seen(self):
        other, tm = self.otherStorage()
        other.removeTrack(other['0000004'])
        tm.commit()
        self.tm.begin()
        self.assertEqual(self.numbers()[:4], [0, 1, 2, 4])

    def test_a_track_moved_elsewhere_is_found_where_it_went(self):
        other, tm = self.otherStorage()
        other['0000002'].timeStamp = 1700001000
        tm.commit()
        self.tm.begin()
        numbers = self.numbers()
        self.assertEqual(numbers[:2], [0, 2])
        self.assertEqual(numbers[-1], 1)

    def giveKeyElsewhere(self, name, movedTo, userName, timeStamp):
        """In another connection, move a track to another time and save a
        new one (``{'n': -1}``) that gets the key it had; merged and
        committed, and seen here."""
        other, tm = self.otherStorage()
        other[name].timeStamp = movedTo
        tm.commit()
        other.saveUserTrack('quiz', 0, userName, {'n': -1},
                            timeStamp=timeStamp)
        other.indexPending()
        tm.commit()
        self.tm.begin()

    def test_a_key_given_to_another_track_elsewhere(self):
        self.giveKeyElsewhere('0000002', 1700001000, 'late', 1700000001)
        numbers = self.numbers()
        self.assertEqual(numbers[:3], [0, -1, 2])
        self.assertEqual(numbers[-1], 1)

    def test_the_last_track_at_a_key_given_to_another_track_elsewhere(self):
        last = self.storage.getLastUserTrack('quiz', 0, 'u10')
        self.assertIs(self.storage.getLastUserTrack('quiz', 0, 'u10'), last)
        # its key (the first of its microsecond) goes to a new track
        self.giveKeyElsewhere('0000011', 1699999000, 'u10', 1700000010)
        # (another key first: what was checked is forgotten all at once)
        self.assertEqual(
            self.storage.getLastUserTrack('quiz', 0, 'u20').data, {'n': 20})
        self.assertEqual(
            self.storage.getLastUserTrack('quiz', 0, 'u10').data, {'n': -1})
        self.assertEqual(self.storage['0000011'].timeStamp, 1699999000)

    def test_a_key_given_to_another_track_here(self):
        self.tracks[1].timeStamp = 1700001000
        self.tm.commit()
        self.storage.saveUserTrack('quiz', 0, 'late', {'n': -1},
                                   timeStamp=1700000001)
        self.storage.indexPending()
        numbers = self.numbers()
        self.assertEqual(numbers[:3], [0, -1, 2])
        self.assertEqual(numbers[-1], 1)

    def test_a_change_elsewhere_while_out_of_the_cache_is_seen(self):
        # the buckets are loaded anew, with no invalidation to tell
        self.tm.abort()
        self.conn.cacheMinimize()
        other, tm = self.otherStorage()
        other['0000004'].data['n'] = 40
        tm.commit()
        self.tm.begin()
        self.assertEqual(self.numbers()[:5], [0, 1, 2, 40, 4])

    def test_a_reader_loading_buckets_keeps_what_it_checked(self):
        other, tm = self.otherStorage()
        found = list(other.query(taskId='quiz'))
        self.assertEqual(len(found), 300)
        self.assertEqual(len(sessionOf(other).checked), 300)

    def test_a_removal_here_is_seen_at_once(self):
        self.storage.removeTrack(self.tracks[3])
        self.assertEqual(self.numbers()[:4], [0, 1, 2, 4])

    def test_an_aborted_removal_is_undone(self):
        self.storage.removeTrack(self.tracks[3])
        self.assertEqual(len(self.found()), 299)
        self.tm.abort()
        self.assertEqual(self.numbers(), list(range(300)))
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_a_storage_in_no_database_looks_up_every_track(self):
        storage = TrackingStorage()
        storage.saveUserTrack('quiz', 0, 'u', {'n': 1})
        storage.indexPending()
        self.assertEqual([t.data for t in storage.query(taskId='quiz')],
                         [{'n': 1}])
        self.assertIsNone(sessionOf(storage).checkedKeys())


class RecordTest(DatabaseTestCase):

    def test_records_are_json(self):
        raw = self.storage._records[1]
        self.assertEqual(raw[:1], b'[')
        self.assertEqual(decodeRecord(raw)[:4],
                         ['quiz', 1, 'u0', 1700000000.0])

    def test_records_are_the_standard_json(self):
        for record in (['q', 1, 'u', 0.5, {}],
                       ['t\xe9', 2 ** 40, 'a "b"\n', 1e300,
                        {'x': [None, True, False, -2 ** 63, '\u2028'],
                         'y': {'z': 1.25}}]):
            raw = encodeRecord(record)
            standard = json.dumps(record, ensure_ascii=False,
                                  separators=(',', ':')).encode('utf-8')
            self.assertEqual(raw, standard)
            self.assertEqual(decodeRecord(raw), record)
            # records written by the standard library's encoder (before
            # orjson) read alike, spaced or not
            self.assertEqual(decodeRecord(json.dumps(record).encode()),
                             record)

    def test_records_read_in_one_loop_read_as_one_by_one(self):
        records = [['q', 1, 'u', 0.5, {'a': [1, {'b': None}]}],
                   ['t', 2, 'v', 1.5, {}, {'extra': 'x'}]]
        raws = [encodeRecord(record) for record in records]
        self.assertEqual(decodeRecords(raws), records)
        # a pickle of the first layout and an escaped lone surrogate as
        # versions before the checks stored it are read as one by one
        pickled = pickle.dumps(('p', 3, 'w', 2.5, {'n': 1}), protocol=3)
        surrogate = b'["q",1,"\\ud800",0.5,{}]'
        self.assertEqual(decodeRecords([raws[0], pickled, surrogate]),
                         [records[0], ['p', 3, 'w', 2.5, {'n': 1}],
                          ['q', 1, '\ud800', 0.5, {}]])

    def test_a_damaged_record_is_a_clear_error(self):
        for raw in (b'["q",1,"u",0.5,{"n":', b'["q",1,"u",0.5,{}] x',
                    b'{"q": 1}', b'\xff\xfe', b''):
            with self.assertRaisesRegex(ValueError, 'damaged'):
                decodeRecord(raw)
            with self.assertRaisesRegex(ValueError, 'damaged'):
                decodeRecords([encodeRecord(['q', 1, 'u', 0.5, {}]), raw])

    def test_a_record_takes_the_memory_of_its_bytes(self):
        # (orjson's own bytes keep its 4 kB output buffer)
        record = ['quiz', 1, 'u0', 1700000000.0, {'score': 42, 'ok': True}]
        tracemalloc.start()
        try:
            held = [encodeRecord(record) for i in range(1000)]
            size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(size / len(held), 4 * len(held[0]))

    def test_subclasses_are_stored_as_plain_values(self):
        class Name(str):
            pass

        class Number(int):
            def __reduce__(self):
                return (os.system, ('false',))
        name = self.storage.saveUserTrack(
            'quiz', 0, Name('u9'), {'a': Number(3), Name('k'): [Name('v')]})
        self.tm.commit()
        other, tm = self.otherStorage()
        track = other[name]
        self.assertIs(type(track.userName), str)
        self.assertEqual(track.data, {'a': 3, 'k': ['v']})
        self.assertIs(type(track.data['a']), int)

    def test_a_pickled_record_with_a_class_is_refused(self):
        raw = pickle.dumps(('quiz', 1, 'u', 1.0, {'x': unittest.TestCase}))
        with self.assertRaises(pickle.UnpicklingError):
            decodeRecord(raw)

    def test_refused_values_change_nothing(self):
        deep = {}
        level = deep
        for i in range(60):
            level['k'] = {}
            level = level['k']
        before = list(self.storage._records.items())
        for data in ({'s': 'x\ud800'}, {'\udc00': 1}, {'i': 2 ** 64},
                     {'i': -2 ** 63 - 1}, deep):
            with self.subTest(data=str(data)[:30]):
                with self.assertRaises(ValueError):
                    self.storage.saveUserTrack('quiz', 0, 'u', data)
        with self.assertRaises(ValueError):
            self.storage.saveUserTrack('q\ud800', 0, 'u', {})
        self.assertEqual(list(self.storage._records.items()),
                         before)
        self.assertEqual(len(self.storage), 3)


class OriginalTrackClassTest(unittest.TestCase):
    """Track classes written for the original: __init__ without a time
    stamp, metadata beyond the standard four."""

    class WorkItem(Track):
        typeName = 'WorkItem'
        metadata_attributes = Track.metadata_attributes + ('state',)
        index_attributes = metadata_attributes

        def __init__(self, taskId, runId, userName, data):
            super().__init__(taskId, runId, userName, data)
            self.state = 'new'

    def test_factory_without_time_stamp_and_extra_metadata(self):
        storage = TrackingStorage(trackFactory=self.WorkItem)
        name = storage.saveUserTrack('task', 0, 'u', {'a': 1},
                                     timeStamp=1700000000)
        track = storage[name]
        self.assertEqual((track.state, track.timeStamp), ('new', 1700000000))
        track.state = 'running'
        storage.indexTrack(None, track, 'state')
        self.assertEqual(storage.query(state='running'), [track])
        self.assertEqual(storage.query(state='new'), [])
        self.assertEqual(storage.checkIndexes(), [])
        self.assertIn("'running'", repr(track))
        with self.assertRaises(ValueError):
            storage.indexTrack(None, track, 'nothing')

    def test_unindex_then_delete(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('task', 0, 'u', {})
        track = storage[name]
        storage.unindexTrack(int(name), track)
        del storage[name]
        self.assertNotIn(name, storage)
        transaction.commit()
        self.assertEqual(storage.checkIndexes(), [])

    def test_unindex_alone_removes_at_commit(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('task', 0, 'u', {})
        storage.unindexTrack(None, storage[name])
        self.assertIn(name, storage)
        transaction.commit()
        self.assertNotIn(name, storage)

    def test_set_track_data_keeps_the_time(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('task', 0, 'u', {'a': 1},
                                     timeStamp=1700000000)
        track = storage[name]
        self.assertIsNone(storage.setTrackData(track, {'order': 2}))
        self.assertEqual((track.data, track.timeStamp),
                         ({'order': 2}, 1700000000))
        self.assertIsNone(storage.storage)

    def test_anonymous_user(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('job', 0, None, {'ok': True})
        self.assertEqual(storage[name].userName, ANONYMOUS)
        self.assertEqual(storage.getLastUserTrack('job', 0, None).__name__,
                         name)
        self.assertEqual(len(storage.getUserTracks('job', 0, None)), 1)

    def test_values_and_keys_are_sequences(self):
        storage = TrackingStorage()
        for i in range(5):
            storage.saveUserTrack('task', 0, 'u', {'i': i})
        self.assertEqual([t.data['i'] for t in reversed(storage.values())],
                         [4, 3, 2, 1, 0])
        self.assertEqual([t.data['i'] for t in storage.values()[1:3]], [1, 2])
        self.assertEqual(storage.keys()[-1], '0000005')
        self.assertEqual(storage.items()[0][0], '0000001')

    def test_index_attributes_settable(self):
        storage = TrackingStorage()
        storage.saveUserTrack('task', 0, 'u', {'kind': 'x'})
        storage.indexAttributes = Track.index_attributes + ('kind',)
        storage.setupIndexes()
        self.assertEqual(len(storage.query(kind='x')), 1)
        with self.assertRaises(TypeError):
            storage.indexAttributes = 'kind'

    def test_index_attributes_set_on_the_storage_index_new_tracks(self):
        storage = TrackingStorage()
        storage.indexAttributes = Track.index_attributes + ('kind',)
        storage.setupIndexes()
        storage.saveUserTrack('task', 0, 'u', {'kind': 'x'})
        self.assertEqual(len(storage.query(kind='x')), 1)
        storage.indexPending()
        self.assertEqual(len(storage.query(kind='x')), 1)
        self.assertEqual(storage.checkIndexes(), [])

    def test_index_values_are_plain(self):
        class Name(str):
            pass

        storage = TrackingStorage()
        storage.indexAttributes = Track.index_attributes + ('kind',)
        storage.setupIndexes()
        storage.saveUserTrack('task', 0, 'u', {'kind': Name('x')})
        storage.indexPending()
        kinds = list(storage._index.values['kind'].keys())
        self.assertEqual([type(kind) for kind in kinds], [str])
