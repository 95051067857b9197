"""Starting, serving and stopping the demo server (``python -m
cybertools.tracking.demo.server`` and ``tracking serve``), each in a
process: one-line errors for a busy port and a database in use, a limit
on request bodies, a clean close on SIGTERM and SIGINT; and the command
line without the app extra."""

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
from urllib.error import HTTPError
from urllib.request import Request
from urllib.request import urlopen

from cybertools.tracking.demo.server import MAX_REQUEST_BODY
from cybertools.tracking.demo.testing import demoServer

SERVER = [sys.executable, '-m', 'cybertools.tracking.demo.server']
TRACKING = [sys.executable, '-m', 'cybertools.tracking.cli']

# What the app extra brings besides the package's own dependencies: with
# these unimportable a process is like one of a plain "pip install".
APP_EXTRA_MODULES = ('waitress', 'zope.app', 'zope.error', 'zope.session',
                     'zope.securitypolicy', 'zope.principalregistry',
                     'zope.authentication', 'zope.login', 'zope.password',
                     'zope.processlifetime')
WITHOUT_APP_EXTRA = [
    sys.executable, '-c',
    'import sys\n'
    'for name in %r:\n'
    '    sys.modules[name] = None\n'
    'from cybertools.tracking.cli import main\n'
    'sys.exit(main(sys.argv[1:]))' % (APP_EXTRA_MODULES,)]


class ServerTestCase(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-serve-')
        self.addCleanup(shutil.rmtree, self.directory)
        self.uri = 'file://' + os.path.join(self.directory, 'Data.fs')

    def startServer(self):
        server = demoServer(self.directory)
        server.start()
        self.addCleanup(server.stop)
        return server

    def fails(self, argv):
        """Run a command that must fail with one line on stderr."""
        result = subprocess.run(argv, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=120,
                                cwd=self.directory)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        return lines[0]


class StartUpErrorTest(ServerTestCase):

    def test_a_busy_port_and_a_database_in_use(self):
        server = self.startServer()
        port = server.url.rsplit(':', 1)[1]
        other = 'file://' + os.path.join(self.directory, 'Other.fs')
        for argv in (SERVER + ['--db', other, '--port', port],
                     TRACKING + ['serve', '--db', other, '--port', port]):
            with self.subTest(argv=argv):
                self.assertIn('cannot serve on 127.0.0.1:%s: Address '
                              'already in use' % port, self.fails(argv))
        for argv in (SERVER + ['--db', self.uri, '--port', '0'],
                     TRACKING + ['serve', '--db', self.uri, '--port', '0']):
            with self.subTest(argv=argv):
                self.assertIn('is in use by another process',
                              self.fails(argv))
        # the server serves on
        with urlopen(server.url + '/', timeout=30) as response:
            self.assertEqual(response.status, 200)


class ServingTest(ServerTestCase):

    def post(self, url, size):
        request = Request(url + '/@@save-track', data=b'x' * size,
                          method='POST')
        request.add_header('Content-Type', 'application/json')
        try:
            with urlopen(request, timeout=60) as response:
                return response.status
        except HTTPError as error:
            with error:
                return error.code

    def announce(self, url, size):
        """The status of a POST that announces a body of ``size`` bytes
        (waitress answers before it reads a body that is too large)."""
        host, port = url.split('//')[1].split(':')
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.putrequest('POST', '/@@save-track')
            connection.putheader('Content-Type', 'application/json')
            connection.putheader('Content-Length', str(size))
            connection.endheaders()
            return connection.getresponse().status
        finally:
            connection.close()

    def test_request_bodies_have_a_limit(self):
        server = self.startServer()
        self.assertEqual(self.announce(server.url, MAX_REQUEST_BODY + 1),
                         413)
        # below the limit the application answers (refusing anonymous)
        self.assertIn(self.post(server.url, 1000), (400, 401, 403))

    def test_signals_close_the_database(self):
        index = os.path.join(self.directory, 'Data.fs.index')
        for number in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=number):
                server = self.startServer()
                # FileStorage writes its index when it is closed
                os.remove(index)
                server.process.send_signal(number)
                self.assertEqual(server.process.wait(30), 0)
                self.assertTrue(os.path.exists(index))
                server.stop()


class WithoutTheAppExtraTest(ServerTestCase):
    """After a plain "pip install -e ." the command says in one line what
    to install."""

    def test_serve(self):
        line = self.fails(WITHOUT_APP_EXTRA + ['serve', '--db', self.uri])
        self.assertIn("serve needs the app extra (pip install "
                      "'cybertools.tracking[app]')", line)

    def test_an_application_database(self):
        subprocess.run(SERVER[:2] + ['cybertools.tracking.tests.demodata',
                                     self.uri], check=True, timeout=120,
                       capture_output=True)
        line = self.fails(WITHOUT_APP_EXTRA + ['--db', self.uri, 'query'])
        self.assertIn('the database holds objects of modules that are not '
                      'installed (zope.error.interfaces', line)
        self.assertIn("pip install 'cybertools.tracking[app]'", line)
