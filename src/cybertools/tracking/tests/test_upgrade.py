"""A storage written in the first layout (tests/fixtures/layout1.fs, see
its README.txt) opens, reads and upgrades with everything kept."""

import os
import shutil
import tempfile
import unittest

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from cybertools.tracking.btree import LAYOUT

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'layout1.fs')


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


class UpgradeTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        path = os.path.join(self.directory, 'Data.fs')
        shutil.copy(FIXTURE, path)
        self.db = DB(FileStorage(path))
        self.addCleanup(self.db.close)
        self.conn = self.db.open()
        self.addCleanup(self.conn.close)
        self.addCleanup(transaction.abort)
        self.root = self.conn.root()

    def test_the_first_layout_reads(self):
        storage = self.root['tracks']
        self.assertEqual(storage.layout, 1)
        tracks, runs, current, users = contents(storage)
        self.assertEqual([t[0] for t in tracks],
                         ['0000001', '0000003', '0000004', '0000005',
                          '0000006'])
        self.assertEqual(tracks[0][1:],
                         ('quiz', 1, 'alice', 1700000000.0,
                          {'answer': 'b', 'score': 3}))
        self.assertEqual(tracks[1][5], {'page': 13})
        self.assertEqual([(r[0], r[1], r[5]) for r in runs],
                         [(1, 'quiz', True), (2, 'reading', False),
                          (3, 'quiz', False), (4, 'quiz', False)])
        self.assertEqual(current, {'quiz': 4, 'reading': 2})
        self.assertEqual(users, {'quiz': ['alice', 'carol', 'dave'],
                                 'reading': ['alice']})
        self.assertEqual(storage.checkIndexes(), [])

    def test_upgrade_keeps_everything(self):
        for name in ('tracks', 'partitioned', 'notifications'):
            with self.subTest(storage=name):
                storage = self.root[name]
                before = contents(storage)
                queries = [len(storage.query(taskId=task))
                           for task in storage.getTaskIds()]
                rewritten = storage.upgrade()
                self.assertEqual(rewritten, len(storage))
                self.assertEqual(storage.layout, LAYOUT)
                transaction.commit()
                self.assertEqual(contents(storage), before)
                self.assertEqual([len(storage.query(taskId=task))
                                  for task in storage.getTaskIds()],
                                 queries)
                self.assertEqual(storage.checkIndexes(), [])
                self.assertEqual(storage.upgrade(), 0)

    def test_upgraded_records_are_json_and_runs_keep_no_end(self):
        storage = self.root['tracks']
        storage.upgrade()
        transaction.commit()
        for partition in storage._partitions:
            for raw in partition.tracks.values():
                self.assertEqual(raw[:1], b'[')
            for run in partition.runs.values():
                self.assertNotIn('end', run.__dict__)

    def test_writing_before_the_upgrade(self):
        storage = self.root['tracks']
        name = storage.saveUserTrack('quiz', 0, 'erin', {'score': 1})
        storage['0000001'].data['score'] = 4
        transaction.commit()
        self.assertEqual(storage[name].runId, 4)
        self.assertEqual(storage['0000001'].data['score'], 4)
        self.assertEqual(storage.checkIndexes(), [])
        self.assertEqual(storage.getRun('quiz').end, storage[name].timeStamp)
