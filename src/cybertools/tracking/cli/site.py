"""The database, the Zope root folder and its tracking storage."""

import contextlib
import os
import sys

from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.output import say
from cybertools.tracking.database import displayURI
from cybertools.tracking.database import fileStoragePath

DEFAULT_DB = 'file://var/Data.fs'

# where zope.app.appsetup keeps the Zope root folder
# (zope.app.publication.zopepublication.ZopePublication.root_name)
ROOT_NAME = 'Application'

# removals and imports per transaction
BATCH = 1000


def openDatabase(uri):
    path = fileStoragePath(uri)
    if path is not None and not os.path.exists(path):
        raise CommandError('there is no database file %s (give the '
                           "application's database with --db URI)" % path)
    from zc.lockfile import LockError

    from cybertools.tracking.database import openDatabase
    try:
        return openDatabase(uri)
    except ValueError as e:
        raise CommandError(str(e))
    except LockError:
        raise CommandError(
            'the database %s is in use by another process (a FileStorage '
            'can be open in one process only: stop the application or '
            'serve the database with ZEO)' % displayURI(uri))
    except Exception as e:
        raise CommandError('cannot open the database %s: %s: %s'
                           % (displayURI(uri), type(e).__name__, e))


def loadZCML(paths):
    if not paths:
        return
    from zope.configuration import xmlconfig
    from zope.configuration.exceptions import ConfigurationError
    for path in paths:
        try:
            xmlconfig.file(os.path.abspath(path))
        except (ConfigurationError, OSError) as e:
            raise CommandError('--zcml %s: %s' % (path, e))


def findStorage(connection, name):
    """The tracking storage of the Zope root folder."""
    from ZODB.broken import Broken
    from zope.component.hooks import setHooks
    from zope.component.hooks import setSite
    from zope.component.interfaces import ISite

    from cybertools.tracking.interfaces import ITrackingStorage
    site = connection.root().get(ROOT_NAME)
    if isinstance(site, Broken):
        raise CommandError('the Zope root folder (%s) cannot be loaded: '
                           "install the application's packages"
                           % type(site).__name__)
    if site is None or not ISite.providedBy(site):
        raise CommandError("the database has no Zope root folder (a site "
                           "at root[%r]): is it the application's database?"
                           % ROOT_NAME)
    sm = site.getSiteManager()
    storage = sm.queryUtility(ITrackingStorage, name)
    if storage is None:
        names = sorted(n for n, _ in sm.getUtilitiesFor(ITrackingStorage))
        raise CommandError(
            'the site has no tracking storage %r (it has %s; choose one '
            'with --storage NAME)'
            % (name, ', '.join(repr(n) for n in names) or 'none'))
    setHooks()
    setSite(site)
    return storage


@contextlib.contextmanager
def openStorage(args):
    """The connection and the storage; uncommitted changes are aborted
    when the block ends."""
    loadZCML(args.zcml)
    db = openDatabase(args.db)
    try:
        connection = db.open()
        try:
            yield connection, findStorage(connection, args.storage)
        finally:
            connection.transaction_manager.abort()
            connection.close()
    finally:
        db.close()


def commit(connection, what):
    from ZODB.POSException import ConflictError
    try:
        connection.transaction_manager.commit()
    except ConflictError as e:
        connection.transaction_manager.abort()
        raise CommandError('%s: a concurrent change conflicted (%s); what '
                           'was committed before stays: run the command '
                           'again' % (what, e))


def confirm(args, question):
    """True if the user agreed (or gave --yes); refuses without a
    terminal."""
    if args.yes:
        return True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise CommandError('%s: not confirmed: not on a terminal, so give '
                           '--yes to go ahead' % args.command)
    sys.stderr.write('%s [y/N] ' % question)
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer in ('y', 'yes'):
        return True
    say('nothing removed')
    return False
