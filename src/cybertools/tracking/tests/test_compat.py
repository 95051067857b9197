"""The original's module-level names: time stamps, the subscriber of
removed-events, the plain message logger, the tests' directory."""

import logging
import os
import shutil
import tempfile
import threading
import time
import unittest
from unittest import mock

import transaction
import zope.component
import zope.component.testing
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from zope.component.event import objectEventNotify
from zope.event import notify
from zope.lifecycleevent import ObjectRemovedEvent

from cybertools.tracking import compat
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.messagelog import Logger
from cybertools.tracking.messagelog import loggers


def setTimeZone(testCase, zone):
    """The process's local time zone is ``zone`` until the test ends."""
    old = os.environ.get('TZ')

    def restore():
        if old is None:
            os.environ.pop('TZ', None)
        else:
            os.environ['TZ'] = old
        time.tzset()

    testCase.addCleanup(restore)
    os.environ['TZ'] = zone
    time.tzset()


class TimeStampTest(unittest.TestCase):

    def setTZ(self, zone):
        setTimeZone(self, zone)

    def test_getTimeStamp_is_whole_seconds(self):
        with mock.patch('time.time', return_value=1700000000.75):
            stamp = compat.getTimeStamp()
        self.assertEqual(stamp, 1700000000)
        self.assertIs(type(stamp), int)

    def test_timeStamp2ISO_is_local_time(self):
        self.setTZ('Europe/Berlin')
        self.assertEqual(compat.timeStamp2ISO(0), '1970-01-01 01:00')
        self.assertEqual(compat.timeStamp2ISO(1700000000.9),
                         '2023-11-14 23:13')
        self.setTZ('UTC')
        self.assertEqual(compat.timeStamp2ISO(0), '1970-01-01 00:00')

    def test_timeStamp2ISO_in_UTC_and_other_formats(self):
        self.setTZ('Europe/Berlin')
        self.assertEqual(compat.timeStamp2ISO(0, useGM=True),
                         '1970-01-01 00:00')
        self.assertEqual(compat.timeStamp2ISO(0, True, '%d.%m.%Y'),
                         '01.01.1970')

    def test_timeStamp2ISO_of_None_is_now(self):
        with mock.patch('time.time', return_value=86400 * 365):
            self.assertEqual(compat.timeStamp2ISO(None, useGM=True),
                             '1971-01-01 00:00')


class RemovedEventTest(unittest.TestCase):
    """The original's subscriber: a removal announced with an object event
    is carried out at commit, so that a ``del`` may follow."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        zope.component.provideHandler(objectEventNotify)
        zope.component.provideHandler(compat.unindexTrack)
        self.db = DB(DemoStorage())
        self.addCleanup(self.db.close)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.addCleanup(self.conn.close)
        self.addCleanup(self.tm.abort)
        self.storage = self.conn.root()['tracks'] = TrackingStorage()
        self.names = [self.storage.saveUserTrack('t', 0, 'u', {'i': i})
                      for i in range(3)]
        self.tm.commit()

    def test_announce_then_delete(self):
        track = self.storage[self.names[0]]
        notify(ObjectRemovedEvent(track))
        del self.storage[track.__name__]
        self.tm.commit()
        self.assertEqual(list(self.storage), self.names[1:])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_an_announcement_alone_removes_at_commit(self):
        track = self.storage[self.names[1]]
        notify(ObjectRemovedEvent(track))
        self.assertIn(track.__name__, self.storage)
        self.tm.commit()
        self.assertNotIn(track.__name__, self.storage)
        self.assertEqual(len(self.storage.getUserTracks('t', 0, 'u')), 2)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_aborted_announcement_removes_nothing(self):
        notify(ObjectRemovedEvent(self.storage[self.names[1]]))
        self.tm.abort()
        self.tm.commit()
        self.assertEqual(list(self.storage), self.names)

    def test_storage_removals_need_nothing(self):
        self.storage.removeTrack(self.storage[self.names[2]])
        self.assertEqual(list(self.tm.get().getBeforeCommitHooks()), [])
        self.tm.commit()
        self.assertEqual(list(self.storage), self.names[:2])

    def test_tracks_of_no_storage_or_gone(self):
        track = self.storage[self.names[0]]
        del self.storage[track.__name__]
        notify(ObjectRemovedEvent(track))
        track.__parent__ = None
        notify(ObjectRemovedEvent(track))
        self.assertEqual(list(self.tm.get().getBeforeCommitHooks()), [])
        self.tm.commit()
        self.assertEqual(list(self.storage), self.names[1:])

    def test_without_a_database(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('t', 0, 'u', {})
        with transaction.manager:
            notify(ObjectRemovedEvent(storage[name]))
            del storage[name]
        self.assertEqual(len(storage), 0)


class LoggerTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.path = os.path.join(self.directory, 'logs', 'access.log')
        self.name = 'cybertools.tracking.tests.%s' % self.id()
        self.addCleanup(self.removeHandlers)

    def removeHandlers(self):
        logger = logging.getLogger(self.name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()

    def read(self, path=None):
        with open(path or self.path, encoding='utf-8') as f:
            return [line.split(';', 1)[1] for line in f.read().splitlines()]

    def test_log_and_roll_over(self):
        logger = Logger(self.name, self.path)
        logger.log('001;alice;/docs;view')
        logger.log('001;bob;/docs;edit')
        logger.doRollover()
        logger.log('001;carol;/;view')
        self.assertEqual(self.read(self.path + '.1'),
                         ['001;alice;/docs;view', '001;bob;/docs;edit'])
        self.assertEqual(self.read(), ['001;carol;/;view'])

    def test_lines_start_with_the_time(self):
        logger = Logger(self.name, self.path)
        logger.log('x')
        with open(self.path) as f:
            stamp = f.read().split(';')[0]
        time.strptime(stamp.split(',')[0], '%Y-%m-%d %H:%M:%S')

    def test_backups_kept(self):
        logger = Logger(self.name, self.path, backupCount=2)
        for i in range(4):
            logger.log(str(i))
            logger.doRollover()
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.path))),
                         ['access.log', 'access.log.1', 'access.log.2'])
        self.assertEqual(self.read(self.path + '.2'), ['2'])

    def test_a_message_cannot_forge_lines(self):
        logger = Logger(self.name, self.path)
        logger.log('001;mallory;/x\n2024-01-01 00:00:00,000;001;admin;/;view')
        logger.log('cr\rlf')
        self.assertEqual(self.read(), [
            '001;mallory;/x\\n2024-01-01 00:00:00,000;001;admin;/;view',
            'cr\\rlf'])

    def test_unencodable_text_is_written_escaped(self):
        logger = Logger(self.name, self.path)
        logger.log('b\ud800d')
        logger.log('Gr\xfc\xdfe')
        self.assertEqual(self.read(), ['b\\ud800d', 'Gr\xfc\xdfe'])

    def test_messages_stay_in_the_file(self):
        records = []

        class Catch(logging.Handler):
            def emit(self, record):
                records.append(record)

        catch = Catch()
        logging.getLogger().addHandler(catch)
        self.addCleanup(logging.getLogger().removeHandler, catch)
        Logger(self.name, self.path).log('private')
        self.assertEqual(records, [])
        self.assertEqual(self.read(), ['private'])

    def test_a_second_logger_takes_over(self):
        first = Logger(self.name, self.path)
        first.log('one')
        otherPath = os.path.join(self.directory, 'other.log')
        second = Logger(self.name, otherPath)
        first.log('two')
        second.doRollover()
        second.log('three')
        self.assertEqual(self.read(), ['one'])
        self.assertEqual(self.read(otherPath + '.1'), ['two'])
        self.assertEqual(self.read(otherPath), ['three'])
        self.assertEqual(len(logging.getLogger(self.name).handlers), 1)

    def test_a_file_in_the_current_directory(self):
        cwd = os.getcwd()
        os.chdir(self.directory)
        self.addCleanup(os.chdir, cwd)
        Logger(self.name, 'plain.log').log('here')
        self.assertEqual(self.read('plain.log'), ['here'])

    def test_rollover_while_others_log(self):
        logger = Logger(self.name, self.path, backupCount=1000)
        count = 500

        def write(n):
            for i in range(count):
                logger.log('%s-%i' % (n, i))

        threads = [threading.Thread(target=write, args=(n,))
                   for n in 'ab']
        for thread in threads:
            thread.start()
        for i in range(20):
            logger.doRollover()
        for thread in threads:
            thread.join()
        lines = []
        for name in os.listdir(os.path.dirname(self.path)):
            lines.extend(self.read(os.path.join(os.path.dirname(self.path),
                                                name)))
        self.assertEqual(sorted(lines), sorted(
            '%s-%i' % (n, i) for n in 'ab' for i in range(count)))

    def test_loggers_and_the_logfile_module(self):
        from cybertools.tracking import logfile
        self.assertIs(logfile.Logger, Logger)
        self.assertIs(logfile.loggers, loggers)
        self.assertIsInstance(loggers, dict)


class TestDirTest(unittest.TestCase):

    def test_testDir(self):
        from cybertools.tracking.tests import testDir
        self.assertTrue(os.path.isdir(testDir))
        path = os.path.join(testDir, 'probe.log')
        with open(path, 'w') as f:
            f.write('x')
        os.unlink(path)
