"""The tracking storage in a real ZODB: persistence across reopening, which
objects a save writes, and concurrent saves from two connections."""

import os
import shutil
import tempfile
import time
import unittest

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from cybertools.tracking.btree import TrackingStorage


def trackList(tracks):
    return [(track.__name__, track.metadata, track.data) for track in tracks]


def runState(run):
    return (run.id, run.taskId, run.start, run.end, run.stopped,
            run.finished)


def visibleState(storage, maxRuns=20):
    """What a caller sees of a storage; equal before and after reopening."""
    taskIds = storage.getTaskIds()
    queries = [
        {},
        {'taskId': 'a001'},
        {'taskId': 'a*'},
        {'userName': ['u1', 'u3']},
        {'runId': 1},
        {'taskId': 'a001', 'userName': 'u2'},
        {'timeFrom': 1000.0, 'timeTo': 3000.0},
    ]
    return {
        'len': len(storage),
        'keys': storage.keys(),
        'tracks': trackList(storage.values()),
        'runs': [runState(run) if run is not None else None
                 for run in (storage.getRun(runId=i)
                             for i in range(1, maxRuns + 1))],
        'currentRuns': {taskId: getattr(storage.getRun(taskId), 'id', None)
                        for taskId in taskIds},
        'taskIds': taskIds,
        'userNames': {taskId: storage.getUserNames(taskId)
                      for taskId in taskIds},
        'queries': [trackList(storage.query(**criteria))
                    for criteria in queries],
        'lastTracks': trackList(
            [storage.getLastUserTrack('a001', 1, 'u1')]),
        'checkIndexes': storage.checkIndexes(),
    }


class FileStorageTestCase(unittest.TestCase):
    """A FileStorage in a temporary directory."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, 'Data.fs')
        self.dbs = []

    def tearDown(self):
        for db in self.dbs:
            db.close()
        shutil.rmtree(self.dir)

    def openDB(self):
        db = DB(FileStorage(self.path))
        self.dbs.append(db)
        return db

    def closeDB(self, db):
        db.close()
        self.dbs.remove(db)

    def createStorage(self, db):
        """A committed, empty tracking storage in the root."""
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        conn.root()['tracking'] = TrackingStorage()
        tm.commit()
        conn.close()


class ReopenTest(FileStorageTestCase):
    """Everything is still there, unchanged, after closing the database."""

    def fill(self, storage):
        save = storage.saveUserTrack
        save('a001', 0, 'u1', {'score': 1}, timeStamp=1000.0)         # run 1
        save('a001', 0, 'u2', {'score': 2, 'list': [1, 'x']},
             timeStamp=1500.5)
        save('a001', 0, 'u1', {'score': 3}, timeStamp=2000.25)
        save('a002', 0, 'u3', {'nested': {'a': None}}, timeStamp=2500.0)
        save('b001', 0, 'u1', {})                                     # run 3
        # an update of u2's last track and of one by updateTrack
        save('a001', 0, 'u2', {'score': 20}, update=True,
             timeStamp=2600.0)
        storage.updateTrack(storage['0000001'], {'extra': True})
        # a removal: the latest track of run 2
        removed = save('a002', 0, 'u3', {'late': 1}, timeStamp=2700.0)
        storage.removeTrack(storage[removed])
        # a stopped (finished) run, a stopped unfinished one, a current one
        storage.stopRun('a002')
        storage.startRun('c001')
        storage.stopRun('c001', finish=False)
        storage.startRun('a001')
        save('a001', 0, 'u1', {'run': 'second'}, timeStamp=3000.0)

    def test_everything_survives_reopening(self):
        db = self.openDB()
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        conn.root()['tracking'] = storage = TrackingStorage()
        tm.commit()
        self.fill(storage)
        tm.commit()
        before = visibleState(storage)
        # the fixture is what the test means it to be
        self.assertEqual(before['checkIndexes'], [])
        self.assertEqual(before['len'], 6)
        self.assertEqual(before['taskIds'], ['a001', 'a002', 'b001'])
        self.assertTrue(before['runs'][1][5])          # run 2 finished
        self.assertIsNotNone(before['runs'][3][4])     # run 4 stopped
        self.assertFalse(before['runs'][3][5])         # ... not finished
        conn.close()
        self.closeDB(db)

        db = self.openDB()
        conn = db.open(transaction_manager=tm)
        storage = conn.root()['tracking']
        self.assertEqual(visibleState(storage), before)

        # the counters were stored too: ids are not reused
        self.assertEqual(storage.saveUserTrack('d001', 0, 'u1', {}),
                         '0000008')
        self.assertEqual(storage.getRun('d001').id, 6)
        tm.abort()
        conn.close()

    def test_run_changes_after_the_first_commit_survive(self):
        # the original kept runs as plain objects: later changes of their
        # end and finished flag were lost
        db = self.openDB()
        self.createStorage(db)
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        storage = conn.root()['tracking']
        runId = storage.startRun('a001')
        tm.commit()
        storage.saveUserTrack('a001', 0, 'u1', {}, timeStamp=4e9)
        tm.commit()
        storage.stopRun('a001')
        tm.commit()
        expected = runState(storage.getRun(runId=runId))
        self.assertEqual(expected[3], 4e9)
        self.assertTrue(expected[5])
        conn.close()
        self.closeDB(db)

        db = self.openDB()
        conn = db.open(transaction_manager=tm)
        storage = conn.root()['tracking']
        self.assertEqual(runState(storage.getRun(runId=runId)), expected)
        self.assertIsNone(storage.getRun('a001'))
        conn.close()


class StorageObjectNotWrittenTest(FileStorageTestCase):
    """Once committed, the storage object itself is not written by saves,
    updates and removals: concurrent saves don't all conflict on it."""

    def setUp(self):
        super().setUp()
        self.db = self.openDB()
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.conn.root()['tracking'] = storage = TrackingStorage()
        storage.saveUserTrack('a001', 0, 'u1', {'n': 1})
        storage.saveUserTrack('a001', 0, 'u2', {'n': 2})
        self.tm.commit()
        self.storage = storage

    def tearDown(self):
        self.tm.abort()
        self.conn.close()
        super().tearDown()

    def assertStorageNotWritten(self):
        self.assertIs(self.storage._p_changed, False)
        for part in (self.storage._index, self.storage._trackLanes,
                     self.storage._runLanes):
            self.assertIs(part._p_changed, False)

    def test_save_update_remove(self):
        storage = self.storage
        storage.saveUserTrack('a001', 0, 'u1', {'n': 3})
        self.assertStorageNotWritten()
        storage.saveUserTrack('a002', 0, 'u1', {'n': 4})    # a new run
        self.assertStorageNotWritten()
        storage.saveUserTrack('a001', 0, 'u2', {'n': 5}, update=True)
        self.assertStorageNotWritten()
        storage.updateTrack(storage['0000001'], {'n': 6})
        self.assertStorageNotWritten()
        storage.removeTrack(storage['0000002'])
        self.assertStorageNotWritten()
        storage.stopRun('a001')
        self.assertStorageNotWritten()
        self.tm.commit()
        self.assertEqual(len(storage), 3)

    def test_reindex_of_unchanged_track_writes_nothing(self):
        # "reindexTrack does nothing if the track equals what is stored":
        # no object changes, so the commit writes no transaction
        last = self.db.lastTransaction()
        self.storage.reindexTrack(self.storage['0000001'])
        self.tm.commit()
        self.assertEqual(self.db.lastTransaction(), last,
                         'reindexTrack of an unchanged track wrote a '
                         'transaction')

    def test_empty_update_writes_nothing(self):
        last = self.db.lastTransaction()
        self.storage.updateTrack(self.storage['0000002'], {})
        self.tm.commit()
        self.assertEqual(self.db.lastTransaction(), last)


class ConcurrencyTest(FileStorageTestCase):
    """Two connections with their own transaction managers work on the same
    storage; conflicts are retried and nothing gets lost."""

    def setUp(self):
        super().setUp()
        self.db = self.openDB()
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        conn.root()['tracking'] = storage = TrackingStorage()
        self.runId = storage.startRun('task')
        storage.saveUserTrack('task', 0, 'u0', {'n': 0})
        tm.commit()
        conn.close()
        self.tms = [transaction.TransactionManager() for _ in range(2)]
        self.conns = [self.db.open(transaction_manager=tm)
                      for tm in self.tms]

    def tearDown(self):
        for tm, conn in zip(self.tms, self.conns):
            tm.abort()
            conn.close()
        super().tearDown()

    def storageOf(self, i):
        return self.conns[i].root()['tracking']

    def freshStorage(self):
        """The committed state, seen from a new transaction."""
        tm = self.tms[0]
        tm.begin()
        return self.storageOf(0)

    def test_concurrent_saves_into_one_run_lose_nothing(self):
        bodies = [0, 0]

        def save(i, user):
            bodies[i] += 1
            storage = self.storageOf(i)
            for n in range(1, 4):
                storage.saveUserTrack('task', 0, user, {'n': n, 'by': user})

        # u2's transaction is open while u1 saves and commits: then u2's
        # commit meets u1's changes
        for attempt in self.tms[1].attempts(5):
            with attempt:
                save(1, 'u2')
                if bodies[1] == 1:
                    for attempt1 in self.tms[0].attempts(5):
                        with attempt1:
                            save(0, 'u1')
        retries = sum(bodies) - 2

        storage = self.freshStorage()
        message = '%i retries' % retries
        self.assertEqual(len(storage), 7, message)
        self.assertEqual(
            sorted((t.userName, t.data['n']) for t in storage.query(
                userName=['u1', 'u2'])),
            [(user, n) for user in ('u1', 'u2') for n in range(1, 4)],
            message)
        for track in storage.query(userName=['u1', 'u2']):
            self.assertEqual(track.data['by'], track.userName)
            self.assertEqual(track.runId, self.runId)
        self.assertEqual(len(set(storage.keys())), 7)
        self.assertEqual(storage.checkIndexes(), [], message)
        self.assertEqual(storage.getUserNames('task'), ['u0', 'u1', 'u2'])
        run = storage.getRun('task')
        self.assertEqual(run.id, self.runId)
        self.assertEqual(run.end, max(t.timeStamp for t in storage.query()))

    def test_saves_in_one_run_do_not_write_the_run(self):
        # a run's end follows from its tracks: two users saving in one run
        # do not both write the Run object
        for i in range(2):
            self.tms[i].begin()
            self.storageOf(i).saveUserTrack('task', 0, 'u%i' % (i + 1), {})
            self.assertFalse(self.storageOf(i).getRun('task')._p_changed)
            self.tms[i].commit()
        storage = self.freshStorage()
        self.assertEqual(storage.getRun('task').end,
                         max(t.timeStamp for t in storage.query()))

    def test_concurrent_stops_merge(self):
        # one connection finishes the run, the other stops it: the states
        # merge (finished wins, the later stop time stays)
        runs = [self.storageOf(i).getRun(runId=self.runId) for i in range(2)]
        runs[0].finished = True
        self.assertEqual(self.storageOf(1).stopRun('task', finish=False),
                         self.runId)
        self.tms[0].commit()
        self.tms[1].commit()
        storage = self.freshStorage()
        run = storage.getRun(runId=self.runId)
        self.assertTrue(run.finished)
        self.assertEqual(run.end, max(run.stopped, run.start))
        self.assertIsNone(storage.getRun('task'))

    def test_concurrent_saves_by_time_stamp_keep_the_latest_end(self):
        # the connection committing second has the earlier time stamp: the
        # merged end is still the latest of both
        base = time.time() + 1000
        bodies = [0, 0]

        def save(i, offset):
            bodies[i] += 1
            self.storageOf(i).saveUserTrack('task', 0, 'u%i' % (i + 1),
                                            {'n': i}, timeStamp=base + offset)

        for attempt in self.tms[1].attempts(5):
            with attempt:
                save(1, 10)
                if bodies[1] == 1:
                    for attempt0 in self.tms[0].attempts(5):
                        with attempt0:
                            save(0, 20)
        storage = self.freshStorage()
        self.assertEqual(len(storage), 3)
        self.assertEqual(storage.getRun('task').end, base + 20)
        self.assertEqual(storage.checkIndexes(), [])
