"""The ``tracking`` command, end to end: each test runs it as a process
against a FileStorage that it prepares in a temporary directory, the way
a Zope application leaves its database: a root folder with a site manager
at ``root['Application']`` and the tracking storage as its local utility
(no ZCML needed to create or read that).
"""

import csv
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import transaction
from zope.site.folder import rootFolder
from zope.site.site import LocalSiteManager

from cybertools.tracking.index import _removeKey
from cybertools.tracking.btree import Track
from cybertools.tracking.database import openDatabase
from cybertools.tracking.installation import addTrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage

T0 = 1709251200.0       # 2024-03-01 00:00 UTC
DAY = 86400.0


class StepTrack(Track):
    """A track type with two indexed data fields: ``step`` (strings) and
    ``score`` (numbers), for ``--where``."""

    index_attributes = Track.metadata_attributes + ('step', 'score')


def fill(storage):
    """Nine tracks: three tasks, three users, four runs, three days, and
    two identical tracks."""
    quiz1 = storage.startRun('quiz')
    save = storage.saveUserTrack
    save('quiz', quiz1, 'alice', {'step': '1', 'score': 3}, timeStamp=T0 + 10)
    save('quiz', quiz1, 'bob', {'step': '1', 'score': 1}, timeStamp=T0 + 20)
    save('quiz', quiz1, 'alice', {'step': '2', 'score': 5},
         timeStamp=T0 + 30.123456)
    log = storage.startRun('log')
    save('log', log, 'alice', {'page': '/a'}, timeStamp=T0 + 40)
    save('log', log, 'alice', {'page': '/a'}, timeStamp=T0 + 40)
    save('log', log, 'carol', {'page': '/\u00fc', 'tags': ['x', 1, None],
                               'nested': {'k': 1.5}}, timeStamp=T0 + 3600)
    quiz2 = storage.startRun('quiz')
    save('quiz', quiz2, 'alice', {'step': '1', 'score': 4},
         timeStamp=T0 + DAY + 5)
    save('quiz', quiz2, 'carol', {'step': '1', 'score': 2},
         timeStamp=T0 + DAY + 6)
    save('survey', 0, 'bob', {'q': 'yes'}, timeStamp=T0 + 2 * DAY + 7)


def makeDatabase(path, tracks=True, site=True):
    """A FileStorage as an application leaves it: the root folder, a
    storage of StepTracks ('') and one of Tracks ('favorites')."""
    db = openDatabase('file://' + path)
    try:
        with db.transaction() as conn:
            if not site:
                conn.root()['other'] = 1
                return
            folder = rootFolder()
            folder.setSiteManager(LocalSiteManager(folder))
            conn.root()['Application'] = folder
            storage = addTrackingStorage(folder, trackFactory=StepTrack)
            addTrackingStorage(folder, 'favorites')
            if tracks:
                fill(storage)
    finally:
        db.close()


class Database:
    """The storage of a database file, opened in this process."""

    def __init__(self, path, name=''):
        self.db = openDatabase('file://' + path)
        self.conn = self.db.open()
        site = self.conn.root()['Application']
        self.storage = site.getSiteManager().getUtility(ITrackingStorage,
                                                        name)

    def __enter__(self):
        return self.storage

    def __exit__(self, *exc):
        if exc[0] is None:
            transaction.commit()
        else:
            transaction.abort()
        self.conn.close()
        self.db.close()


def tracksIn(path, name=''):
    with Database(path, name) as storage:
        return [dict(id=t.__name__, runId=t.runId, **{
                    k: v for k, v in t.metadata.items() if k != 'runId'},
                     data=t.data) for t in storage.values()]


def signature(track):
    return (track['taskId'], track['userName'], track['timeStamp'],
            json.dumps(track['data'], sort_keys=True))


def grouping(tracks):
    """The tracks without ids and run numbers, grouped by run."""
    runs = {}
    for track in tracks:
        runs.setdefault(track['runId'], []).append(signature(track))
    return sorted(sorted(group) for group in runs.values())


class CommandTestCase(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-cli-')
        self.path = self.file('Data.fs')
        self.db = 'file://' + self.path
        makeDatabase(self.path)

    def tearDown(self):
        shutil.rmtree(self.directory)

    def file(self, name):
        return os.path.join(self.directory, name)

    def run_(self, *args, stdin=None, db=True):
        argv = [sys.executable, '-m', 'cybertools.tracking.cli']
        if db:
            argv += ['--db', self.db]
        return subprocess.run(
            argv + list(args), input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True, text=True, cwd=self.directory, timeout=120)

    def tracking(self, *args, **kw):
        """Run the command; it must succeed quietly on stderr."""
        result = self.run_(*args, **kw)
        self.assertEqual((result.returncode, result.stderr), (0, ''),
                         result.stdout)
        return result.stdout

    def fails(self, *args, code=2, **kw):
        """Run the command; it must fail with one line on stderr."""
        result = self.run_(*args, **kw)
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        return lines[0]

    def records(self, *args):
        return json.loads(self.tracking('query', '--format', 'json', *args))


class HelpTest(CommandTestCase):

    commands = {
        None: ['--db URI', '--storage NAME', 'serve', 'query', 'export',
               'import', 'stats', 'check', 'reindex', 'purge',
               'forget-user'],
        'serve': ['--host', '--port', '--db'],
        'query': ['--task', '--user', '--run', '--from', '--to', '--where',
                  '--exact', '--limit', '--newest-first', '--format',
                  '--raw-csv'],
        'export': ['--format', '--output', '--task', '--from', '--raw-csv'],
        'import': ['FILE', 'run', '--max-line-bytes'],
        'stats': ['--by', '--limit', '--task'],
        'check': ['differences'],
        'reindex': ['Rebuild'],
        'purge': ['--before', '--yes'],
        'forget-user': ['NAME', '--yes'],
    }

    def test_every_command_has_help(self):
        for command, expected in self.commands.items():
            args = [command, '--help'] if command else ['--help']
            out = self.tracking(*args, db=False)
            self.assertIn('usage: tracking', out)
            for text in expected:
                self.assertIn(text, out, command)


class QueryTest(CommandTestCase):

    def test_table(self):
        lines = self.tracking('query').splitlines()
        self.assertEqual(lines[0].split(),
                         ['id', 'time', '(UTC)', 'task', 'run', 'user',
                          'data'])
        self.assertEqual(len(lines), 10)
        self.assertEqual(lines[1].split(None, 6), [
            '0000001', '2024-03-01', '00:00:10', 'quiz', '1', 'alice',
            '{"score": 3, "step": "1"}'])
        # aligned columns
        for column in ('task', 'user', 'data'):
            start = lines[0].index(column)
            for line in lines[1:]:
                self.assertNotEqual(line[start], ' ')
                self.assertEqual(line[start - 2:start], '  ')

    def test_newest_first_and_limit(self):
        lines = self.tracking('query', '--newest-first',
                              '--limit', '2').splitlines()
        self.assertEqual([line.split()[0] for line in lines[1:]],
                         ['0000009', '0000008'])
        self.assertEqual(self.records('--limit', '0'), [])

    def test_json_and_criteria(self):
        def ids(*args):
            return [r['id'] for r in self.records(*args)]
        first = self.records('--limit', '1')[0]
        self.assertEqual(first, {'id': '0000001', 'taskId': 'quiz',
                                 'runId': 1, 'userName': 'alice',
                                 'timeStamp': T0 + 10,
                                 'data': {'step': '1', 'score': 3}})
        self.assertEqual(ids('--task', 'quiz', '--user', 'alice'),
                         ['0000001', '0000003', '0000007'])
        self.assertEqual(ids('--task', 'qu*'), ['0000001', '0000002',
                                                '0000003', '0000007',
                                                '0000008'])
        self.assertEqual(len(ids('--task', 'quiz', '--task', 'survey')), 6)
        self.assertEqual(ids('--run', '3'), ['0000007', '0000008'])
        # dates in UTC; a date as --to includes its day
        self.assertEqual(ids('--from', '2024-03-02'),
                         ['0000007', '0000008', '0000009'])
        self.assertEqual(len(ids('--to', '2024-03-01')), 6)
        self.assertEqual(ids('--from', '2024-03-01 00:00:30',
                             '--to', '2024-03-01 00:00'),
                         ['0000003', '0000004', '0000005'])
        # seconds since the epoch, to the microsecond
        self.assertEqual(ids('--from', repr(T0 + 30.123456),
                             '--to', repr(T0 + 40)),
                         ['0000003', '0000004', '0000005'])
        # other indexes: strings, and numbers for number indexes
        self.assertEqual(ids('--where', 'step=1'),
                         ['0000001', '0000002', '0000007', '0000008'])
        self.assertEqual(ids('--where', 'score=3'), ['0000001'])
        self.assertEqual(ids('--where', 'score=3', '--where', 'score=5',
                             '--user', 'alice'), ['0000001', '0000003'])

    def test_csv(self):
        rows = list(csv.DictReader(io.StringIO(
            self.tracking('query', '--format', 'csv', '--user', 'carol'))))
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0]['time'], '2024-03-01 01:00:00')
        self.assertEqual(float(rows[0]['timeStamp']), T0 + 3600)
        self.assertEqual(json.loads(rows[0]['data'])['page'], '/\u00fc')

    def test_another_storage(self):
        self.assertEqual(self.records('--storage', 'favorites'), [])


class ExportImportTest(CommandTestCase):

    def export(self, *args):
        path = self.file('export.jsonl')
        out = self.tracking('export', '--output', path, *args)
        self.assertTrue(out.startswith('exported '))
        return path

    def test_export(self):
        lines = self.tracking('export').splitlines()
        records = self.records()
        self.assertEqual([json.loads(line) for line in lines[4:]], records)
        self.assertEqual([json.loads(line)['type'] for line in lines[:4]],
                         ['run'] * 4)
        self.assertEqual(len([line for line in self.tracking(
            'export', '--user', 'carol', '--from', '2024-03-02').splitlines()
            if '"type": "run"' not in line]), 1)
        out = self.tracking('export', '--format', 'csv',
                            '-o', self.file('tracks.csv'))
        self.assertEqual(out, 'exported 9 tracks to %s\n'
                         % self.file('tracks.csv'))
        self.assertEqual(self.export(), self.file('export.jsonl'))
        with open(self.file('tracks.csv')) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([row['id'] for row in rows],
                         [r['id'] for r in records])

    def test_export_import_round_trip(self):
        source = tracksIn(self.path)
        path = self.export()
        target = self.file('New.fs')
        makeDatabase(target, tracks=False)
        other = ['--db', 'file://' + target]
        self.assertEqual(
            self.tracking('import', path, *other),
            'imported 9 tracks into 4 new runs, skipped 0 already there\n')
        copied = tracksIn(target)
        self.assertEqual(sorted(map(signature, copied)),
                         sorted(map(signature, source)))
        self.assertEqual(grouping(copied), grouping(source))
        # again: nothing new
        self.assertEqual(
            self.tracking('import', path, *other),
            'imported 0 tracks into 0 new runs, skipped 9 already there\n')
        self.assertEqual(tracksIn(target), copied)
        # into the source itself: all there
        self.assertIn('imported 0 tracks', self.tracking('import', path))
        with Database(target) as storage:
            self.assertEqual(storage.checkIndexes(), [])
            self.assertEqual(len(storage.getRuns()), 4)

    def test_a_longer_export_adds_to_the_runs_imported_before(self):
        # an export of an earlier version: tracks only
        path = self.export()
        with open(path) as f:
            lines = [line for line in f if '"type": "run"' not in line]
        with open(self.file('part.jsonl'), 'w') as f:
            f.writelines(lines[:4])   # a part of two runs
        target = self.file('New.fs')
        makeDatabase(target, tracks=False)
        self.tracking('import', '--db', 'file://' + target,
                      self.file('part.jsonl'))
        self.assertEqual(
            self.tracking('import', '-', '--db', 'file://' + target,
                          stdin=''.join(lines)),
            'imported 5 tracks into 2 new runs, skipped 4 already there\n')
        self.assertEqual(grouping(tracksIn(target)),
                         grouping(tracksIn(self.path)))

    def test_malformed_lines(self):
        path = self.export()
        with open(path) as f:
            lines = f.readlines()
        bad = self.file('bad.jsonl')
        with open(bad, 'w') as f:
            f.writelines(lines[:2] + ['\n', '{"taskId": "x"\n'] + lines[2:])
        target = self.file('New.fs')
        makeDatabase(target, tracks=False)
        result = self.run_('import', bad, '--db', 'file://' + target)
        self.assertEqual(result.returncode, 2)
        first, last = result.stderr.splitlines()
        self.assertTrue(first.startswith('tracking: error: %s:4: not JSON'
                                         % bad), first)
        self.assertIn('1 line of %s could not be imported' % bad, last)
        # the other lines are imported
        self.assertEqual(len(tracksIn(target)), 9)
        record = dict(json.loads(lines[0]), runId='one')
        with open(bad, 'w') as f:
            f.write(json.dumps(record) + '\n')
        result = self.run_('import', bad)
        self.assertIn('%s:1: runId must be a number' % bad, result.stderr)
        self.assertIn('No such file',
                      self.fails('import', self.file('missing.jsonl')))


class StatsTest(CommandTestCase):

    def stats(self, *args):
        lines = self.tracking('stats', *args).splitlines()
        return [line.split() for line in lines]

    def test_per_task_user_day(self):
        self.assertEqual(self.stats(), [['task', 'tracks'], ['quiz', '5'],
                                        ['log', '3'], ['survey', '1']])
        self.assertEqual(self.stats('--by', 'user', '--limit', '2'),
                         [['user', 'tracks'], ['alice', '5'], ['bob', '2']])
        self.assertEqual(self.stats('--by', 'day'), [
            ['day', 'tracks'], ['2024-03-01', '6'], ['2024-03-02', '2'],
            ['2024-03-03', '1']])
        self.assertEqual(self.stats('--by', 'day', '--limit', '5'),
                         self.stats('--by', 'day'))
        self.assertEqual(self.stats('--by', 'day', '--limit', '1'),
                         [['day', 'tracks'], ['2024-03-03', '1']])
        self.assertEqual(self.stats('--by', 'day', '--task', 'quiz',
                                    '--from', '2024-03-01 00:00:15'),
                         [['day', 'tracks'], ['2024-03-01', '2'],
                          ['2024-03-02', '2']])
        self.assertEqual(json.loads(self.tracking(
            'stats', '--by', 'user', '--user', 'c*', '--format', 'json')),
            [{'user': 'carol', 'tracks': 2}])


class CheckReindexTest(CommandTestCase):

    def test_check_finds_a_broken_index_and_reindex_repairs_it(self):
        self.assertEqual(self.tracking('check'),
                         'the indexes agree with the 9 tracks\n')
        with Database(self.path) as storage:
            storage.indexPending()
            first = min(storage._index.keys(storage._index.values['taskId'],
                                            'quiz'))
            _removeKey(storage._index.values['taskId'], 'quiz', first,
                       storage._index.counts['taskId'])
        result = self.run_('check')
        self.assertEqual(result.returncode, 1)
        self.assertIn("taskId 'quiz': missing track 0000001", result.stdout)
        self.assertEqual(len(result.stderr.splitlines()), 1)
        self.assertEqual(self.tracking('reindex'), 'reindexed 9 tracks\n')
        self.assertEqual(self.tracking('check'),
                         'the indexes agree with the 9 tracks\n')


class RemovalTest(CommandTestCase):

    def test_refused_without_yes_when_not_on_a_terminal(self):
        for args in (['purge', '--before', '2030-01-01'],
                     ['forget-user', 'alice']):
            line = self.fails(*args)
            self.assertIn('--yes', line)
        self.assertEqual(len(tracksIn(self.path)), 9)

    def test_purge(self):
        # to the microsecond: the track at the time stays
        self.assertEqual(self.tracking('purge', '--before',
                                       repr(T0 + 30.123456), '--yes'),
                         'removed 2 tracks\n')
        self.assertEqual(self.tracking('purge', '--before', '2024-03-02',
                                       '--yes'), 'removed 4 tracks\n')
        left = tracksIn(self.path)
        self.assertEqual([t['id'] for t in left],
                         ['0000007', '0000008', '0000009'])
        self.assertEqual(self.tracking('purge', '--before', '2024-03-02',
                                       '--yes'), 'removed 0 tracks\n')

    def test_forget_user(self):
        self.assertEqual(self.tracking('forget-user', 'alice', '-y'),
                         'removed 5 tracks of alice\n')
        left = tracksIn(self.path)
        self.assertEqual(len(left), 4)
        self.assertNotIn('alice', [t['userName'] for t in left])
        result = self.run_('forget-user', 'nobody', '--yes')
        self.assertEqual((result.returncode, result.stdout),
                         (0, 'removed 0 tracks of nobody\n'))
        self.assertIn('warning: forget-user: no tracks of nobody',
                      result.stderr)

    def test_removals_are_committed_in_batches(self):
        with Database(self.path) as storage:
            for i in range(2500):
                storage.saveUserTrack('bulk', 0, 'dave', {'i': i},
                                      timeStamp=T0 + 5 + i / 1000)
        self.assertEqual(self.tracking('forget-user', 'dave', '--yes'),
                         'removed 2500 tracks of dave\n')
        with Database(self.path) as storage:
            self.assertEqual(len(storage), 9)
            self.assertEqual(storage.checkIndexes(), [])

    def onTerminal(self, answer, *args):
        """Run the command with stdin and stderr on a terminal; answer its
        question. Returns (exit code, stdout, terminal output)."""
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.cli', '--db', self.db]
            + list(args), stdin=slave, stderr=slave, stdout=subprocess.PIPE,
            cwd=self.directory)
        os.close(slave)
        shown = b''
        try:
            deadline = time.time() + 60
            while b'[y/N]' not in shown and time.time() < deadline:
                if select.select([master], [], [], 1)[0]:
                    shown += os.read(master, 1024)
            os.write(master, answer + b'\n')
            out = process.communicate(timeout=60)[0].decode()
            while select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 1024)
                except OSError:     # the other end is closed
                    break
                if not data:
                    break
                shown += data
        finally:
            os.close(master)
            process.stdout.close()
        return process.returncode, out, shown.decode()

    def test_confirmation_on_a_terminal(self):
        code, out, shown = self.onTerminal(b'n', 'forget-user', 'bob')
        self.assertIn("Remove all 2 tracks of 'bob' from storage ''?", shown)
        self.assertEqual((code, out), (1, 'nothing removed\n'))
        self.assertEqual(len(tracksIn(self.path)), 9)
        code, out, shown = self.onTerminal(b'y', 'forget-user', 'bob')
        self.assertNotIn('Traceback', shown)
        self.assertEqual((code, out), (0, 'removed 2 tracks of bob\n'))
        self.assertEqual(len(tracksIn(self.path)), 7)


class ErrorTest(CommandTestCase):

    def test_bad_uris_and_databases(self):
        self.assertIn('not a database URI',
                      self.fails('query', '--db', 'var/Data.fs'))
        self.assertIn('unknown database URI scheme',
                      self.fails('query', '--db', 'nosuch://x'))
        self.assertIn('there is no database file',
                      self.fails('query', '--db',
                                 'file://' + self.file('missing.fs')))
        makeDatabase(self.file('Other.fs'), site=False)
        self.assertIn('no Zope root folder',
                      self.fails('query', '--db',
                                 'file://' + self.file('Other.fs')))

    def test_a_locked_database(self):
        db = openDatabase(self.db)
        try:
            line = self.fails('query')
        finally:
            db.close()
        self.assertIn('in use by another process', line)

    def test_missing_utility(self):
        line = self.fails('query', '--storage', 'nosuch')
        self.assertIn("no tracking storage 'nosuch'", line)
        self.assertIn("'favorites'", line)

    def test_malformed_criteria(self):
        self.assertIn("--from: 'yesterday' is not a time",
                      self.fails('query', '--from', 'yesterday'))
        self.assertIn('not a valid date',
                      self.fails('query', '--from', '2024-02-30'))
        self.assertIn('later than',
                      self.fails('query', '--from', '2024-03-02',
                                 '--to', '2024-03-01'))
        self.assertIn('not NAME=VALUE', self.fails('export', '--where', 'x'))
        self.assertIn("unknown criterion 'color'",
                      self.fails('stats', '--where', 'color=red'))
        self.assertIn('the index holds numbers',
                      self.fails('query', '--where', 'score=high'))
        self.assertIn("--run: 'one'", self.fails('query', '--run', 'one'))
        self.assertIn('--before',
                      self.fails('purge', '--before', '1.1.2024', '--yes'))
        # usage errors are one line too
        self.assertIn('unrecognized arguments',
                      self.fails('query', '--bogus'))
        self.assertIn('required', self.fails(db=False))


class ServeTest(CommandTestCase):

    def test_serve(self):
        from urllib.request import urlopen

        from cybertools.tracking.testing import freePort
        port = freePort()
        process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.cli', 'serve',
             '--db', 'file://' + self.file('Demo.fs'), '--port', str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.directory)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    with urlopen('http://127.0.0.1:%i/' % port,
                                 timeout=5) as response:
                        self.assertEqual(response.status, 200)
                    break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(30)
