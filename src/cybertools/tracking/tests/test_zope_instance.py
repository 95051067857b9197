"""End to end, for Zope 5 and Zope 6: a virtual environment with Zope and
the package (from PyPI, through pip's cache), an instance made with
``mkwsgiinstance``, the package's ZCML included in its ``site.zcml``,
served by ``runwsgi`` on 127.0.0.1; a track saved over HTTP (by a Python
Script added through the ZMI) is still there after a restart, and the
start-up log has no warning of this package.

Each Zope gets an environment of its own (built side by side): Zope 5 and
Zope 6 need different ZODB releases, and the test environment has Plone's
products, which a Zope instance would load.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.error import HTTPError
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request
from urllib.request import urlopen

from cybertools.tracking.testing import basicAuthorization
from cybertools.tracking.testing import freePort

import cybertools.tracking

PROJECT = os.path.abspath(os.path.join(
    os.path.dirname(cybertools.tracking.__file__), '..', '..', '..'))
FROM_CHECKOUT = os.path.exists(os.path.join(PROJECT, 'pyproject.toml'))

# what each Zope is installed with (the ZODB releases its start-up works
# with)
ZOPE_RELEASES = {
    '5': ['Zope[wsgi]==5.14.2', 'ZODB<6.3', 'Products.PythonScripts'],
    '6': ['Zope[wsgi]==6.3', 'ZODB>=6.4', 'Products.PythonScripts'],
}

INCLUDES = """
  <include package="cybertools.tracking" />
  <include package="cybertools.tracking" file="startup.zcml" />
</configure>"""

SCRIPT = """\
##parameters=answer
storage = context.restrictedTraverse('++tracking++')
return storage.saveUserTrack('exam', 0, 'admin', {'answer': answer})
"""


class ZopeEnvironments:
    """A layer: a virtual environment for each Zope of ZOPE_RELEASES, with
    the package (one wheel, built first), installed side by side."""

    directory = None
    bins = {}

    @classmethod
    def setUp(cls):
        if not FROM_CHECKOUT:
            return      # the tests are skipped
        cls.directory = tempfile.mkdtemp(prefix='tracking-zope-venvs-')
        try:
            cls.bins = cls.build()
        except BaseException:
            shutil.rmtree(cls.directory)
            raise

    @classmethod
    def tearDown(cls):
        if cls.directory is not None:
            shutil.rmtree(cls.directory)
            cls.directory = None

    @classmethod
    def build(cls):
        wheels = os.path.join(cls.directory, 'wheels')
        run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
             '-w', wheels, PROJECT])
        [wheel] = [os.path.join(wheels, name) for name in os.listdir(wheels)]
        bins, installs = {}, {}
        for zope, requirements in ZOPE_RELEASES.items():
            venv = os.path.join(cls.directory, 'zope' + zope)
            run([sys.executable, '-m', 'venv', venv])
            bins[zope] = os.path.join(venv, 'bin')
            installs[zope] = subprocess.Popen(
                [os.path.join(bins[zope], 'pip'), 'install', '-q']
                + requirements + [wheel],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        failed = []
        for zope, install in installs.items():
            output = install.communicate()[0]
            if install.returncode:
                failed.append('Zope %s: %s' % (
                    zope, output.decode(errors='replace')))
        if failed:
            raise RuntimeError('could not install\n' + '\n'.join(failed))
        return bins


def run(command):
    done = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError('%s failed:\n%s' % (
            ' '.join(command), done.stdout.decode(errors='replace')))


@unittest.skipUnless(FROM_CHECKOUT, 'not run from a source checkout')
class ZopeInstanceTest(unittest.TestCase):

    layer = ZopeEnvironments
    zope = None     # a key of ZOPE_RELEASES

    def setUp(self):
        # one test per Zope: an instance in its environment
        self.directory = tempfile.mkdtemp(prefix='tracking-zope-')
        self.addCleanup(shutil.rmtree, self.directory)
        self.bin = self.layer.bins[self.zope]
        self.instance = os.path.join(self.directory, 'instance')
        subprocess.run([os.path.join(self.bin, 'mkwsgiinstance'), '-d', self.instance,
                        '-u', 'admin:secret'], check=True,
                       stdout=subprocess.DEVNULL)
        etc = os.path.join(self.instance, 'etc')
        with open(os.path.join(etc, 'site.zcml')) as f:
            site = f.read()
        with open(os.path.join(etc, 'site.zcml'), 'w') as f:
            f.write(site.replace('</configure>', INCLUDES))
        self.port = freePort()
        with open(os.path.join(etc, 'zope.ini')) as f:
            ini = f.read()
        lines = [('port = %i' % self.port if line.startswith('port =')
                  else 'host = 127.0.0.1' if line.startswith('host =')
                  else line)
                 for line in ini.splitlines()]
        with open(os.path.join(etc, 'zope.ini'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.log = os.path.join(self.directory, 'server.log')
        self.process = None
        self.addCleanup(self.stop)

    def start(self):
        log = open(self.log, 'ab')
        self.process = subprocess.Popen(
            [os.path.join(self.bin, 'runwsgi'), os.path.join(self.instance, 'etc', 'zope.ini')],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.instance)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail('the instance did not start: see its log\n'
                          + self.readLog())
            try:
                self.request(None, '/')
                return
            except URLError:
                time.sleep(0.2)
        self.fail('the instance did not answer in time')

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def readLog(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def request(self, login, path, data=None):
        request = Request('http://127.0.0.1:%i%s' % (self.port, path),
                          data=urlencode(data).encode() if data else None)
        if login:
            request.add_header('Authorization',
                               basicAuthorization(login, 'secret'))
        try:
            with urlopen(request, timeout=60) as answer:
                return answer.status, answer.read().decode()
        except HTTPError as error:
            error.close()
            return error.code, ''

    def test_save_restart_find(self):
        self.start()
        self.assertEqual(
            self.request('admin', '/++tracking++/tracks.html')[0], 200,
            self.readLog()[-3000:])
        self.assertEqual(self.request(None, '/++tracking++/tracks.html')[0],
                         401)
        self.assertEqual(self.request(
            'admin', '/manage_addProduct/PythonScripts/manage_addPythonScript',
            {'id': 'answer', 'file': SCRIPT})[0], 200)
        status, trackId = self.request('admin', '/answer?answer=forty-two')
        self.assertEqual(status, 200)
        self.assertRegex(trackId, r'^\d+$')
        self.stop()
        self.start()
        status, page = self.request('admin', '/++tracking++/tracks.html')
        self.assertEqual(status, 200)
        self.assertIn('forty-two', page)
        self.assertIn(trackId, page)
        self.stop()
        log = self.readLog()
        self.assertNotIn('Traceback', log)
        # Zope logs its warnings (WARNING), Python issues others (...Warning)
        warnings = [line for line in log.splitlines()
                    if 'cybertools' in line and 'ARNING' in line.upper()]
        self.assertEqual(warnings, [])
        # added at the first start only
        self.assertEqual(log.count('added a tracking storage'), 1)


class Zope5InstanceTest(ZopeInstanceTest):

    zope = '5'


@unittest.skipIf(sys.version_info < (3, 11), 'Zope 6 needs Python 3.11')
class Zope6InstanceTest(ZopeInstanceTest):

    zope = '6'


def load_tests(loader, tests, pattern):
    # the base class runs for no Zope
    suite = unittest.TestSuite()
    for case in (Zope5InstanceTest, Zope6InstanceTest):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite
