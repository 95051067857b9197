"""Concurrent writers on ZEO and on RelStorage (PostgreSQL) lose nothing.

Four writer processes save 500 tracks each, one transaction per save,
with the standard retry loop (5 attempts), into a storage made with the
defaults (writers whose commit failed move to id lanes of their own, so
conflicts are rare). Afterwards
every track is there, the indexes agree with the tracks, and the runs the
writers shared end where their latest tracks are. The test prints how
many saves had to be retried.

The writers start saving together, once all of them have opened the
database, and every writer's first commit comes before any writer's last:
they wrote at the same time. The cost is the commits: RelStorage makes
several round trips to PostgreSQL per commit and serialises commits on
its commit lock, so four writers commit about as fast as one, and more
saves would take longer without writing more at the same time.
"""

import json
import subprocess
import sys
import time
import unittest

import transaction

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.database import openDatabase
from cybertools.tracking.testing import PostgreSQLServer
from cybertools.tracking.testing import PostgreSQLUnavailable
from cybertools.tracking.testing import ZEOServer

WRITERS = 4
SAVES = 500
TIMEOUT = 1200   # seconds for all writers together: a hang must not block


class ZEOLayer:

    @classmethod
    def setUp(cls):
        cls.server = ZEOServer()
        cls.server.start()

    @classmethod
    def tearDown(cls):
        cls.server.stop()


class PostgreSQLLayer:
    """A PostgreSQL server, if this machine has one; else the tests say
    why they are skipped."""

    @classmethod
    def setUp(cls):
        cls.server = PostgreSQLServer()
        cls.unavailable = None
        try:
            import relstorage  # noqa: F401 (the driver for postgres://)
            cls.server.start()
        except (ImportError, PostgreSQLUnavailable) as error:
            cls.unavailable = str(error)

    @classmethod
    def tearDown(cls):
        if cls.unavailable is None:
            cls.server.stop()


class ConcurrentWriters:
    """The test, for a layer that provides a database server."""

    def setUp(self):
        if getattr(self.layer, 'unavailable', None):
            self.skipTest(self.layer.unavailable)
        self.uri = self.layer.server.uri

    def createStorage(self, name):
        db = openDatabase(self.uri)
        with db.transaction() as conn:
            conn.root()[name] = TrackingStorage()
        db.close()

    def runWriters(self):
        writers = [subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.tests.writer',
             self.uri, str(number), str(SAVES), '--wait'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for number in range(WRITERS)]
        for writer in writers:
            ready = writer.stdout.readline()
            if ready != 'ready\n':
                # it failed to open the database: its output ends here
                self.fail(ready + writer.stdout.read())
        for writer in writers:
            writer.stdin.write('start\n')
            writer.stdin.flush()
        deadline = time.monotonic() + TIMEOUT
        reports = []
        for writer in writers:
            out, _ = writer.communicate(
                timeout=max(deadline - time.monotonic(), 1))
            self.assertEqual(writer.returncode, 0, out[-2000:])
            reports.append(json.loads(out.splitlines()[-1]))
        return reports

    def test_four_writers_lose_nothing(self):
        self.createStorage('tracks')
        started = time.perf_counter()
        reports = self.runWriters()
        seconds = time.perf_counter() - started
        self.assertLess(max(report['firstCommit'] for report in reports),
                        min(report['lastCommit'] for report in reports))
        retries = sum(report['retries'] for report in reports)
        total = WRITERS * SAVES
        print('\n  %s: %i saves by %i writers in %.1f s (%.0f saves/s), '
              '%i retried after a conflict (%.2f per 100 saves)'
              % (self.uri.split(':')[0], total, WRITERS, seconds,
                 total / seconds, retries, 100.0 * retries / total))

        db = openDatabase(self.uri)
        try:
            conn = db.open()
            storage = conn.root()['tracks']
            self.assertEqual(len(storage), total)
            saved = set()
            lastOfRun = {}
            for track in storage.values():
                saved.add((track.data['writer'], track.data['i']))
                lastOfRun[track.runId] = max(lastOfRun.get(track.runId, 0),
                                             track.timeStamp)
            self.assertEqual(saved, {(w, i) for w in range(WRITERS)
                                     for i in range(SAVES)})
            self.assertEqual(storage.checkIndexes(), [])
            for runId, last in lastOfRun.items():
                run = storage.getRun(runId=runId)
                self.assertEqual(run.end, max(run.start, last))
            conn.close()
        finally:
            db.close()


    def test_a_reader_sees_what_another_client_changed(self):
        # a reader gives out the tracks it gave out before without looking
        # them up until it hears of a change (watched.py): a change by
        # another client of the server is heard of
        writer = openDatabase(self.uri)
        self.addCleanup(writer.close)
        with writer.transaction() as conn:
            storage = conn.root()['seen'] = TrackingStorage()
            for i in range(300):
                storage.saveUserTrack('quiz', 0, 'u%i' % i, {'n': i},
                                      timeStamp=1700000000 + i)
            storage.indexPending()
        reader = openDatabase(self.uri)
        self.addCleanup(reader.close)
        tm = transaction.TransactionManager()
        conn = reader.open(tm)
        self.addCleanup(conn.close)
        seen = conn.root()['seen']

        def numbers():
            return [t.data['n'] for t in seen.query(taskId='quiz')]
        self.assertEqual(numbers(), list(range(300)))
        self.assertEqual(numbers(), list(range(300)))
        tm.abort()
        with writer.transaction() as other:
            storage = other.root()['seen']
            storage['0000004'].data['n'] = 40
            storage.removeTrack(storage['0000006'])
        # (a ZEO client hears of another's commit a moment later)
        deadline = time.monotonic() + 30
        while True:
            tm.begin()
            if len(seen.query(taskId='quiz')) == 299 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(numbers()[:6], [0, 1, 2, 40, 4, 6])


class ZEOTest(ConcurrentWriters, unittest.TestCase):

    layer = ZEOLayer


class RelStorageTest(ConcurrentWriters, unittest.TestCase):

    layer = PostgreSQLLayer
