"""Eight threads of one process save into a storage made with the
defaults, as the threads of a WSGI server do: one transaction per save,
transaction's ``attempts(5)``. No save fails, nothing is lost or doubled,
the indexes agree, merges included (the storage merges every 200 tracks
here). The test prints how many saves were retried."""

import os
import shutil
import tempfile
import threading
import unittest

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from cybertools.tracking.btree import TrackingStorage

THREADS = 8
SAVES = 100


class ThreadsTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.db = DB(FileStorage(os.path.join(self.directory, 'Data.fs')))
        self.addCleanup(self.db.close)
        with self.db.transaction() as conn:
            storage = conn.root()['tracks'] = TrackingStorage()
            storage.mergeSize = 200
            # the tasks' runs exist, as in a running application (starting
            # a task's run is a conflict when two writers do it at once)
            for task in range(3):
                storage.startRun('task%i' % task)

    def writer(self, number, barrier, results):
        manager = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=manager)
        retries = failed = 0
        barrier.wait()
        for i in range(SAVES):
            try:
                for tries, attempt in enumerate(manager.attempts(5)):
                    with attempt:
                        conn.root()['tracks'].saveUserTrack(
                            'task%i' % (i % 3), 0, 'user%i' % number,
                            {'writer': number, 'i': i})
                retries += tries
            except Exception:
                failed += 1
        conn.close()
        results[number] = (retries, failed)

    def test_eight_threads(self):
        barrier = threading.Barrier(THREADS)
        results = {}
        threads = [threading.Thread(target=self.writer,
                                    args=(n, barrier, results))
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        retries = sum(r for r, f in results.values())
        print('\n  %i threads x %i saves: %i retried (%.2f per 100 saves)'
              % (THREADS, SAVES, retries, 100.0 * retries / THREADS / SAVES))
        self.assertEqual(sum(f for r, f in results.values()), 0)
        with self.db.transaction() as conn:
            storage = conn.root()['tracks']
            self.assertEqual(len(storage), THREADS * SAVES)
            saved = [(t.data['writer'], t.data['i']) for t in storage.values()]
            self.assertEqual(sorted(saved), [(n, i) for n in range(THREADS)
                                             for i in range(SAVES)])
            for n in range(THREADS):
                self.assertEqual(len(storage.query(userName='user%i' % n)),
                                 SAVES)
            self.assertEqual(len(storage.query(taskId='task0')),
                             THREADS * 34)
            self.assertEqual(storage.checkIndexes(), [])
            storage.indexPending()
            self.assertEqual(storage.checkIndexes(), [])
