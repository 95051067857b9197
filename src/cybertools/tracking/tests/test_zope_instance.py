"""End to end: a Zope instance made with ``mkwsgiinstance``, the package's
ZCML included in its ``site.zcml``, served by ``runwsgi`` on 127.0.0.1;
a track saved over HTTP (by a Python Script added through the ZMI) is
still there after a restart, and the start-up log has no warning of this
package."""

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

BIN = os.path.dirname(sys.executable)
MKWSGIINSTANCE = os.path.join(BIN, 'mkwsgiinstance')
RUNWSGI = os.path.join(BIN, 'runwsgi')

INCLUDES = """
  <include package="cybertools.tracking" />
  <include package="cybertools.tracking" file="startup.zcml" />
</configure>"""

SCRIPT = """\
##parameters=answer
storage = context.restrictedTraverse('++tracking++')
return storage.saveUserTrack('exam', 0, 'admin', {'answer': answer})
"""


@unittest.skipUnless(os.path.exists(MKWSGIINSTANCE), 'Zope is not installed')
class ZopeInstanceTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-zope-')
        self.addCleanup(shutil.rmtree, self.directory)
        self.instance = os.path.join(self.directory, 'instance')
        subprocess.run([MKWSGIINSTANCE, '-d', self.instance,
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
            [RUNWSGI, os.path.join(self.instance, 'etc', 'zope.ini')],
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

    # Known bug, not fixed yet: the instance starts, serves the views
    # (200, 401) and saves, but after the restart the saved track is not
    # listed.
    @unittest.expectedFailure
    def test_save_restart_find(self):
        self.start()
        self.assertEqual(
            self.request('admin', '/++tracking++/tracks.html')[0], 200)
        self.assertEqual(self.request(None, '/++tracking++/tracks.html')[0],
                         401)
        self.assertEqual(self.request(
            'admin', '/manage_addProduct/PythonScripts/manage_addPythonScript',
            {'id': 'answer', 'file': SCRIPT})[0], 200)
        status, trackId = self.request('admin', '/answer?answer=forty-two')
        self.assertRegex(trackId, r'^\d+$')
        self.assertEqual(status, 200)
        self.stop()
        self.start()
        status, page = self.request('admin', '/++tracking++/tracks.html')
        self.assertEqual(status, 200)
        self.assertIn('forty-two', page)
        self.assertIn(trackId, page)
        self.stop()
        log = self.readLog()
        self.assertNotIn('Traceback', log)
        warnings = [line for line in log.splitlines()
                    if 'WARNING' in line and 'cybertools' in line]
        self.assertEqual(warnings, [])
        self.assertIn('added a tracking storage', log)
