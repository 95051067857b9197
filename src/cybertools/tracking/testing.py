"""Helpers for tests and benchmarks.

``ZEOServer`` runs a ZEO server over a FileStorage in a temporary
directory; ``PostgreSQLServer`` runs a PostgreSQL server (Debian's
binaries) for RelStorage in one. Both listen on 127.0.0.1 only and give
the zodburi URI to open them with (``cybertools.tracking.database``).

``ServerProcess`` runs an application server in a subprocess for
functional tests, and gives browsers logged in to it.

``loadSecureConfiguration``, ``Principal`` and ``Participation`` set up
what security tests need: an application's configuration and principals
to start interactions with.

``storeUnchecked`` stores a track the way an older version (or a damaged
database) may have left it, bypassing the storage's checks, for tests of
the readers that must survive such records.
"""

import base64
import glob
import os
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import unittest
from doctest import ELLIPSIS
from doctest import NORMALIZE_WHITESPACE
from doctest import REPORT_NDIFF
from doctest import DocFileSuite
from unittest import mock
from urllib.error import HTTPError

import zope.annotation
import zope.component
import zope.component.testing
import zope.security
import zope.securitypolicy
from zope.configuration import xmlconfig

import cybertools.tracking
from cybertools.tracking.session import sessionOf


DOCTEST_FLAGS = ELLIPSIS | NORMALIZE_WHITESPACE | REPORT_NDIFF


def docFileSuite(*paths, package, **kw):
    """The doctests in ``paths`` (relative to ``package``), each with a
    fresh component registry."""
    kw.setdefault('setUp', zope.component.testing.setUp)
    kw.setdefault('tearDown', zope.component.testing.tearDown)
    return DocFileSuite(*paths, package=package, optionflags=DOCTEST_FLAGS,
                        **kw)


def recordLoads(testCase, storage):
    """Record the tracks ``storage`` loads until the test ends: returns the
    list they are appended to (to show what a lookup does not load)."""
    loaded = []
    load = storage._loadTrack

    def recordingLoad(trackId):
        track = load(trackId)
        loaded.append(track)
        return track

    patcher = mock.patch.object(storage, '_loadTrack',
                                side_effect=recordingLoad)
    patcher.start()
    testCase.addCleanup(patcher.stop)
    # (the storage's session takes the loaders of results once)
    session = sessionOf(storage)
    loaders = session.loaders
    session.loaders = (storage._loadMerged, storage._loadTrack)
    testCase.addCleanup(setattr, session, 'loaders', loaders)
    return loaded


class Principal:

    def __init__(self, id, title='', description=''):
        self.id = id
        self.title = title or id
        self.description = description


class Participation:
    """A principal taking part in an interaction (a request would do)."""

    interaction = None

    def __init__(self, principal):
        self.principal = principal


def loadSecureConfiguration():
    """The configuration of an application using the package: zope.component,
    zope.security, zope.annotation (the security policy looks for local
    grants in the annotations of the annotatable storage) and
    zope.securitypolicy, then the package with its track types."""
    context = None
    for package, name in ((zope.component, 'configure.zcml'),
                          (zope.security, 'configure.zcml'),
                          (zope.annotation, 'configure.zcml'),
                          (zope.securitypolicy, 'meta.zcml'),
                          (zope.securitypolicy, 'configure.zcml'),
                          (cybertools.tracking, 'configure.zcml')):
        context = xmlconfig.file(name, package, context=context)


def freePort():
    """A TCP port on 127.0.0.1 that nobody listens on (at the moment)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class ZEOServer:
    """A ZEO server over a FileStorage in a temporary directory.

    It runs in a thread of this process, so it can resolve conflicts of
    the package's classes (a ZEO server needs them importable).
    """

    def start(self):
        import ZEO
        self.directory = tempfile.mkdtemp(prefix='tracking-zeo-')
        address, self._stop = ZEO.server(
            path=os.path.join(self.directory, 'Data.fs'),
            port=('127.0.0.1', 0))
        self.uri = 'zeo://%s:%i' % address

    def stop(self):
        self._stop()
        shutil.rmtree(self.directory)


class PostgreSQLUnavailable(Exception):
    """There are no PostgreSQL server binaries on this machine."""


class PostgreSQLServer:
    """A PostgreSQL server with an empty database, in a temporary
    directory, for RelStorage.

    ``initdb`` refuses to run as root, so as root the server runs as the
    ``postgres`` user. Durability is switched off: the tests want speed,
    not crash safety of the test database.
    """

    database = 'tracking'

    @staticmethod
    def binaries():
        """The directory of initdb and pg_ctl, or None."""
        found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
        if found:
            return os.path.dirname(found[-1])
        initdb = shutil.which('initdb')
        return os.path.dirname(initdb) if initdb else None

    def start(self):
        bin = self.binaries()
        if bin is None:
            raise PostgreSQLUnavailable(
                'no PostgreSQL server binaries (install Debian\'s '
                '"postgresql" package)')
        self.bin = bin
        self.directory = tempfile.mkdtemp(prefix='tracking-pg-')
        self.data = os.path.join(self.directory, 'data')
        if os.geteuid() == 0:
            shutil.chown(self.directory, 'postgres')
        self.port = freePort()
        self._run('initdb', '-D', self.data, '-A', 'trust', '-U', 'postgres',
                  '--no-sync', '-E', 'UTF8')
        options = ('-p %i -k %s -c listen_addresses=127.0.0.1 -c fsync=off '
                   '-c synchronous_commit=off -c full_page_writes=off'
                   % (self.port, self.directory))
        self._run('pg_ctl', '-D', self.data, '-o', options, '-w',
                  '-l', os.path.join(self.directory, 'server.log'), 'start')
        self._run('createdb', '-h', '127.0.0.1', '-p', str(self.port),
                  '-U', 'postgres', self.database)
        self.uri = 'postgres://postgres@127.0.0.1:%i/%s' % (self.port,
                                                            self.database)

    def stop(self):
        self._run('pg_ctl', '-D', self.data, '-m', 'immediate', '-w', 'stop')
        shutil.rmtree(self.directory)

    def _run(self, command, *args):
        argv = [os.path.join(self.bin, command)] + list(args)
        if os.geteuid() == 0:
            argv = ['runuser', '-u', 'postgres', '--'] + argv
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.directory)


# An application server waits this long (seconds) to load and listen.
START_TIMEOUT = 60


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
        from zope.testbrowser.browser import Browser
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


class ServerTestCase(unittest.TestCase):
    """Tests of an application served by the ``ServerProcess`` of their
    layer (``layer.server``), with browsers logged in to it."""

    @property
    def server(self):
        return self.layer.server

    def open(self, login, path):
        browser = self.server.browser(login)
        browser.open(self.server.url + path)
        return browser

    def assertRefused(self, login, path):
        """Without the permission the request is refused: 401 asks for
        (other) credentials, 403 forbids."""
        with self.assertRaises(HTTPError) as cm:
            self.open(login, path)
        self.assertIn(cm.exception.code, (401, 403))


def storeUnchecked(storage, taskId, runId, userName, data, timeStamp):
    """Store a track without checking its values (a lone surrogate in a
    name, say); return its name. The run must exist."""
    import json
    from cybertools.tracking.session import sessionOf
    session = sessionOf(storage)
    trackId = storage._trackLanes.newId(storage._records, session, 'track')
    # ASCII JSON: lone surrogates escaped, and read back as they were
    storage._records[trackId] = json.dumps(
        [taskId, runId, userName, timeStamp, data]).encode()
    storage._trackLanes.counted(trackId, 1)
    session.pending = None
    return '%07i' % trackId


def asAnotherWriter(storage):
    """Let the next saves of this connection go into an id lane of their
    own, as those of a concurrent writer do (see lanes.py)."""
    from cybertools.tracking.session import sessionOf
    session = sessionOf(storage)
    for kind in ('track', 'run'):
        session.moveLanes[kind] = True
        session.ids.pop(kind, None)
