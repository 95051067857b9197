"""A ZEO server killed (SIGKILL) and restarted under four writers: the
writers, using the documented writer pattern (``Transactions``), go on
after the restart, and every save they were told was committed is there,
none twice."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.database import openDatabase
from cybertools.tracking.testing import freePort

try:
    import ZEO  # noqa: F401
except ImportError:
    ZEO = None

WRITERS = 4
SAVES = 100             # per writer
KILL_AFTER = 80         # saves acknowledged (all writers) before the kill
# Runs started per save: new objects, whose ids the ZEO clients fetch
# ahead of time. After the restart the server hands out ids again that a
# client fetched before: with enough new objects, "A different object
# already has the same oid" comes up in some run or other.
RUNS = 10


class ZEOServerProcess:
    """A ZEO server (``runzeo``) over a FileStorage, in a process of its
    own so that it can be killed; restarts on the same port."""

    def __init__(self, directory):
        self.path = os.path.join(directory, 'Data.fs')
        self.port = freePort()
        self.uri = 'zeo://127.0.0.1:%i' % self.port
        self.process = None

    def start(self, timeout=60):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'ZEO.runzeo', '-a',
             '127.0.0.1:%i' % self.port, '-f', self.path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError('the ZEO server did not start')
                time.sleep(0.1)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@unittest.skipIf(ZEO is None, 'needs ZEO (the zeo extra)')
class ZEORestartTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-zeo-restart-')
        self.addCleanup(shutil.rmtree, self.directory)
        self.server = ZEOServerProcess(self.directory)
        self.server.start()
        self.addCleanup(self.server.stop)
        db = openDatabase(self.server.uri)
        with db.transaction() as conn:
            conn.root()['tracks'] = TrackingStorage(partitions=4)
        db.close()

    def startWriter(self, number):
        process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.tests.retryingwriter',
             self.server.uri, str(number), str(SAVES), str(RUNS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        acked, summary = [], []

        def read():
            for line in process.stdout:
                if line.startswith('acked '):
                    acked.append(int(line.split()[1]))
                else:
                    summary.append(json.loads(line))
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        return process, reader, acked, summary

    def test_kill_and_restart_under_four_writers(self):
        writers = [self.startWriter(n) for n in range(WRITERS)]
        deadline = time.time() + 60
        while sum(len(w[2]) for w in writers) < KILL_AFTER:
            self.assertLess(time.time(), deadline, 'the writers are stuck')
            for process, _, _, _ in writers:
                if process.poll() is not None:
                    self.fail('a writer ended: %s' % process.stderr.read())
            time.sleep(0.05)
        # all four are writing when the server goes
        self.assertTrue(all(len(w[2]) < SAVES for w in writers))
        self.server.kill()
        time.sleep(0.5)
        self.server.start()
        for process, reader, acked, summary in writers:
            self.assertEqual(process.wait(120), 0, process.stderr.read())
            reader.join(10)
            process.stdout.close()
            process.stderr.close()
            # every save acknowledged, in order
            self.assertEqual(acked, list(range(SAVES)))
            self.assertEqual(summary[0]['saves'], SAVES)
        db = openDatabase(self.server.uri)
        try:
            conn = db.open()
            storage = conn.root()['tracks']
            saved = sorted((t.data['writer'], t.data['i'])
                           for t in storage.values())
            # all there, none twice
            self.assertEqual(saved, [(n, i) for n in range(WRITERS)
                                     for i in range(SAVES)])
            self.assertEqual(storage.checkIndexes(), [])
            conn.close()
        finally:
            db.close()
