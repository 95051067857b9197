"""Tracks have intids: zope.intid registers them through their key
references (keyreference.py), and gives them back after a restart."""

import os
import shutil
import tempfile
import unittest

import transaction
import zope.component
import zope.component.testing
from ZODB import DB
from ZODB.FileStorage import FileStorage
from zope.intid import IntIds
from zope.keyreference.interfaces import IKeyReference
from zope.keyreference.interfaces import NotYet

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.keyreference import KeyReferenceToTrack


class KeyReferenceTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        zope.component.provideAdapter(KeyReferenceToTrack)
        self.directory = tempfile.mkdtemp()
        self.path = os.path.join(self.directory, 'Data.fs')
        self.open()
        root = self.conn.root()
        root['tracks'] = TrackingStorage()
        root['intids'] = IntIds()
        transaction.commit()

    def tearDown(self):
        self.close()
        shutil.rmtree(self.directory)
        zope.component.testing.tearDown()

    def open(self):
        self.db = DB(FileStorage(self.path))
        self.conn = self.db.open()

    def close(self):
        transaction.abort()
        self.conn.close()
        self.db.close()

    def test_intids_after_a_restart(self):
        root = self.conn.root()
        storage, intids = root['tracks'], root['intids']
        names = [storage.saveUserTrack('quiz', 0, 'u%i' % i, {'i': i})
                 for i in range(3)]
        ids = [intids.register(storage[name]) for name in names]
        transaction.commit()
        self.close()
        self.open()
        root = self.conn.root()
        storage, intids = root['tracks'], root['intids']
        for name, intid in zip(names, ids):
            self.assertIs(intids.getObject(intid), storage[name])
            self.assertEqual(intids.getId(storage[name]), intid)
        self.assertEqual(len(set(ids)), 3)

    def test_references_compare_by_storage_and_name(self):
        storage = self.conn.root()['tracks']
        first = storage.saveUserTrack('quiz', 0, 'u', {})
        second = storage.saveUserTrack('quiz', 0, 'u', {})
        a, b = (IKeyReference(storage[first]),
                IKeyReference(storage[second]))
        self.assertEqual(a, IKeyReference(storage[first]))
        self.assertEqual(hash(a), hash(IKeyReference(storage[first])))
        self.assertLess(a, b)
        self.assertIs(b(), storage[second])

    def test_a_track_outside_a_storage_has_none_yet(self):
        from cybertools.tracking.btree import Track
        with self.assertRaises(NotYet):
            KeyReferenceToTrack(Track('t', 1, 'u', {}))
