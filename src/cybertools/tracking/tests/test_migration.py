"""Migrating storages of the original cybertools.tracking.

The fixture is a FileStorage written in the original's layout by
``originaldb.py`` in a process of its own (see there how); what it stored
is in its ``.expected.json``, which the migrated storages are compared
with.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import transaction
import zope.component.testing

from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.database import openDatabase
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.migration import MigrationError
from cybertools.tracking.migration import OriginalRun
from cybertools.tracking.migration import OriginalStorage
from cybertools.tracking.migration import OriginalTrack
from cybertools.tracking.migration import classFactory
from cybertools.tracking.migration import isOriginalStorage
from cybertools.tracking.migration import migrateStorage
from cybertools.tracking.migration import openMigrationDatabase
from cybertools.tracking.tests import testDir


class WorkItem(Track):
    """A track class as cybertools.organize and loops write them: a
    ``state`` among the metadata, and an ``__init__`` without a time
    stamp."""

    metadata_attributes = Track.metadata_attributes + ('state',)
    index_attributes = metadata_attributes
    typeName = 'WorkItem'

    def __init__(self, taskId, runId, userName, data):
        super().__init__(taskId, runId, userName, data)
        self.state = 'new'


def buildFixture(directory, protocol=3):
    """The path of a fixture database and what it holds."""
    path = os.path.join(directory, 'Data.fs')
    subprocess.run([sys.executable, '-m',
                    'cybertools.tracking.tests.originaldb', path,
                    '--protocol', str(protocol)], check=True)
    with open(path + '.expected.json') as f:
        return path, json.load(f)


class MigrationTestCase(unittest.TestCase):

    protocol = 3

    # the fixtures built, by protocol: built once, copied for each test
    fixtures = {}

    def setUp(self):
        if self.protocol not in self.fixtures:
            directory = tempfile.mkdtemp(dir=testDir)
            self.fixtures[self.protocol] = buildFixture(directory,
                                                        self.protocol)
        self.fixture, self.expected = self.fixtures[self.protocol]
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.path = os.path.join(self.directory, 'Data.fs')
        shutil.copy(self.fixture, self.path)
        self.uri = 'file://' + self.path

        self.db = None
        self.addCleanup(self.close)

    def close(self):
        if self.db is not None:
            self.tm.abort()
            self.db.close()
            self.db = None

    def openRoot(self, migrating=True):
        """The root of a new connection (a FileStorage is opened once at a
        time: the database opened before is closed)."""
        self.close()
        self.db = (openMigrationDatabase if migrating else openDatabase)(
            self.uri)
        self.tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=self.tm)
        return conn.root(), self.tm

    def open(self, migrating=True):
        """The ``records`` container of a new connection."""
        root, tm = self.openRoot(migrating)
        return root['records'], tm

    def migrate(self, name, **kw):
        records, tm = self.open()
        summary = migrateStorage(records[name], **kw)
        tm.commit()
        self.close()
        return summary

    def lastTransaction(self):
        self.close()
        db = openDatabase(self.uri)
        try:
            return db.lastTransaction()
        finally:
            db.close()

    def assertKept(self, storage, expected):
        """The storage has the fixture's tracks and runs."""
        self.assertEqual(list(storage), sorted(expected['tracks']))
        for name, values in expected['tracks'].items():
            track = storage[name]
            with self.subTest(track=name):
                self.assertEqual(track.data, values['data'])
                for attribute, value in values.items():
                    if attribute != 'data':
                        self.assertEqual(getattr(track, attribute), value)
        for runId, values in expected['runs'].items():
            run = storage.getRun(runId=int(runId))
            with self.subTest(run=runId):
                self.assertEqual((run.start, run.end, run.finished,
                                  run.taskId),
                                 (values['start'], values['end'],
                                  values['finished'], values['taskId']))
        for taskId, runId in expected['current'].items():
            self.assertEqual(storage.getRun(taskId).id, runId)
        self.assertEqual(storage.checkIndexes(), [])


class MigrateStorageTest(MigrationTestCase):

    def test_tracks_runs_and_ids_are_kept(self):
        summary = self.migrate('tracks')
        expected = self.expected['tracks']
        self.assertTrue(summary.migrated)
        self.assertEqual((summary.tracks, summary.runs, summary.currentRuns),
                         (len(expected['tracks']), len(expected['runs']),
                          len(expected['current'])))
        self.assertEqual(summary.notes, [])
        records, tm = self.open(migrating=False)
        storage = records['tracks']
        self.assertIs(type(storage), TrackingStorage)
        self.assertKept(storage, expected)

    def test_run_states(self):
        self.migrate('tracks')
        records, tm = self.open(migrating=False)
        storage = records['tracks']
        states = {run.id: run.state for run in storage.getRuns()}
        # finished; current; current; open (of two tasks); stopped
        self.assertEqual(states, {1: 'finished', 2: 'open', 3: 'open',
                                  4: 'open', 5: 'stopped'})
        self.assertIsNone(storage.getRun('a003'))

    def test_the_storage_works_on(self):
        self.migrate('tracks')
        records, tm = self.open(migrating=False)
        storage = records['tracks']
        last = max(int(name) for name in self.expected['tracks']['tracks'])
        newId = storage.saveUserTrack('a001', 0, 'u1', {'more': True})
        self.assertGreater(int(newId), last)
        self.assertEqual(storage.getLastUserTrack('a001', 0, 'u1').data,
                         {'more': True})
        self.assertEqual(storage[newId].runId, 3)
        self.assertEqual(storage.getUserNames('a001'), ['u1', 'u2'])
        self.assertEqual(len(storage.query(taskId='a00*')), 8)
        tm.commit()

    def test_the_storage_stays_the_same_object(self):
        # references to it, such as a utility registration, stay valid
        records, tm = self.open()
        oid = records['tracks']._p_oid
        self.migrate('tracks')
        records, tm = self.open(migrating=False)
        self.assertEqual(records['tracks']._p_oid, oid)
        self.assertIs(records['tracks'].__parent__, records)
        self.assertEqual(records['tracks'].__name__, 'tracks')

    def test_a_second_run_changes_nothing(self):
        self.migrate('tracks')
        before = self.lastTransaction()
        summary = self.migrate('tracks')
        self.assertFalse(summary.migrated)
        self.assertEqual(str(summary),
                         'the storage was migrated before: nothing to do')
        self.assertEqual(self.lastTransaction(), before)
        records, tm = self.open(migrating=False)
        self.assertKept(records['tracks'], self.expected['tracks'])

    def test_stand_ins_are_never_saved(self):
        records, tm = self.open()
        storage = records['tracks']
        self.assertIsInstance(storage, OriginalStorage)
        self.assertTrue(isOriginalStorage(storage))
        storage.trackNum = 99
        with self.assertRaises(TypeError):
            tm.commit()

    def test_a_failure_changes_nothing(self):
        before = self.lastTransaction()
        records, tm = self.open()
        storage = records['bad']
        with self.assertRaises(MigrationError) as cm:
            migrateStorage(storage)
        self.assertIn('track 0000002', str(cm.exception))
        self.assertIs(type(storage), OriginalStorage)
        self.assertTrue(isOriginalStorage(storage))
        self.assertEqual(self.lastTransaction(), before)

    def test_an_unloadable_track_class_must_be_given(self):
        records, tm = self.open()
        with self.assertRaises(MigrationError) as cm:
            migrateStorage(records['work'])
        self.assertIn('cybertools.organize.work.WorkItem', str(cm.exception))
        self.assertTrue(isOriginalStorage(records['work']))

    def test_attributes_the_track_class_does_not_keep(self):
        records, tm = self.open()
        with self.assertRaises(MigrationError) as cm:
            migrateStorage(records['work'], trackFactory=Track)
        self.assertIn('state (first in track 0000001)', str(cm.exception))
        summary = migrateStorage(records['work'], trackFactory=Track,
                                 ignoreAttributes=['state'])
        self.assertEqual(summary.tracks, 2)
        self.assertFalse(hasattr(records['work']['0000001'], 'state'))

    def test_work_items_keep_their_state(self):
        self.migrate('work', trackFactory=WorkItem)
        records, tm = self.open(migrating=False)
        storage = records['work']
        self.assertKept(storage, self.expected['work'])
        self.assertEqual([t.__name__ for t in storage.query(state='running')],
                         ['0000002'])

    def test_not_a_storage(self):
        records, tm = self.open()
        with self.assertRaises(MigrationError):
            migrateStorage(records)

    def test_a_new_storage_is_left_alone(self):
        self.assertFalse(migrateStorage(TrackingStorage()).migrated)


class Protocol1Test(MigrateStorageTest):
    """The same with records pickled as Python 2's ZODB pickled them."""

    protocol = 1


class ClassFactoryTest(unittest.TestCase):

    def test_the_original_classes(self):
        module = 'cybertools.tracking.btree'
        self.assertIs(classFactory(None, module, 'TrackingStorage'),
                      OriginalStorage)
        self.assertIs(classFactory(None, module, 'Track'), OriginalTrack)
        self.assertIs(classFactory(None, module, 'Run'), OriginalRun)

    def test_other_classes_are_found_as_usual(self):
        from BTrees.OOBTree import OOBTree
        self.assertIs(classFactory(None, 'BTrees.OOBTree', 'OOBTree'),
                      OOBTree)
        broken = classFactory(None, 'no.such.module', 'Thing')
        from ZODB.broken import Broken
        self.assertTrue(issubclass(broken, Broken))

    def test_track_classes_of_applications(self):
        standIn = classFactory(None, __name__, 'WorkItem')
        self.assertTrue(issubclass(standIn, OriginalTrack))
        self.assertIs(standIn.newClass, WorkItem)
        self.assertIs(classFactory(None, __name__, 'WorkItem'), standIn)


class CommandTest(MigrationTestCase):
    """``tracking migrate``, in a process of its own."""

    def tracking(self, *args):
        self.close()
        process = subprocess.run(
            [sys.executable, '-m', 'cybertools.tracking.migration',
             'migrate', '--db', self.uri] + list(args),
            capture_output=True, text=True)
        return process.returncode, process.stdout, process.stderr

    def test_migrate_twice(self):
        code, out, err = self.tracking('--path', 'records/tracks', '--check')
        self.assertEqual((code, err), (0, ''))
        self.assertEqual(out, 'migrated 9 tracks and 5 runs (2 current)\n')
        code, out, err = self.tracking('--path', 'records/tracks')
        self.assertEqual((code, out), (0, 'the storage was migrated before: '
                                          'nothing to do\n'))
        records, tm = self.open(migrating=False)
        self.assertKept(records['tracks'], self.expected['tracks'])

    def test_errors_are_one_line(self):
        before = self.lastTransaction()
        for args, message in (
                (('--path', 'records/nothing'), 'there is nothing at'),
                (('--path', 'records/work'), '--track-factory'),
                (('--path', 'records/work', '--track-factory',
                  'cybertools.tracking.btree.Track'), '--ignore-attribute'),
                (('--path', 'records/work', '--track-factory', 'no.Such'),
                 'cannot import it'),
                (('--path', 'records/bad'), 'track 0000002'),
                (('--path', 'records'), 'not a tracking storage')):
            with self.subTest(args=args):
                code, out, err = self.tracking(*args)
                self.assertEqual(code, 2)
                self.assertTrue(err.startswith('tracking: error: '))
                self.assertIn(message, err)
                self.assertEqual(err.count('\n'), 1)
        self.assertEqual(self.lastTransaction(), before)

    def test_the_local_utility_of_the_site(self):
        code, out, err = self.tracking('--storage', 'site')
        self.assertEqual((code, err), (0, ''))
        self.assertEqual(out, 'migrated 1 tracks and 1 runs (1 current)\n')
        code, out, err = self.tracking('--storage', 'nothing')
        self.assertEqual(code, 2)
        self.assertIn("no tracking storage 'nothing'", err)
        root, tm = self.openRoot(migrating=False)
        sm = root['Application'].getSiteManager()
        storage = sm.getUtility(ITrackingStorage, 'site')
        self.assertIs(storage, sm['default']['tracking'])
        self.assertIs(type(storage), TrackingStorage)
        self.assertKept(storage, self.expected['site'])

    def test_work_items(self):
        code, out, err = self.tracking(
            '--path', 'records/work', '--track-factory',
            __name__ + '.WorkItem')
        self.assertEqual((code, err), (0, ''))
        records, tm = self.open(migrating=False)
        self.assertKept(records['work'], self.expected['work'])
