"""Serve the demo application with waitress.

::

    python -m cybertools.tracking.demo.server [--db URI] [--host H] [--port P]

serves the demo on http://127.0.0.1:8080/ with its data in
``var/Data.fs`` (created if missing); ``--db`` takes any database URI of
``cybertools.tracking.database`` (``zeo://...``, ``postgres://...``), and
``--port 0`` picks a free port. The server prints its URL and the demo
logins when it listens.
"""

import argparse
import logging
import os
import sys

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


def serve(uri=DEFAULT_DB, host='127.0.0.1', port=8080, out=None):
    """Serve the demo until interrupted; ``port=0`` picks a free port.

    Prints the URL and the demo logins to ``out`` (standard output) once
    the server listens.
    """
    out = sys.stdout if out is None else out
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format='%(asctime)s %(levelname)s %(name)s '
                                   '%(message)s')
    application, db = openApplication(uri)
    try:
        server = waitress.create_server(application, host=host, port=port)
    except BaseException:
        db.close()
        raise
    try:
        print('Serving the cybertools.tracking demo on http://%s:%s/ '
              '(database %s)' % (host, server.effective_port, displayURI(uri)),
              file=out)
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
    serve(args.db, args.host, args.port)


if __name__ == '__main__':
    main()
