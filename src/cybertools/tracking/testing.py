"""Database servers for tests and benchmarks, started and stopped for real.

``ZEOServer`` runs a ZEO server over a FileStorage in a temporary
directory; ``PostgreSQLServer`` runs a PostgreSQL server (Debian's
binaries) for RelStorage in one. Both listen on 127.0.0.1 only and give
the zodburi URI to open them with (``cybertools.tracking.database``).
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile


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
