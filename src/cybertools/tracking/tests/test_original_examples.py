"""What the original package's two manuals show (its main README and the
one of notifications), called the same way and with the original's
results, except for the differences listed under "Changes from the
original" in the package README (here: ``notify`` returns the new id, and
a notification keeps its priority)."""

import logging
import os
import re
import unittest

import zope.component
import zope.component.testing

from cybertools.tracking.btree import TrackingStorage


class StorageExamplesTest(unittest.TestCase):
    """The main manual, one step after the other."""

    def test_tracks_and_runs(self):
        tracks = TrackingStorage()
        self.assertEqual(tracks.saveUserTrack('a001', 0, 'u1',
                                              {'somekey': 'somevalue'}),
                         '0000001')
        t1 = list(tracks.getUserTracks('a001', 0, 'u1'))
        self.assertEqual([t.data for t in t1], [{'somekey': 'somevalue'}])
        self.assertEqual(tracks.getUserNames('a001'), ['u1'])
        self.assertEqual(tracks.getUserNames('a002'), [])
        self.assertEqual([str(id) for id in tracks.getTaskIds()], ['a001'])
        found = list(tracks.query(taskId='a001'))
        self.assertEqual(len(found), 1)
        self.assertRegex(
            repr(found[0]),
            r"^<Track \['a001', 1, 'u1', '\d{4}-\d\d-\d\d \d\d:\d\d'\]: "
            r"\{'somekey': 'somevalue'\}>$")

        self.assertEqual(tracks.saveUserTrack('a002', 0, 'u1',
                                              {'somekey': 'anothervalue'}),
                         '0000002')
        self.assertEqual(len(list(tracks.query(userName='u1'))), 2)
        self.assertEqual(len(list(tracks.query(taskId=('a001', 'a002')))),
                         2)

        self.assertEqual(tracks.saveUserTrack('a001', 0, 'u1',
                                              {'somekey': 'newvalue'}),
                         '0000003')
        self.assertEqual([t.data for t in tracks.getUserTracks('a001', 0,
                                                                'u1')],
                         [{'somekey': 'somevalue'}, {'somekey': 'newvalue'}])
        self.assertEqual(tracks.getLastUserTrack('a001', 0, 'u1').data,
                         {'somekey': 'newvalue'})

        self.assertEqual(tracks.saveUserTrack(
            'a001', 0, 'u1', {'somekey': 'newvalue2'}, update=True),
            '0000003')
        self.assertEqual([t.data for t in tracks.getUserTracks('a001', 0,
                                                                'u1')],
                         [{'somekey': 'somevalue'},
                          {'somekey': 'newvalue2'}])
        self.assertEqual(tracks.saveUserTrack(
            'a001', 0, 'u2', {'somekey': 'user2'}, update=True), '0000004')
        t4 = list(tracks.getUserTracks('a001', 0, 'u2'))
        self.assertEqual([t.data for t in t4], [{'somekey': 'user2'}])

        self.assertIsNone(tracks.reindexTracks())
        self.assertIsNone(tracks.removeTrack(t4[0]))
        self.assertEqual(list(tracks.getUserTracks('a001', 0, 'u2')), [])

        # runs
        self.assertEqual(tracks.startRun('a001'), 3)
        self.assertEqual(tracks.saveUserTrack('a001', 0, 'u1',
                                              {'k1': 'value1'}), '0000005')
        last = tracks.getLastUserTrack('a001', 0, 'u1')
        self.assertEqual((last.runId, last.data), (3, {'k1': 'value1'}))
        older = tracks.getLastUserTrack('a001', 1, 'u1')
        self.assertEqual((older.runId, older.data),
                         (1, {'somekey': 'newvalue2'}))
        runPattern = r'^<Run %i, [-\d]+ [:\d]+, [-\d]+ [:\d]+, %s>$'
        self.assertRegex(repr(tracks.getRun(runId=3)), runPattern % (3,
                                                                     False))
        self.assertRegex(repr(tracks.getRun(taskId='a001')),
                         runPattern % (3, False))
        self.assertEqual(tracks.stopRun('a001'), 3)
        self.assertRegex(repr(tracks.getRun(runId=3)), runPattern % (3,
                                                                     True))
        self.assertIs(tracks.getRun(runId=3).finished, True)
        self.assertIsNone(tracks.getRun('a001'))
        self.assertRegex(repr(tracks.getRun(runId=2)), runPattern % (2,
                                                                     False))
        self.assertEqual(tracks.stopRun('a001', 2), 2)
        self.assertRegex(repr(tracks.getRun(runId=2)), runPattern % (2,
                                                                     True))

    def test_views_import(self):
        from cybertools.tracking.browser import TrackingStorageView
        self.assertTrue(callable(TrackingStorageView))

    def test_log_file(self):
        from cybertools.tracking.logfile import Logger
        from cybertools.tracking.tests import testDir
        logfile = os.path.join(testDir, 'test.log')
        logger = Logger('test', logfile)
        self.addCleanup(logger.handler.close)
        self.addCleanup(logging.getLogger('test').removeHandler,
                        logger.handler)
        logger.log('Test message #1')
        logger.log('Test message #2')
        logger.doRollover()
        logger.log('Test message #3')
        names = sorted(fn for fn in os.listdir(testDir) if '.log' in fn)
        self.assertEqual(names, ['test.log', 'test.log.1'])
        with open(logfile + '.1') as f:
            self.assertEqual(re.findall(r';(.*)', f.read()),
                             ['Test message #1', 'Test message #2'])
        for fn in names:
            os.unlink(os.path.join(testDir, fn))


class NotificationExamplesTest(unittest.TestCase):
    """The manual of notifications: adapting with the one registration it
    made, then a notification with its defaults."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)

    def test_notification(self):
        from cybertools.tracking.notify.base import Notification
        from cybertools.tracking.notify.base import NotificationManager
        from cybertools.tracking.notify.interfaces import \
            INotificationManager
        zope.component.provideAdapter(NotificationManager)
        notifications = TrackingStorage(trackFactory=Notification)
        manager = INotificationManager(notifications)
        # a difference: the id of the new notification is returned
        self.assertEqual(manager.notify('obj01', 'user01', 'object_changed'),
                         '0000001')
        ntf01 = list(manager.query(userName='user01'))[0]
        self.assertRegex(repr(ntf01),
                         r"^<Notification \['obj01', 1, 'user01', '.*'\]: ")
        # a difference: the priority is kept
        self.assertEqual(ntf01.data, {'media': ['inbox'], 'state': 'new',
                                      'type': 'object_changed',
                                      'priority': 'info'})
        self.assertEqual(ntf01.state, 'new')
        self.assertIsNone(ntf01.timingType)
