"""Every example of the ``tracking`` command in the top-level README.txt,
run as written on a fresh demo database (``var/Data.fs``, the default
``--db``) with tracks of the demo's users, each as a process; each must
succeed and print what it promises. Only ``serve`` gets a free port
instead of 8080, and is stopped again."""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.request import urlopen

from cybertools.tracking.btree import LAYOUT
from cybertools.tracking.testing import freePort

README = os.path.join(os.path.dirname(__file__), *['..'] * 4, 'README.txt')


def readmeExamples():
    """The command lines of the README's "The tracking command" section,
    without their comments."""
    with open(README, encoding='utf-8') as f:
        text = f.read()
    section = text.split('The tracking command\n', 1)[1]
    block = section.split('::\n\n', 1)[1].split('\n\n', 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines()
            if line.strip().startswith('tracking ')]


def trackingCommand():
    """The virtual environment's ``tracking`` script (the entry point)."""
    script = os.path.join(os.path.dirname(sys.executable), 'tracking')
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, '-m', 'cybertools.tracking.cli']


@unittest.skipUnless(os.path.exists(README), 'needs a checkout (README.txt)')
class ReadmeExamplesTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-readme-')
        self.addCleanup(shutil.rmtree, self.directory)
        subprocess.run(
            [sys.executable, '-m', 'cybertools.tracking.tests.demodata',
             'file://var/Data.fs'], cwd=self.directory, check=True,
            timeout=120, capture_output=True)

    def run_(self, argv):
        return subprocess.run(
            trackingCommand() + argv[1:], cwd=self.directory,
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120)

    def serve(self, argv):
        port = freePort()
        argv = [str(port) if arg == '8080' else arg for arg in argv]
        process = subprocess.Popen(
            trackingCommand() + argv[1:], cwd=self.directory,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            first = process.stdout.readline().decode()
            self.assertIn('http://127.0.0.1:%i/' % port, first)
            deadline = time.time() + 60
            while True:
                try:
                    with urlopen('http://127.0.0.1:%i/' % port,
                                 timeout=10) as response:
                        self.assertEqual(response.status, 200)
                        break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(30)
            process.stdout.close()
        self.assertEqual(code, 0)

    def test_every_example(self):
        examples = readmeExamples()
        self.assertEqual(
            [argv[1] for argv in examples],
            ['serve', 'query', 'query', 'export', 'import', 'stats', 'check',
             'reindex', 'upgrade', 'purge', 'forget-user'])
        for argv in examples:
            with self.subTest(example=' '.join(argv)):
                if argv[1] == 'serve':
                    self.serve(argv)
                    continue
                result = self.run_(argv)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertNotIn('Traceback', result.stderr)
                self.assertTrue(result.stdout.strip(), result.stderr)
                self.check(argv, result)

    def check(self, argv, result):
        """What each example promises, on the demo's data (alice: 4 quiz
        tracks and 2 reading tracks; bob: 2 quiz tracks)."""
        out = result.stdout
        command = argv[1]
        if command == 'query' and '--format' in argv:
            records = json.loads(out)
            self.assertEqual(len(records), 4)
            self.assertEqual({(r['taskId'], r['userName'])
                              for r in records}, {('quiz', 'demo.alice')})
            # the login was taken for the principal, and said so
            self.assertIn('demo.alice', result.stderr)
        elif command == 'query':
            rows = out.splitlines()[1:]
            self.assertEqual(len(rows), 6)
            self.assertEqual(rows[0].split()[0], '0000008')
        elif command == 'export':
            self.assertEqual(out, 'exported 8 tracks and 3 runs to '
                                  'tracks.jsonl\n')
        elif command == 'import':
            self.assertEqual(out, 'imported 0 tracks into 0 new runs, '
                                  'skipped 8 already there\n')
        elif command == 'stats':
            rows = [line.split() for line in out.splitlines()]
            self.assertEqual(rows[0], ['day', 'tracks'])
            self.assertEqual(len(rows), 2)
            self.assertRegex(rows[1][0], r'^\d{4}-\d\d-\d\d$')
            self.assertEqual(rows[1][1], '6')
        elif command == 'check':
            self.assertEqual(out, 'the indexes agree with the 8 tracks\n')
        elif command == 'reindex':
            self.assertEqual(out, 'reindexed 8 tracks\n')
        elif command == 'upgrade':
            self.assertEqual(out, 'the storage is in the current layout '
                                  '(%i) already: nothing to do\n' % LAYOUT)
        elif command == 'purge':
            self.assertEqual(out, 'removed 0 tracks\n')
        elif command == 'forget-user':
            self.assertEqual(out, 'removed 6 tracks of demo.alice\n')
        else:
            self.fail('an example without a check: %s' % ' '.join(argv))
