"""Serve the demo application with waitress.

::

    python -m cybertools.tracking.demo.server [--db URI] [--host H] [--port P]

serves the demo on http://127.0.0.1:8080/ with its data in
``var/Data.fs`` (created if missing); ``--db`` takes any database URI of
``cybertools.tracking.database`` (``zeo://...``, ``postgres://...``), and
``--port 0`` picks a free port. The server prints its URL and the demo
logins when it listens.

It accepts request bodies of up to ``MAX_REQUEST_BODY`` bytes (4 MiB:
waitress answers larger ones with 413 before the application sees them).
Ctrl+C (SIGINT) and SIGTERM stop it and close the database cleanly, so
that the next start need not scan a FileStorage. A port in use or a
database another process has open is an error of one line (exit code 2).
"""

import argparse
import logging
import os
import signal
import sys
import threading

import waitress
import zope.processlifetime
from zope.app.appsetup import appsetup
from zope.app.wsgi import WSGIPublisherApplication
from zope.app.wsgi.interfaces import WSGIPublisherApplicationCreated
from zope.event import notify

from cybertools.tracking.database import displayURI
from cybertools.tracking.database import fileStoragePath
from cybertools.tracking.database import openDatabase
from cybertools.tracking.demo.users import describeLogins

SITE_ZCML = os.path.join(os.path.dirname(__file__), 'site.zcml')
DEFAULT_DB = 'file://var/Data.fs'

# The largest request body (bytes): the demo's forms and JSON posts are
# small, and waitress would otherwise buffer up to 1 GB per request.
MAX_REQUEST_BODY = 4 * 1024 * 1024


class ServeError(Exception):
    """The server cannot start; the message says why in one line."""


def ensureDirectory(uri):
    """Create the directory of a ``file://`` URI's FileStorage if missing."""
    path = fileStoragePath(uri)
    if path and os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)


def openApplication(uri, siteZcml=SITE_ZCML):
    """The WSGI application and its database; see ``makeApplication``."""
    appsetup.config(siteZcml)
    ensureDirectory(uri)
    db = openDatabase(uri)
    # zope.app.appsetup's bootstrap subscriber creates the root folder and
    # notifies IDatabaseOpenedWithRoot: our start-up subscriber installs
    # the tracking storage
    notify(zope.processlifetime.DatabaseOpened(db))
    application = WSGIPublisherApplication(db)
    notify(WSGIPublisherApplicationCreated(application))
    return application, db


def makeApplication(uri, siteZcml=SITE_ZCML):
    """The demo as a WSGI application on the database ``uri`` names.

    The ZCML (the demo's ``site.zcml`` unless ``siteZcml`` names another
    application's) is loaded once per process: zope.app.appsetup keeps the
    first configuration, later calls only open another database. The
    database gets a root folder with a tracking storage if it has none.
    """
    return openApplication(uri, siteZcml)[0]


def serve(uri=DEFAULT_DB, host='127.0.0.1', port=8080, out=None,
          maxRequestBody=MAX_REQUEST_BODY):
    """Serve the demo until interrupted (SIGINT) or terminated (SIGTERM);
    ``port=0`` picks a free port.

    Prints the URL and the demo logins to ``out`` (standard output) once
    the server listens. Raises ServeError when the database cannot be
    opened or the port cannot be listened on.
    """
    out = sys.stdout if out is None else out
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format='%(asctime)s %(levelname)s %(name)s '
                                   '%(message)s')
    # the port first: a busy one is refused before the database is opened
    # (and perhaps set up) for nothing
    opened = {}

    def application(environ, start_response):
        return opened['application'](environ, start_response)

    try:
        server = waitress.create_server(
            application, host=host, port=port,
            max_request_body_size=maxRequestBody)
    except OSError as e:
        raise ServeError('cannot serve on %s:%s: %s'
                         % (host, port, e.strerror or e)) from None
    try:
        opened['application'], db = _openApplication(uri)
    except BaseException:
        server.close()
        raise
    try:
        with _stoppedBySignals():
            print('Serving the cybertools.tracking demo on http://%s:%s/ '
                  '(database %s)'
                  % (host, server.effective_port, displayURI(uri)), file=out)
            print('Log in as:', file=out)
            for line in describeLogins():
                print('  ' + line, file=out)
            print('Press Ctrl+C to stop.', file=out, flush=True)
            server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        db.close()


def _openApplication(uri):
    """openApplication, with the errors a user can fix as ServeErrors."""
    from zc.lockfile import LockError
    # zc.lockfile logs the failed lock besides raising: the error says it
    lockLog = logging.getLogger('zc.lockfile')
    level = lockLog.level
    lockLog.setLevel(logging.CRITICAL)
    try:
        return openApplication(uri)
    except LockError:
        raise ServeError(
            'the database %s is in use by another process (a FileStorage '
            'can be open in one process only)' % displayURI(uri)) from None
    except ValueError as e:
        raise ServeError(str(e)) from None
    except OSError as e:
        raise ServeError('cannot open the database %s: %s'
                         % (displayURI(uri), e.strerror or e)) from None
    except Exception as e:
        if type(e).__name__ != 'ClientDisconnected':
            raise
        raise ServeError('no ZEO server answered at %s' % displayURI(uri)) \
            from None
    finally:
        lockLog.setLevel(level)


class _stoppedBySignals:
    """SIGTERM stops the server like Ctrl+C (a KeyboardInterrupt in the
    main thread), so that the database is closed on the way out."""

    signals = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for number in self.signals:
                self.previous[number] = signal.signal(number, self._stop)

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    @staticmethod
    def _stop(number, frame):
        raise KeyboardInterrupt(signal.Signals(number).name)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m cybertools.tracking.demo.server',
        description='Serve the cybertools.tracking demo application.')
    parser.add_argument('--db', default=DEFAULT_DB,
                        help='database URI (default: %(default)s)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, default=8080,
                        help='port (default: %(default)s; 0 picks a free '
                             'one)')
    args = parser.parse_args(argv)
    try:
        serve(args.db, args.host, args.port)
    except ServeError as e:
        print('%s: error: %s' % (parser.prog, e), file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
