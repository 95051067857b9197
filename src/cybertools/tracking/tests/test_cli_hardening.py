"""The ``tracking`` command against hostile and damaged input: records an
older version stored, deep nesting, over-long lines, spreadsheet
formulas, names ending in ``*``, read-only opening, the full date range,
a ZEO server nobody runs, a reader that goes away, and export/import of
runs. Each test runs the command as a process, as test_cli does."""

import csv
import fcntl
import hashlib
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import unittest

from cybertools.tracking.testing import freePort
from cybertools.tracking.tests import test_cli
from cybertools.tracking.testing import storeUnchecked
from cybertools.tracking.tests.test_cli import T0
from cybertools.tracking.tests.test_cli import CommandTestCase
from cybertools.tracking.tests.test_cli import Database
from cybertools.tracking.tests.test_cli import makeDatabase


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class BadRecordTest(CommandTestCase):
    """A track with lone surrogates, as an older version could store it."""

    def setUp(self):
        super().setUp()
        with Database(self.path) as storage:
            runId = storage.startRun()
            self.bad = storeUnchecked(storage, 'bad\ud800', runId,
                                      'eve\udfff', {'note': '\udc00'},
                                      T0 + 50)

    def assertEscaped(self, result):
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn('written escaped', result.stderr)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)

    def test_export_writes_it_escaped_and_says_so(self):
        result = self.run_('export')
        self.assertEscaped(result)
        self.assertIn(self.bad, result.stderr)
        records = [json.loads(line) for line in result.stdout.splitlines()]
        tracks = [r for r in records if 'type' not in r]
        self.assertEqual(len(tracks), 10)
        bad = [r for r in tracks if r['id'] == self.bad][0]
        # JSON's own escapes: reading the line gives the stored text back
        self.assertEqual((bad['taskId'], bad['userName'], bad['data']),
                         ('bad\ud800', 'eve\udfff', {'note': '\udc00'}))
        self.assertIn(r'"bad\ud800"', result.stdout)

    def test_query_and_stats_in_every_format(self):
        for args in (['query'], ['query', '--format', 'json'],
                     ['query', '--format', 'csv'], ['stats'],
                     ['stats', '--by', 'user', '--format', 'json'],
                     ['stats', '--by', 'user', '--format', 'csv'],
                     ['stats', '--by', 'day']):
            with self.subTest(args=args):
                result = self.run_(*args)
                if args == ['stats', '--by', 'day']:
                    # no names shown: nothing to escape
                    self.assertEqual((result.returncode, result.stderr),
                                     (0, ''))
                    continue
                self.assertEscaped(result)
                self.assertIn(r'\ud800' if '--by' not in args
                              else r'eve\udfff', result.stdout)

    def test_import_refuses_it_and_imports_the_rest(self):
        export = self.file('export.jsonl')
        self.assertEscaped(self.run_('export', '-o', export))
        target = self.file('New.fs')
        result = self.run_('import', export, '--db', 'file://' + target)
        self.assertEqual(result.returncode, 2)
        errors = result.stderr.splitlines()
        self.assertEqual(len(errors), 2, result.stderr)
        # 5 runs, then the bad track after the first 5 tracks
        self.assertIn('%s:11: taskId' % export, errors[0])
        self.assertIn('not valid Unicode', errors[0])
        self.assertIn('1 line of %s could not be imported' % export,
                      errors[1])
        with Database(target) as storage:
            self.assertEqual(len(storage), 9)


class DeepNestingTest(CommandTestCase):

    def test_import_refuses_the_line_and_imports_the_rest(self):
        export = self.file('export.jsonl')
        self.tracking('export', '-o', export)
        with open(export) as f:
            lines = f.readlines()
        nested = []
        for i in range(60):
            nested = [nested]
        record = dict(json.loads(lines[-1]), data={'deep': nested})
        bad = self.file('bad.jsonl')
        with open(bad, 'w') as f:
            f.writelines(lines[:6])
            # too deep for json itself (a RecursionError), then too deep
            # for a track
            f.write('[' * 100000 + ']' * 100000 + '\n')
            f.write(json.dumps(record) + '\n')
            f.writelines(lines[6:])
        target = self.file('New.fs')
        result = self.run_('import', bad, '--db', 'file://' + target)
        self.assertEqual(result.returncode, 2)
        self.assertNotIn('Traceback', result.stderr)
        errors = result.stderr.splitlines()
        self.assertEqual(len(errors), 3, result.stderr)
        self.assertIn('%s:7: not a record: it nests too deep' % bad,
                      errors[0])
        self.assertIn('%s:8: ' % bad, errors[1])
        self.assertIn('deeper than 50 levels', errors[1])
        with Database(target) as storage:
            self.assertEqual(len(storage), 9)


class LineLengthTest(CommandTestCase):

    def test_a_line_beyond_the_limit_ends_the_import(self):
        export = self.file('export.jsonl')
        self.tracking('export', '-o', export)
        with open(export) as f:
            lines = f.readlines()
        long = self.file('long.jsonl')
        with open(long, 'w') as f:
            f.writelines(lines[:6])
            f.write('x' * 5000 + '\n')
            f.writelines(lines[6:])
        target = self.file('New.fs')
        line = self.fails('import', long, '--max-line-bytes', '1000',
                          '--db', 'file://' + target)
        self.assertIn('%s:7: the line is longer than 1000 bytes' % long,
                      line)
        # what came before is imported
        with Database(target) as storage:
            self.assertEqual(len(storage), 2)

    def test_dev_zero(self):
        line = self.fails('import', '/dev/zero')
        self.assertIn('/dev/zero:1: the line is longer than', line)
        with Database(self.path) as storage:
            self.assertEqual(len(storage), 9)


class SpreadsheetTest(CommandTestCase):
    """Cells a spreadsheet would run as formulas get a leading '."""

    names = ('=HYPERLINK("http://example.com")', '+1', '-2', '@SUM(A1)',
             '\tx', '\rx')

    def setUp(self):
        super().setUp()
        with Database(self.path) as storage:
            for i, name in enumerate(self.names):
                storage.saveUserTrack(name, 0, name, {}, timeStamp=T0 + i)

    def rows(self, *args):
        # (reading the output as text makes the CR of a cell a newline)
        return [[cell.replace('\n', '\r') for cell in row]
                for row in csv.reader(io.StringIO(self.tracking(*args),
                                                  newline=''))]

    def test_export_query_and_stats(self):
        for args, columns in ((['export', '--format', 'csv'], (1, 3)),
                              (['query', '--format', 'csv'], (1, 3)),
                              (['stats', '--format', 'csv'], (0,)),
                              (['stats', '--by', 'user', '--format', 'csv'],
                               (0,))):
            with self.subTest(args=args):
                rows = self.rows(*args)
                cells = {row[c] for row in rows for c in columns}
                for name in self.names:
                    self.assertIn("'" + name, cells)
                    self.assertNotIn(name, cells)
                rows = self.rows(*args + ['--raw-csv'])
                cells = {row[c] for row in rows for c in columns}
                for name in self.names:
                    self.assertIn(name, cells)

    def test_documented_in_the_help(self):
        for command in ('export', 'query', 'stats'):
            self.assertIn('--raw-csv', self.tracking(command, '--help',
                                                     db=False))


class ExactNameTest(CommandTestCase):
    """Where one name is meant, a name ending in * is that name."""

    def setUp(self):
        super().setUp()
        with Database(self.path) as storage:
            for user in ('al*', 'alice*'):
                storage.saveUserTrack('quiz*', 0, user, {},
                                      timeStamp=T0 + 60)

    def test_stats_counts_each_name(self):
        counts = dict(line.split() for line in self.tracking(
            'stats', '--by', 'user').splitlines()[1:])
        self.assertEqual(counts, {'alice': '5', 'bob': '2', 'carol': '2',
                                  'al*': '1', 'alice*': '1'})
        counts = dict(line.split() for line in self.tracking(
            'stats').splitlines()[1:])
        self.assertEqual(counts['quiz*'], '2')
        self.assertEqual(counts['quiz'], '5')

    def test_forget_user(self):
        self.assertEqual(self.tracking('forget-user', 'al*', '--yes'),
                         'removed 1 tracks of al*\n')
        with Database(self.path) as storage:
            self.assertEqual(sorted(storage.getUserNames('quiz*')),
                             ['alice*'])
            self.assertEqual(len(storage), 10)

    def test_forget_user_asks_about_that_name_only(self):
        # (the terminal helper of test_cli's removal tests)
        code, out, shown = test_cli.RemovalTest.onTerminal(
            self, b'n', 'forget-user', 'al*')
        self.assertIn("Remove all 1 tracks of 'al*' from storage ''?", shown)
        self.assertEqual((code, out), (1, 'nothing removed\n'))

    def test_patterns_and_exact(self):
        def users(*args):
            return sorted({r['userName'] for r in self.records(*args)})
        self.assertEqual(users('--user', 'al*'), ['al*', 'alice', 'alice*'])
        self.assertEqual(users('--user', 'al*', '--exact'), ['al*'])
        self.assertEqual(len(self.records('--task', 'quiz*')), 7)
        self.assertEqual(len(self.records('--task', 'quiz*', '--exact')), 2)


class ReadOnlyTest(CommandTestCase):
    """stats, query, export and check never create or change a file."""

    commands = (['stats'], ['query'], ['export'], ['check'])

    def test_a_database_is_not_written(self):
        before = digest(self.path)
        for args in self.commands:
            self.tracking(*args)
        self.assertEqual(digest(self.path), before)

    def test_an_empty_file_is_an_error(self):
        empty = self.file('Empty.fs')
        open(empty, 'w').close()
        for args in self.commands:
            with self.subTest(args=args):
                line = self.fails(*args, '--db', 'file://' + empty)
                self.assertIn('is empty: it is not a database', line)
                self.assertEqual(os.path.getsize(empty), 0)

    def test_a_damaged_file_is_left_alone(self):
        damaged = self.file('Damaged.fs')
        with open(self.path, 'rb') as f:
            data = f.read()
        with open(damaged, 'wb') as f:
            f.write(data[:len(data) // 2])
        before = digest(damaged)
        for args in self.commands:
            with self.subTest(args=args):
                self.run_(*args, '--db', 'file://' + damaged)
                self.assertEqual(digest(damaged), before)

    def test_a_missing_file_is_not_created(self):
        missing = self.file('Missing.fs')
        for args in self.commands:
            self.fails(*args, '--db', 'file://' + missing)
        self.assertFalse(os.path.exists(missing))


class TimeRangeTest(CommandTestCase):

    def test_the_last_day(self):
        self.assertEqual(len(self.records('--to', '9999-12-31')), 9)
        self.assertEqual(len(self.records('--from', '9999-12-31')), 0)
        self.assertEqual(len(self.records('--to', '9999-12-31 23:59:59')), 9)


class ZEOTimeoutTest(CommandTestCase):

    def test_nobody_answers(self):
        line = self.fails('query', '--db', 'zeo://127.0.0.1:%i' % freePort())
        self.assertIn('no ZEO server answered at zeo://127.0.0.1:', line)


class BrokenPipeTest(CommandTestCase):

    def test_the_reader_goes_away(self):
        with Database(self.path) as storage:
            for i in range(3000):
                storage.saveUserTrack('bulk', 0, 'dave', {'i': i, 'pad': 'x'
                                                          * 50},
                                      timeStamp=T0 + 10 + i)
        process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.cli', '--db',
             self.db, 'export'], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.directory)
        first = process.stdout.readline()
        process.stdout.close()      # like "| head -1"
        stderr = process.stderr.read()
        process.stderr.close()
        self.assertEqual(process.wait(60), 0)
        self.assertEqual(stderr, b'')
        self.assertTrue(first.startswith(b'{'))


class ProgressTest(CommandTestCase):

    def onTerminal(self, *args):
        """Run the command with stderr on a terminal: (exit code, what the
        terminal showed)."""
        master, slave = pty.openpty()
        # a terminal of 24 lines of 80 columns (a new pty has none)
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack('HHHH', 24, 80, 0, 0))
        process = subprocess.Popen(
            [sys.executable, '-m', 'cybertools.tracking.cli', '--db',
             self.db] + list(args), stdin=subprocess.DEVNULL, stderr=slave,
            stdout=subprocess.DEVNULL, cwd=self.directory)
        os.close(slave)
        shown = b''
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                if select.select([master], [], [], 0.5)[0]:
                    try:
                        data = os.read(master, 4096)
                    except OSError:     # the other end is closed
                        break
                    if not data:
                        break
                    shown += data
                elif process.poll() is not None:
                    break
            code = process.wait(60)
        finally:
            os.close(master)
        return code, shown.decode('utf-8', 'replace')

    def test_check_and_reindex_show_a_bar(self):
        for command in ('check', 'reindex'):
            with self.subTest(command=command):
                code, shown = self.onTerminal(command)
                self.assertEqual(code, 0, shown)
                self.assertIn('%s: ' % command, shown)
                self.assertIn('/9 ', shown)


class RunsTest(CommandTestCase):
    """export and import carry runs: their ids, start, end, stop time,
    finished flag, and which is current."""

    def setUp(self):
        super().setUp()
        with Database(self.path) as storage:
            # the log's run finished, the survey's stopped unfinished
            storage.stopRun('log', stopped=T0 + 7200)
            storage.stopRun('survey', finish=False, stopped=T0 + 3 * 86400)
            # a run without tracks yet
            storage.startRun('empty', start=T0 + 4 * 86400)

    def runs(self, path):
        with Database(path) as storage:
            current = {run.taskId: run.id for run in storage.getRuns()
                       if run.taskId and storage.getRun(run.taskId) is not
                       None and storage.getRun(run.taskId).id == run.id}
            return [(run.id, run.taskId, run.start, run.end, run.stopped,
                     run.finished, run.state,
                     current.get(run.taskId) == run.id)
                    for run in storage.getRuns()]

    def tracks(self, path):
        with Database(path) as storage:
            return [(t.__name__, t.taskId, t.runId, t.userName, t.timeStamp,
                     t.data) for t in storage.values()]

    def test_round_trip_into_a_new_database(self):
        export = self.file('export.jsonl')
        self.assertEqual(self.tracking('export', '-o', export),
                         'exported 9 tracks and 5 runs to %s\n' % export)
        target = os.path.join(self.directory, 'new', 'New.fs')
        self.assertEqual(
            self.tracking('import', export, '--db', 'file://' + target),
            'created the database %s\n'
            'imported 9 tracks into 5 new runs, skipped 0 already there\n'
            % target)
        runs = self.runs(self.path)
        self.assertEqual([run[6] for run in runs],
                         ['open', 'finished', 'open', 'stopped', 'open'])
        self.assertEqual(self.runs(target), runs)
        self.assertEqual(self.tracks(target), self.tracks(self.path))
        # importing again adds nothing
        self.assertEqual(
            self.tracking('import', export, '--db', 'file://' + target),
            'imported 0 tracks into 0 new runs, skipped 9 already there\n')
        self.assertEqual(self.runs(target), runs)
        with Database(target) as storage:
            self.assertEqual(storage.checkIndexes(), [])
            # new runs and tracks get ids after the restored ones
            self.assertEqual(storage.startRun('quiz'), 6)

    def test_merge_into_a_storage_with_data(self):
        export = self.file('export.jsonl')
        self.tracking('export', '-o', export)
        target = self.file('Other.fs')
        makeDatabase(target, tracks=False)
        with Database(target) as storage:
            mine = storage.startRun('quiz', start=T0 - 100)
            storage.saveUserTrack('quiz', mine, 'zoe', {}, timeStamp=T0 - 50)
        self.assertEqual(
            self.tracking('import', export, '--db', 'file://' + target),
            'imported 9 tracks into 5 new runs, skipped 0 already there\n')
        runs = {run[2]: run for run in self.runs(target)}
        source = {run[2]: run for run in self.runs(self.path)}
        self.assertEqual(len(runs), 6)
        for start, run in source.items():
            # the same start, end and state; new ids
            self.assertEqual(runs[start][1:7], run[1:7])
            self.assertNotEqual(runs[start][0], run[0])
        # the storage's own current run of the quiz stays current
        self.assertTrue(runs[T0 - 100][7])
        quiz = [run for run in source.values() if run[1] == 'quiz' and run[7]]
        self.assertFalse(runs[quiz[0][2]][7])
        empty = [run for run in source.values() if run[1] == 'empty']
        self.assertTrue(runs[empty[0][2]][7])
        self.assertEqual(len(self.tracks(target)), 10)
        self.assertEqual(
            self.tracking('import', export, '--db', 'file://' + target),
            'imported 0 tracks into 0 new runs, skipped 9 already there\n')
        self.assertEqual(len(self.runs(target)), 6)


class EscapesTest(unittest.TestCase):
    """Values an older version may have stored that JSON cannot hold."""

    def test_values(self):
        from cybertools.tracking.cli.output import Escapes
        escapes = Escapes()
        deep = []
        for i in range(5000):
            deep = [deep]
        self.assertEqual(escapes.json({'a': float('nan')}, '0000001'),
                         json.dumps("{'a': nan}"))
        self.assertEqual(escapes.json({'d': deep}, '0000002'),
                         '"<nested too deep to show>"')
        self.assertEqual(escapes.json({'s': {1}}, '0000003'), '{"s": "{1}"}')
        self.assertEqual(escapes.json({'ok': 'é'}, '0000004'), '{"ok": "é"}')
        self.assertEqual((escapes.count, escapes.names),
                         (3, ['0000001', '0000002', '0000003']))
