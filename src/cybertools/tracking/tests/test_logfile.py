"""Access logging: the manual (logfile.txt) and the edge cases of writing,
rotating and loading logs."""

import doctest
import io
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import unittest
from unittest import mock

import zope.component.testing

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.logfile import AccessLogger
from cybertools.tracking.logfile import loadAccessLog
from cybertools.tracking.logfile import logFiles
from cybertools.tracking.testing import recordLoads

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

T0 = 1700000000.0


def record(user='alice', obj='/doc', action='view', t=T0, **extra):
    return dict(time=t, user=user, object=obj, action=action, **extra)


class LogDirTestCase(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, 'access.log')

    def logger(self, **kw):
        logger = AccessLogger(self.path, **kw)
        self.addCleanup(logger.close)
        return logger

    def writeLines(self, lines, path=None, mode='w'):
        with open(path or self.path, mode + 'b') as f:
            for line in lines:
                if isinstance(line, dict):
                    line = json.dumps(line)
                if isinstance(line, str):
                    line = line.encode('utf-8')
                f.write(line + b'\n')

    def readRecords(self, path=None):
        with open(path or self.path, encoding='utf-8') as f:
            return [json.loads(line) for line in f]

    def load(self, storage, **kw):
        kw.setdefault('progress', False)
        return loadAccessLog(storage, self.path, **kw)


class AccessLoggerTest(LogDirTestCase):

    def test_record_keys_and_extra_fields(self):
        logger = self.logger()
        with mock.patch('time.time', return_value=T0 + 0.125):
            logger.log('alice', '/doc', 'view', size=3, tags=('a', 'b'))
        self.assertEqual(self.readRecords(),
                         [record(t=T0 + 0.125, size=3, tags=['a', 'b'])])

    def test_separators_newlines_and_unicode_stay_in_one_line(self):
        logger = self.logger()
        values = ['a;b', 'two\nlines', 'cr\rhere', 'tab\tquote"', 'back\\',
                  '\u2028line separator', 'Gr\xfc\xdfe \U0001f600', '{"x":1}']
        for i, value in enumerate(values):
            logger.log('u;1', '/doc;%i' % i, 'view', text=value)
        with open(self.path, 'rb') as f:
            lines = f.read().split(b'\n')
        self.assertEqual(lines[-1], b'')
        self.assertEqual(len(lines) - 1, len(values))
        self.assertEqual([r['text'] for r in self.readRecords()], values)

    def test_refused_records_write_nothing(self):
        logger = self.logger()
        for args, kw, exception in (
                (('', '/doc', 'view'), {}, ValueError),
                ((None, '/doc', 'view'), {}, TypeError),
                (('u', '', 'view'), {}, ValueError),
                (('u', '/doc', ''), {}, ValueError),
                (('u', '/doc', 'view'), {'timeStamp': 'now'}, TypeError),
                (('u', '/doc', 'view'), {'timeStamp': -1}, ValueError),
                (('u', '/doc', 'view'), {'user': 'x'}, ValueError),
                (('u', '/doc', 'view'), {'object': 'x'}, ValueError),
                (('u', '/doc', 'view'), {'n': float('nan')}, ValueError),
                (('u', '/doc', 'view'), {'n': {1: 2}}, TypeError),
                (('u', '/doc', 'view'), {'n': b'bytes'}, TypeError)):
            with self.subTest(args=args, kw=kw):
                with self.assertRaises(exception):
                    logger.log(*args, **kw)
        self.assertFalse(os.path.exists(self.path))

    def test_directory_is_created(self):
        path = os.path.join(self.dir, 'a', 'b', 'access.log')
        with AccessLogger(path) as logger:
            logger.log('u', '/doc', 'view')
        self.assertTrue(os.path.exists(path))

    def test_rotation_keeps_backup_count_files(self):
        logger = self.logger(maxBytes=300, backupCount=2)
        for i in range(20):
            logger.log('u', '/doc', 'view', timeStamp=T0 + i)
        self.assertEqual(logFiles(self.path), [self.path + '.2',
                                               self.path + '.1', self.path])
        for filename in logFiles(self.path):
            self.assertLessEqual(os.path.getsize(filename), 300)
        times = [r['time'] for f in logFiles(self.path)
                 for r in self.readRecords(f)]
        self.assertEqual(times, sorted(times))
        self.assertEqual(times[-1], T0 + 19)

    def test_concurrent_threads_lose_and_mix_nothing(self):
        # small files: many rotations happen while the threads write
        logger = self.logger(maxBytes=4000, backupCount=200)
        threads, perThread = 8, 250
        start = threading.Barrier(threads)

        def write(n):
            start.wait()
            for i in range(perThread):
                logger.log('user%i' % n, '/doc', 'view', seq=i,
                           text='x' * (i % 50))

        workers = [threading.Thread(target=write, args=(n,))
                   for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        files = logFiles(self.path)
        self.assertGreater(len(files), 10)
        records = [r for f in files for r in self.readRecords(f)]
        self.assertEqual(sorted((r['user'], r['seq']) for r in records),
                         sorted(('user%i' % n, i) for n in range(threads)
                                for i in range(perThread)))
        for n in range(threads):
            # each thread's records come in the order it wrote them
            seqs = [r['seq'] for r in records if r['user'] == 'user%i' % n]
            self.assertEqual(seqs, list(range(perThread)))


class LogFilesTest(LogDirTestCase):

    def test_order_and_unrelated_files(self):
        for name in ('access.log', 'access.log.1', 'access.log.10',
                     'access.log.2', 'access.log.old', 'access.log.1.gz',
                     'other.log.3', 'xaccess.log.4'):
            open(os.path.join(self.dir, name), 'w').close()
        self.assertEqual([os.path.basename(f) for f in logFiles(self.path)],
                         ['access.log.10', 'access.log.2', 'access.log.1',
                          'access.log'])

    def test_special_characters_in_the_name(self):
        path = os.path.join(self.dir, 'a[1]+.log')
        for name in ('a[1]+.log', 'a[1]+.log.1', 'a1+.log.2'):
            open(os.path.join(self.dir, name), 'w').close()
        self.assertEqual(logFiles(path), [path + '.1', path])

    def test_relative_path(self):
        open(self.path, 'w').close()
        cwd = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, cwd)
        self.assertEqual(logFiles('access.log'), ['access.log'])


class LoadTest(LogDirTestCase):

    def test_fields_of_the_tracks(self):
        self.writeLines([record(t=T0 + 0.5, size=3, nested={'a': [1, None]})])
        storage = TrackingStorage()
        summary = self.load(storage)
        self.assertEqual((summary.loaded, summary.duplicates, summary.errors,
                          summary.files), (1, 0, [], [self.path]))
        track = storage['0000001']
        self.assertEqual((track.taskId, track.userName, track.timeStamp),
                         ('/doc', 'alice', T0 + 0.5))
        self.assertEqual(track.data, {'action': 'view', 'size': 3,
                                      'nested': {'a': [1, None]}})
        self.assertEqual(storage.getRun('/doc').start, T0 + 0.5)

    def test_rotated_files_load_oldest_first(self):
        logger = self.logger(maxBytes=250, backupCount=50)
        for i in range(30):
            logger.log('u', '/doc%i' % (i % 3), 'view', timeStamp=T0 + i,
                       seq=i)
        self.assertGreater(len(logFiles(self.path)), 5)
        storage = TrackingStorage()
        self.assertEqual(self.load(storage).loaded, 30)
        # saved in the order of the log: ids follow the sequence
        self.assertEqual([storage[name].data['seq'] for name in storage],
                         list(range(30)))

    def test_only_rotated_files(self):
        self.writeLines([record(t=T0)], path=self.path + '.1')
        storage = TrackingStorage()
        self.assertEqual(self.load(storage).loaded, 1)

    def test_no_log_at_all(self):
        with self.assertRaises(FileNotFoundError) as cm:
            self.load(TrackingStorage())
        self.assertIn(self.path, str(cm.exception))

    def test_same_file_twice_adds_nothing(self):
        self.writeLines([record(t=T0 + i, user='u%i' % (i % 2))
                         for i in range(10)])
        storage = TrackingStorage()
        self.assertEqual(self.load(storage).loaded, 10)
        before = [(t.__name__, t.metadata, t.data) for t in storage.values()]
        summary = self.load(storage)
        self.assertEqual((summary.loaded, summary.duplicates), (0, 10))
        self.assertEqual([(t.__name__, t.metadata, t.data)
                          for t in storage.values()], before)
        self.assertEqual(storage.checkIndexes(), [])

    def test_identical_records_load_as_often_as_they_occur(self):
        same = record(t=T0)
        self.writeLines([same, same, record(t=T0, action='edit'), same])
        storage = TrackingStorage()
        self.assertEqual(self.load(storage).loaded, 4)
        self.assertEqual(self.load(storage).duplicates, 4)
        self.assertEqual(len(storage), 4)

    def test_partly_loaded_identical_records_are_completed(self):
        same = record(t=T0)
        self.writeLines([same])
        storage = TrackingStorage()
        self.load(storage)
        self.writeLines([same, same, same])
        summary = self.load(storage)
        self.assertEqual((summary.loaded, summary.duplicates), (2, 1))
        self.assertEqual(len(storage), 3)

    def test_records_differing_in_one_part_are_not_duplicates(self):
        base = record(t=T0)
        # the next float after T0: the same microsecond in the index
        nextTime = math.nextafter(T0, math.inf)
        variants = [base, record(t=T0 + 0.001), record(t=nextTime),
                    record(t=T0, user='bob'),
                    record(t=T0, obj='/other'), record(t=T0, action='edit'),
                    record(t=T0, extra=1), record(t=T0, extra=2)]
        self.writeLines(variants)
        storage = TrackingStorage()
        self.assertEqual(self.load(storage).loaded, len(variants))
        self.assertEqual(self.load(storage).duplicates, len(variants))

    def test_track_changed_after_loading_is_loaded_again(self):
        # what is compared is the data: a track whose data was changed (or
        # that was removed) no longer stands for the record
        self.writeLines([record(t=T0), record(t=T0 + 1)])
        storage = TrackingStorage()
        self.load(storage)
        storage.removeTrack(storage['0000001'])
        self.assertEqual(self.load(storage).loaded, 1)

    def test_duplicate_check_uses_the_index(self):
        storage = TrackingStorage()
        # many tracks of the same user and object at other times
        for i in range(500):
            storage.saveUserTrack('/doc', 0, 'alice', {'action': 'view'},
                                  timeStamp=T0 - 1000 + i * 0.5)
        self.writeLines([record(t=T0 + i) for i in range(20)])
        loads = recordLoads(self, storage)
        self.assertEqual(self.load(storage).loaded, 20)
        self.assertEqual(len(loads), 0)
        self.assertEqual(self.load(storage).duplicates, 20)
        # each record loads the one track at its time, nothing else
        self.assertEqual(len(loads), 20)

    def test_malformed_lines_are_reported_and_the_rest_loads(self):
        lines = [
            record(t=T0 + 1),                                        # 1
            'not json',                                              # 2
            '[1, 2]',                                                # 3
            json.dumps({'time': T0, 'user': 'u', 'action': 'view'}),  # 4
            json.dumps(record(t='yesterday')),                       # 5
            json.dumps(record(t=-5)),                                # 6
            '{"time": NaN, "user": "u", "object": "o", "action": "a"}',  # 7
            json.dumps(record(user='')),                             # 8
            json.dumps(record(user=7)),                              # 9
            json.dumps(record(action=None)),                         # 10
            b'{"time": 1, "user": "\xff", "object": "o", "action": "a"}',  # 11
            '',                                                      # 12
            '   ',                                                   # 13
            record(t=T0 + 2),                                        # 14
        ]
        self.writeLines(lines)
        with open(self.path, 'ab') as f:
            f.write(b'{"time": 1700000003.0, "user": "u", "obj')     # 15
        storage = TrackingStorage()
        with self.assertLogs('cybertools.tracking.logfile', 'WARNING') as cm:
            summary = self.load(storage)
        self.assertEqual(summary.loaded, 2)
        self.assertEqual([int(e.split(', line ')[1].split(':')[0])
                          for e in summary.errors],
                         [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15])
        for error in summary.errors:
            self.assertTrue(error.startswith(self.path + ', line '), error)
        messages = dict((int(e.split(', line ')[1].split(':')[0]),
                         e.split(': ', 1)[1]) for e in summary.errors)
        self.assertIn('malformed JSON', messages[2])
        self.assertEqual(messages[3], 'not a JSON object but list')
        self.assertEqual(messages[4], "'object' missing")
        self.assertIn('time must be seconds since the epoch', messages[5])
        self.assertIn('NaN', messages[7])
        self.assertEqual(messages[8], 'user must not be empty')
        self.assertIn('not UTF-8', messages[11])
        self.assertEqual(len(cm.output), 11)
        self.assertEqual(str(summary), '2 loaded, 0 duplicates, 11 errors')
        self.assertEqual([t.timeStamp for t in storage.values()],
                         [T0 + 1, T0 + 2])

    def test_error_in_a_rotated_file_names_that_file(self):
        self.writeLines(['oops'], path=self.path + '.1')
        self.writeLines([record()])
        summary = self.load(TrackingStorage())
        self.assertEqual(summary.errors,
                         [self.path + '.1, line 1: malformed JSON (Expecting '
                          'value: line 1 column 1 (char 0))'])
        self.assertEqual(summary.loaded, 1)


class ProgressTest(LogDirTestCase):

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    def loadWithStderr(self, stderr, **kw):
        self.writeLines([record(t=T0 + i) for i in range(5)])
        with mock.patch.object(sys, 'stderr', stderr):
            summary = loadAccessLog(TrackingStorage(), self.path, **kw)
        self.assertEqual(summary.loaded, 5)
        return stderr.getvalue()

    def test_quiet_when_not_a_terminal(self):
        self.assertEqual(self.loadWithStderr(io.StringIO()), '')

    def test_bar_on_a_terminal(self):
        self.assertIn('access log', self.loadWithStderr(self.Terminal()))

    def test_forced_on_and_off(self):
        self.assertIn('access log',
                      self.loadWithStderr(io.StringIO(), progress=True))
        self.assertEqual(self.loadWithStderr(self.Terminal(), progress=False),
                         '')


class HostileRecordTest(LogDirTestCase):
    """Records an older version (or a hand) may have left in a log: each
    is refused with its file and line, and the others load."""

    def assertRefused(self, line, message):
        self.writeLines([record(t=T0), line, record(t=T0 + 1)])
        storage = TrackingStorage()
        with self.assertLogs('cybertools.tracking.logfile', 'WARNING'):
            summary = self.load(storage)
        self.assertEqual(summary.loaded, 2)
        self.assertEqual(len(summary.errors), 1)
        self.assertTrue(summary.errors[0].startswith(
            '%s, line 2: ' % self.path), summary.errors[0])
        self.assertIn(message, summary.errors[0])
        self.assertEqual(len(storage), 2)

    def test_escaped_lone_surrogates(self):
        for line in (r'{"time": 1700000000.5, "user": "eve\ud800", '
                     r'"object": "/doc", "action": "view"}',
                     r'{"time": 1700000000.5, "user": "eve", '
                     r'"object": "/doc\udfff", "action": "view"}',
                     r'{"time": 1700000000.5, "user": "eve", '
                     r'"object": "/doc", "action": "view", '
                     r'"note": ["\udc00"]}'):
            with self.subTest(line=line):
                self.assertRefused(line, 'not valid Unicode')

    def test_deep_nesting(self):
        # json itself gives up (RecursionError) long before this depth
        deep = '[' * 100000 + ']' * 100000
        self.assertRefused(deep, 'nests too deep')
        # deep enough for json, too deep for a track
        nested = []
        for i in range(60):
            nested = [nested]
        self.assertRefused(json.dumps(record(t=T0 + 0.5, nested=nested)),
                           'deeper than')

    def test_names_ending_in_a_star_are_not_duplicates(self):
        # the same time, object and data: only the user differs
        self.writeLines([record(user='alice'), record(user='al*'),
                         record(user='alice*')])
        storage = TrackingStorage()
        self.assertEqual(str(self.load(storage)),
                         '3 loaded, 0 duplicates, 0 errors')
        self.assertEqual(str(self.load(storage)),
                         '0 loaded, 3 duplicates, 0 errors')

    def test_logger_refuses_lone_surrogates(self):
        logger = self.logger()
        for args, extra in ((('eve\ud800', '/doc', 'view'), {}),
                            (('eve', '/doc\udfff', 'view'), {}),
                            (('eve', '/doc', 'view'), {'note': '\udc00'})):
            with self.subTest(args=args, extra=extra):
                with self.assertRaises(ValueError):
                    logger.log(*args, timeStamp=T0, **extra)
        logger.close()
        self.assertFalse(os.path.exists(self.path))


def setUpManual(test):
    zope.component.testing.setUp(test)
    test.globs['logdir'] = tempfile.mkdtemp()


def tearDownManual(test):
    shutil.rmtree(test.globs['logdir'])
    zope.component.testing.tearDown(test)


def test_suite():
    return unittest.TestSuite([
        doctest.DocFileSuite('../logfile.txt', setUp=setUpManual,
                             tearDown=tearDownManual, optionflags=FLAGS),
        unittest.defaultTestLoader.loadTestsFromModule(
            sys.modules[__name__]),
    ])
