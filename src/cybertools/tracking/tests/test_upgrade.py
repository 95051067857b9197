"""Storages written in the first and the second layout
(tests/fixtures/layout1.fs and layout2.fs, see their README.txt) open, are
upgraded and keep everything."""

import os
import pickle
import shutil
import tempfile
import unittest

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from cybertools.tracking.btree import LAYOUT
from cybertools.tracking.records import decodeRecord

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
FIXTURE = os.path.join(FIXTURES, 'layout1.fs')

# What the fixture holds, as contents() shows it.
TRACKS = [
    ('0000001', 'quiz', 1, 'alice', 1700000000.0,
     {'answer': 'b', 'score': 3}),
    ('0000003', 'reading', 2, 'alice', 1796128398.4548001, {'page': 13}),
    ('0000004', 'quiz', 3, 'alice', 1700000200.0, {'score': 5}),
    ('0000005', 'quiz', 4, 'carol', 1700000300.0, {'score': 2}),
    ('0000006', 'quiz', 1, 'dave', 1700000400.0, {}),
]
RUNS = [
    (1, 'quiz', 1700000000.0, 1796128398.4545383, 1796128398.4545383, True),
    (2, 'reading', 1700000120.0, 1796128398.4548001, None, False),
    (3, 'quiz', 1700000200.0, 1796128398.4546077, 1796128398.4546077,
     False),
    (4, 'quiz', 1700000300.0, 1700000300.0, None, False),
]
PARTITIONED = [
    ('%07i' % (i + 4), 'task-%i' % (i % 3), 4 + i % 3, 'user%i' % (i % 5),
     1700000000.0 + i, {'i': i})
    for i in range(12)]


def contents(storage):
    """Everything a user sees of a storage."""
    tracks = [(t.__name__, t.taskId, t.runId, t.userName, t.timeStamp,
               dict(t.data)) for t in storage.values()]
    runs = [(r.id, r.taskId, r.start, r.end, r.stopped, r.finished)
            for r in storage.getRuns()]
    current = {task: getattr(storage.getRun(task), 'id', None)
               for task in storage.getTaskIds()}
    users = {task: storage.getUserNames(task)
             for task in storage.getTaskIds()}
    return tracks, runs, current, users


class FixtureTestCase(unittest.TestCase):
    """A copy of a fixture, opened."""

    fixture = FIXTURE

    def setUp(self):
        transaction.abort()
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.path = os.path.join(self.directory, 'Data.fs')
        shutil.copy(self.fixture, self.path)
        self.open()

    def tearDown(self):
        self.close()

    def open(self):
        self.db = DB(FileStorage(self.path))
        self.conn = self.db.open()
        self.root = self.conn.root()

    def close(self):
        transaction.abort()
        self.conn.close()
        self.db.close()

    def reopen(self):
        transaction.commit()
        self.close()
        self.open()


class UpgradeTest(FixtureTestCase):

    def checkTracks(self, storage):
        tracks, runs, current, users = contents(storage)
        self.assertEqual(tracks, TRACKS)
        self.assertEqual(runs, RUNS)
        self.assertEqual(current, {'quiz': 4, 'reading': 2})
        self.assertEqual(users, {'quiz': ['alice', 'carol', 'dave'],
                                 'reading': ['alice']})
        self.assertEqual(len(storage), 5)
        self.assertEqual(storage.checkIndexes(), [])

    def test_the_first_use_upgrades(self):
        storage = self.root['tracks']
        self.assertEqual(storage.layout, 1)
        self.checkTracks(storage)
        self.assertEqual(storage.layout, LAYOUT)
        self.reopen()
        self.checkTracks(self.root['tracks'])

    def test_upgrade_keeps_everything(self):
        storage = self.root['tracks']
        self.assertEqual(storage.upgrade(), 5)
        self.assertEqual(storage.upgrade(), 0)
        self.reopen()
        storage = self.root['tracks']
        self.checkTracks(storage)
        self.assertEqual(
            [t.__name__ for t in storage.query(taskId='quiz', userName='alice')],
            ['0000001', '0000004'])
        self.assertEqual(storage.getLastUserTrack('quiz', 1, 'dave').data, {})
        partitioned = self.root['partitioned']
        self.assertEqual(partitioned.upgrade(), 12)
        self.assertEqual(contents(partitioned)[0], PARTITIONED)
        self.assertEqual(partitioned.checkIndexes(), [])
        notifications = self.root['notifications']
        self.assertEqual(notifications.upgrade(), 0)
        self.assertEqual(len(notifications), 0)
        self.assertIn('priority', notifications.indexAttributes)

    def test_a_record_that_cannot_be_stored_stops_the_upgrade(self):
        storage = self.root['tracks']
        tracks = storage._partitions[0].tracks
        trackId = tracks.minKey()
        record = decodeRecord(tracks[trackId])
        record[4] = {'x': float('nan')}
        tracks[trackId] = pickle.dumps(tuple(record), 3)
        transaction.commit()
        with self.assertRaisesRegex(ValueError, 'track %07i cannot be '
                                    'upgraded: .*nan' % trackId):
            storage.upgrade()
        transaction.abort()
        self.assertEqual(storage.layout, 1)

    def test_records_are_json_and_runs_keep_no_end(self):
        storage = self.root['tracks']
        storage.upgrade()
        for raw in storage._records.values():
            self.assertEqual(raw[:1], b'[')
        for run in storage._runs.values():
            self.assertNotIn('end', run.__dict__)
        self.assertNotIn('_partitions', storage.__dict__)

    def test_ids_are_not_given_again(self):
        # 0000002 was removed before the upgrade, 0000015 is the last id of
        # the partitioned storage: new tracks and runs come after
        storage = self.root['tracks']
        self.assertEqual(storage.saveUserTrack('quiz', 0, 'erin', {}),
                         '0000007')
        self.assertEqual(storage.startRun('quiz'), 5)
        partitioned = self.root['partitioned']
        self.assertEqual(partitioned.saveUserTrack('task-0', 0, 'u', {}),
                         '0000016')
        self.assertEqual(partitioned.checkIndexes(), [])
        transaction.commit()

    def test_writing_first_upgrades(self):
        storage = self.root['tracks']
        name = storage.saveUserTrack('quiz', 0, 'erin', {'score': 1})
        storage['0000001'].data['score'] = 4
        self.reopen()
        storage = self.root['tracks']
        self.assertEqual(storage[name].runId, 4)
        self.assertEqual(storage['0000001'].data['score'], 4)
        self.assertEqual(storage.checkIndexes(), [])
        self.assertEqual(storage.getRun('quiz').end, storage[name].timeStamp)


LAYOUT2_TRACKS = (
    [('%07i' % (i + 1), 'quiz', 1, 'alice' if i % 2 else 'bob',
      1700000000.0 + i, {'i': i}) for i in range(100)] +
    [('%07i' % (i + 101), 'reading', 2, 'carol', 1700000200.0 + i,
      {'page': i}) for i in range(3)])
del LAYOUT2_TRACKS[1]
LAYOUT2_TRACKS[1] = LAYOUT2_TRACKS[1][:5] + ({'i': 2, 'checked': True},)
LAYOUT2_TRACKS[3] = LAYOUT2_TRACKS[3][:5] + ({'i': -5},)


class Layout2Test(FixtureTestCase):
    """A storage of the second layout works as it is (its index has no
    counts, and counts its sets), and the upgrade adds the counts."""

    fixture = os.path.join(FIXTURES, 'layout2.fs')

    def checkTracks(self, storage):
        tracks = contents(storage)[0]
        # updateTrack gave 0000003 the time of the update: the latest
        updated = tracks[1]
        self.assertGreater(updated[4], max(t[4] for t in LAYOUT2_TRACKS))
        tracks[1] = updated[:4] + (1700000002.0,) + updated[5:]
        self.assertEqual(tracks, LAYOUT2_TRACKS)
        self.assertEqual(storage.query(taskId='quiz')[-1].__name__,
                         '0000003')
        self.assertEqual(len(storage.query(taskId='quiz')), 99)
        self.assertEqual(len(storage.query(userName='carol')), 3)
        self.assertEqual(storage.getLastUserTrack('quiz', 1, 'alice').__name__,
                         '0000100')
        self.assertEqual(storage.getRun('quiz'), None)
        self.assertTrue(storage.getRuns()[0].finished)
        for name, value in (('taskId', 'quiz'), ('userName', 'carol')):
            every = list(storage.query(**{name: value}))
            low = every[len(every) // 4].timeStamp
            high = every[len(every) * 3 // 4].timeStamp
            self.assertEqual(
                list(storage.query(**{name: value}, timeFrom=low,
                                   timeTo=high)),
                [t for t in every if low <= t.timeStamp <= high])
        self.assertEqual(storage.checkIndexes(), [])

    def test_works_as_it_is(self):
        storage = self.root['tracks']
        self.assertEqual(storage.layout, 2)
        self.assertIsNone(storage._index.counts)
        self.assertFalse(storage._index.userRuns)
        self.checkTracks(storage)
        storage.saveUserTrack('quiz', 1, 'bob', {})
        storage.indexPending()
        self.assertEqual(len(storage.query(taskId='quiz')), 100)
        storage.removeTrack(storage['0000100'])
        self.assertEqual(storage.getLastUserTrack('quiz', 1, 'alice').__name__,
                         '0000098')
        self.assertEqual(storage.checkIndexes(), [])
        self.assertEqual(storage.layout, 2)

    def test_upgrade_adds_the_counts(self):
        storage = self.root['tracks']
        self.assertEqual(storage.upgrade(), 0)
        self.assertEqual(storage.layout, LAYOUT)
        self.reopen()
        storage = self.root['tracks']
        # (the fixture's values have too few tracks to be counted: their
        # keys are packed, and counting them is reading their length)
        self.assertEqual(sorted(storage._index.counts.keys()),
                         ['runId', 'taskId', 'userName'])
        self.assertEqual(len(storage.query(taskId='quiz')), 99)
        self.assertTrue(storage._index.userRuns)
        self.checkTracks(storage)
        self.assertEqual(storage.saveUserTrack('quiz', 1, 'bob', {}),
                         '0000104')


class UpgradeCommandTest(unittest.TestCase):
    """``tracking upgrade``, through a subprocess."""

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.path = os.path.join(self.directory, 'Data.fs')
        shutil.copy(FIXTURE, self.path)

    def tracking(self, *args):
        import subprocess
        import sys
        return subprocess.run(
            [sys.executable, '-m', 'cybertools.tracking.cli',
             '--db', 'file://' + self.path] + list(args),
            capture_output=True, text=True, timeout=120)

    def test_upgrade_and_again(self):
        result = self.tracking('upgrade', '--path', 'partitioned')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, 'upgraded the storage from layout 1 '
                         'to %i: 12 tracks, 12 records rewritten\n' % LAYOUT)
        result = self.tracking('upgrade', '--path', 'partitioned')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('nothing to do', result.stdout)
        db = DB(FileStorage(self.path))
        try:
            with db.transaction() as conn:
                storage = conn.root()['partitioned']
                storage._p_activate()
                self.assertEqual(storage.__dict__['layout'], LAYOUT)
                self.assertEqual(contents(storage)[0], PARTITIONED)
        finally:
            db.close()

    def test_not_a_storage(self):
        result = self.tracking('upgrade', '--path', 'nothing')
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.count('\n'), 1)
        self.assertIn('--path nothing', result.stderr)
