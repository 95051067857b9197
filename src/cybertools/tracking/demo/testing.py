"""Running an application server in a subprocess for functional tests.

The demo's tests use it for the demo; any application that prints its URL
(or its port) on the first line of its output when it listens can be run
this way (the test application in ``tests/app`` prints ``serving on
PORT``).
"""

import base64
import os
import re
import selectors
import subprocess
import sys

from zope.testbrowser.browser import Browser

START_TIMEOUT = 60  # seconds for the application to load and listen


class ServerProcess:
    """A server started with ``command`` in a subprocess.

    Its standard error goes to ``server.log`` in ``directory``. ``start``
    waits for the first line of its output and finds the URL in it with
    ``urlPattern``: its first group is the URL, or a port on 127.0.0.1.
    """

    def __init__(self, command, directory, urlPattern=r'(http://[^/\s]+)'):
        self.command = command
        self.directory = directory
        self.urlPattern = re.compile(urlPattern)
        self.process = None
        self.output = []

    def start(self):
        self.log = open(os.path.join(self.directory, 'server.log'), 'ab')
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=self.log,
            cwd=self.directory, bufsize=0)   # unbuffered: select() sees
                                             # every line
        line = self._readLine(START_TIMEOUT)
        match = self.urlPattern.search(line.decode('utf-8', 'replace'))
        if match is None:
            self.stop()
            raise RuntimeError('the server did not start: %r; see %s'
                               % (line, self.log.name))
        url = match.group(1)
        self.url = url if '://' in url else 'http://127.0.0.1:%s' % url
        self.output = [line.decode()]

    def readOutput(self, lines, timeout=5):
        """Read ``lines`` more lines of the server's output, keep them in
        ``output`` and return them."""
        read = []
        for i in range(lines):
            line = self._readLine(timeout)
            if not line:
                break
            read.append(line.decode())
        self.output.extend(read)
        return read

    def _readLine(self, timeout):
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return b''
        return self.process.stdout.readline()

    def stop(self):
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.log.close()
        self.process = None

    def browser(self, login=None, password=None):
        """A zope.testbrowser browser, logged in as ``login`` with
        ``password`` (by default login + 'pw', as in the demo and the test
        application)."""
        browser = Browser()
        if login:
            password = login + 'pw' if password is None else password
            browser.addHeader('Authorization', basicAuthorization(
                login, password))
        return browser


def basicAuthorization(login, password):
    """The value of an Authorization header for HTTP basic auth."""
    credentials = ('%s:%s' % (login, password)).encode()
    return 'Basic ' + base64.b64encode(credentials).decode()


def demoServer(directory):
    """The demo application on a FileStorage in ``directory``, on a free
    loopback port (not started yet)."""
    uri = 'file://' + os.path.join(os.path.abspath(directory), 'Data.fs')
    return ServerProcess(
        [sys.executable, '-m', 'cybertools.tracking.demo.server',
         '--db', uri, '--host', '127.0.0.1', '--port', '0'],
        directory)
