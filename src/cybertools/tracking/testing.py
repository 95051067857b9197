"""Helpers for tests and benchmarks.

``ZEOServer`` runs a ZEO server over a FileStorage in a temporary
directory; ``PostgreSQLServer`` runs a PostgreSQL server (Debian's
binaries) for RelStorage in one. Both listen on 127.0.0.1 only and give
the zodburi URI to open them with (``cybertools.tracking.database``).

``loadSecureConfiguration``, ``Principal`` and ``Participation`` set up
what security tests need: an application's configuration and principals
to start interactions with.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from doctest import ELLIPSIS
from doctest import NORMALIZE_WHITESPACE
from doctest import REPORT_NDIFF
from doctest import DocFileSuite
from unittest import mock

import zope.annotation
import zope.component
import zope.component.testing
import zope.security
import zope.securitypolicy
from zope.configuration import xmlconfig

import cybertools.tracking


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
