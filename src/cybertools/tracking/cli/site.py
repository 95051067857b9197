"""The database, the Zope root folder and its tracking storage."""

import contextlib
import logging
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


# what a database needs that a plain install lacks: the ZTK application's
# packages are the app extra's
APP_EXTRA = "pip install 'cybertools.tracking[app]'"


def missingModules():
    """An error naming the modules of the classes ZODB could not import
    (it makes broken classes of them) and what to install."""
    from ZODB.broken import broken_cache
    modules = sorted({module for module, _ in broken_cache})
    return CommandError(
        'the database holds objects of modules that are not installed '
        '(%s): install the application\'s packages (for the demo and ZTK '
        'applications like it: %s)'
        % (', '.join(modules) or 'unknown', APP_EXTRA))


def openDatabase(uri, readOnly=False, create=False):
    """The database of a URI, or a CommandError saying why not.

    ``readOnly`` opens the storage read-only: a FileStorage is then never
    created or changed (its lock is still taken, as by every process that
    opens it). ``create`` lets a missing FileStorage be created.
    """
    path = fileStoragePath(uri)
    if path is not None:
        if not os.path.exists(path):
            if not create:
                raise CommandError(
                    "there is no database file %s (give the application's "
                    'database with --db URI)' % path)
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
        elif not create and os.path.isfile(path) \
                and os.path.getsize(path) == 0:
            raise CommandError('the database file %s is empty: it is not a '
                               "database (give the application's database "
                               'with --db URI)' % path)
    from zc.lockfile import LockError

    from cybertools.tracking.database import ZEO_CONNECT_TIMEOUT
    from cybertools.tracking.database import openDatabase
    stack = contextlib.ExitStack()
    try:
        if path is not None and readOnly:
            # a read-only FileStorage takes no lock: take it, so that
            # nobody writes the file while it is read
            stack.enter_context(_lockFile(path))
        db = openDatabase(uri, readOnly=readOnly)
    except ValueError as e:
        stack.close()
        raise CommandError(str(e))
    except LockError:
        stack.close()
        raise CommandError(
            'the database %s is in use by another process (a FileStorage '
            'can be open in one process only: stop the application or '
            'serve the database with ZEO)' % displayURI(uri))
    except Exception as e:
        stack.close()
        if type(e).__name__ == 'ClientDisconnected':
            raise CommandError(
                'no ZEO server answered at %s within %i seconds (add '
                '?wait_timeout=SECONDS to the URI to wait longer)'
                % (displayURI(uri), ZEO_CONNECT_TIMEOUT))
        raise CommandError('cannot open the database %s: %s: %s'
                           % (displayURI(uri), type(e).__name__, e))
    stack.callback(db.close)
    return db, stack


@contextlib.contextmanager
def _lockFile(path):
    from zc.lockfile import LockError
    from zc.lockfile import LockFile
    try:
        lock = LockFile(path + '.lock')
    except LockError:
        raise
    except OSError:
        # read-only media: nobody can write the file either
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.close()


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
    from ZODB import POSException
    # ZODB 6.3 and later raise StateLoadError for an object whose class is
    # missing; earlier versions make it a broken object (_findStorage)
    StateLoadError = getattr(POSException, 'StateLoadError', ())
    # ZODB logs a failed load with its traceback: the error says it all
    logger = logging.getLogger('ZODB.Connection')
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return _findStorage(connection, name)
    except StateLoadError:
        raise missingModules() from None
    except Exception:
        # earlier ZODBs load a missing class as a broken one, and what
        # fails is its use (a broken interface of a site manager, say)
        from ZODB.broken import broken_cache
        if broken_cache:
            raise missingModules() from None
        raise
    finally:
        logger.setLevel(level)


def _findStorage(connection, name):
    from ZODB.broken import Broken
    from zope.component.hooks import setHooks
    from zope.component.hooks import setSite
    from zope.component.interfaces import ISite

    from cybertools.tracking.interfaces import ITrackingStorage
    site = connection.root().get(ROOT_NAME)
    if isinstance(site, Broken):
        raise missingModules()
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
def openStorage(args, readOnly=False, create=False):
    """The connection and the storage; uncommitted changes are aborted
    when the block ends. ``readOnly`` opens the database read-only;
    ``create`` creates a FileStorage that is missing (or empty) with a
    Zope root folder and an empty tracking storage in it."""
    loadZCML(args.zcml)
    path = fileStoragePath(args.db)
    new = create and path is not None and (
        not os.path.exists(path) or os.path.getsize(path) == 0)
    db, closing = openDatabase(args.db, readOnly=readOnly, create=new)
    with closing:
        connection = db.open()
        try:
            if new:
                createSite(connection, args.storage)
                say('created the database %s' % path)
            yield connection, findStorage(connection, args.storage)
        finally:
            connection.transaction_manager.abort()
            connection.close()


def createSite(connection, name):
    """A Zope root folder with a tracking storage ``name``, as an
    application's start-up makes them (zope.app.appsetup's bootstrap and
    cybertools.tracking.startup)."""
    from zope.site.folder import rootFolder
    from zope.site.site import LocalSiteManager

    from cybertools.tracking.installation import addTrackingStorage
    folder = rootFolder()
    folder.setSiteManager(LocalSiteManager(folder))
    connection.root()[ROOT_NAME] = folder
    addTrackingStorage(folder, name)
    commit(connection, 'import')


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
