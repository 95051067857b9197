"""Opening databases by URI (read-only, ZEO's connect timeout) and the
transient errors that ``Transactions`` retries."""

import os
import shutil
import tempfile
import unittest

import transaction
from ZODB.POSException import ConflictError
from ZODB.POSException import ReadOnlyError

from cybertools.tracking.database import STALE_OID
from cybertools.tracking.database import Transactions
from cybertools.tracking.database import isTransient
from cybertools.tracking.database import openDatabase
from cybertools.tracking.database import withQueryDefault


class URITest(unittest.TestCase):

    def test_query_defaults(self):
        self.assertEqual(withQueryDefault('zeo://h:1', 'wait_timeout', '5'),
                         'zeo://h:1?wait_timeout=5')
        self.assertEqual(
            withQueryDefault('zeo://h:1?wait_timeout=30', 'wait_timeout',
                             '5'), 'zeo://h:1?wait_timeout=30')
        self.assertEqual(
            withQueryDefault('file://a.fs?read_only=0&x=1', 'read_only', '1',
                             force=True), 'file://a.fs?x=1&read_only=1')


class ReadOnlyTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.uri = 'file://' + os.path.join(self.directory, 'Data.fs')

    def test_read_only_refuses_writes(self):
        db = openDatabase(self.uri)
        with db.transaction() as conn:
            conn.root()['x'] = 1
        db.close()
        db = openDatabase(self.uri, readOnly=True)
        try:
            conn = db.open()
            self.assertEqual(conn.root()['x'], 1)
            conn.root()['x'] = 2
            with self.assertRaises(ReadOnlyError):
                transaction.commit()
            transaction.abort()
            conn.close()
        finally:
            db.close()

    def test_read_only_creates_nothing(self):
        with self.assertRaises(Exception):
            openDatabase(self.uri, readOnly=True)
        self.assertEqual(os.listdir(self.directory), [])


class TransientTest(unittest.TestCase):

    def test_kinds(self):
        self.assertTrue(isTransient(ConflictError()))
        self.assertTrue(isTransient(ValueError(STALE_OID)))
        self.assertFalse(isTransient(ValueError('taskId must not be empty')))
        self.assertFalse(isTransient(KeyError('x')))

    def test_retries_and_gives_up(self):
        transactions = Transactions('memory://', attempts=3, pause=0)
        self.addCleanup(transactions.close)
        tries = []

        def work(root):
            tries.append(1)
            if len(tries) < 3:
                raise ConflictError()
            root['done'] = True
            return 'ok'
        self.assertEqual(transactions.run(work), 'ok')
        self.assertEqual((len(tries), transactions.retries), (3, 2))
        self.assertEqual(dict(transactions.failures), {'ConflictError': 2})
        self.assertTrue(transactions.run(lambda root: root['done']))

        def stale(root):
            raise ValueError(STALE_OID)
        with self.assertRaises(ValueError):
            transactions.run(stale)
        # a non-transient error is raised at once
        tries.clear()

        def wrong(root):
            tries.append(1)
            raise KeyError('x')
        with self.assertRaises(KeyError):
            transactions.run(wrong)
        self.assertEqual(len(tries), 1)
