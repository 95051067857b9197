"""A writer killed in the middle of its work loses only what it had not
committed, and leaves a FileStorage whose indexes agree with its tracks.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.database import openDatabase

BATCH = 50          # saves per transaction
KILL_AFTER = 1000   # tracks committed before the writer is killed


class CrashTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-crash-')
        self.uri = 'file://' + os.path.join(self.directory, 'Data.fs')
        db = openDatabase(self.uri)
        with db.transaction() as conn:
            conn.root()['tracks'] = TrackingStorage()
        db.close()

    def tearDown(self):
        shutil.rmtree(self.directory)

    def test_killed_writer_leaves_a_consistent_storage(self):
        writer = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.tests.writer',
             self.uri, '0', '1000000', str(BATCH)],
            stdout=subprocess.PIPE, text=True)
        committed = 0
        for line in writer.stdout:
            committed = int(line.split()[1])
            if committed >= KILL_AFTER:
                # in the middle of the next batch
                writer.send_signal(signal.SIGKILL)
                break
        writer.wait()
        writer.stdout.close()
        self.assertEqual(writer.returncode, -signal.SIGKILL)

        db = openDatabase(self.uri)
        try:
            conn = db.open()
            storage = conn.root()['tracks']
            found = len(storage)
            # every batch reported as committed is there, and no part of
            # one that was not (a batch may have committed after the last
            # line we read)
            self.assertGreaterEqual(found, committed)
            self.assertEqual(found % BATCH, 0)
            self.assertEqual(sorted(t.data['i'] for t in storage.values()),
                             list(range(found)))
            self.assertEqual(storage.checkIndexes(), [])
            for runId in {t.runId for t in storage.values()}:
                run = storage.getRun(runId=runId)
                last = storage.query(runId=runId)[-1]
                self.assertEqual(run.end, max(run.start, last.timeStamp))
            conn.close()
        finally:
            db.close()
