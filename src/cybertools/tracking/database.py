"""Opening the ZODB database a tracking storage lives in, by URI.

Everything that opens a database (the tests, the benchmark, the command
line, the demo application) names it with a zodburi URI:

``file://var/Data.fs``
    a FileStorage: the embedded default, one process at a time;
``memory://``
    a MappingStorage, for trying things out;
``zeo://127.0.0.1:8100``
    a ZEO server (with the ``zeo`` extra); several processes and machines;
``postgres://user:password@host:port/dbname``
    RelStorage on PostgreSQL (with the ``relstorage`` extra).

Options of ``ZODB.DB`` go into the query string with a ``connection_``
prefix, e.g. ``?connection_cache_size=20000``; options of the storage
without it (``?read_only=1``, ``?wait_timeout=30`` for ZEO).

A ZEO client waits ``ZEO_CONNECT_TIMEOUT`` seconds for its server unless
the URI says otherwise: a server nobody answers for is an error soon.
"""

import collections
import os
import re
import time

import zodburi
from ZODB import DB


# seconds a ZEO client waits for its server when it opens the database
ZEO_CONNECT_TIMEOUT = 5


def openDatabase(uri, readOnly=False, **options):
    """Open the database a URI names; ``options`` go to ``ZODB.DB``.

    With ``readOnly`` the storage is opened read-only (a FileStorage is
    then neither created nor locked nor written). A malformed URI or an
    unknown scheme is a ValueError; a storage that cannot be opened (a
    locked or unreadable file, a server that does not answer) raises what
    the storage raises.
    """
    if not isinstance(uri, str) or '://' not in uri:
        raise ValueError('not a database URI: %r (e.g. file://var/Data.fs, '
                         'zeo://host:port, postgres://...)' % (uri,))
    if readOnly and not uri.startswith('memory://'):
        uri = withQueryDefault(uri, 'read_only', '1', force=True)
    if uri.startswith('zeo://'):
        uri = withQueryDefault(uri, 'wait_timeout', str(ZEO_CONNECT_TIMEOUT))
    try:
        factory, dbOptions = zodburi.resolve_uri(uri)
    except KeyError:
        raise ValueError('unknown database URI scheme in %r: use file://, '
                         'memory://, zeo:// (with the zeo extra) or '
                         'postgres:// (with the relstorage extra)' % uri)
    dbOptions.update(options)
    return DB(factory(), **dbOptions)


def withQueryDefault(uri, name, value, force=False):
    """The URI with ``name=value`` in its query string, unless it has a
    value for ``name`` already (``force``: replacing it)."""
    base, sep, query = uri.partition('?')
    items = [item for item in query.split('&') if item]
    given = [item for item in items if item.split('=', 1)[0] == name]
    if given and not force:
        return uri
    items = [item for item in items if item not in given]
    return '%s?%s' % (base, '&'.join(items + ['%s=%s' % (name, value)]))


def displayURI(uri):
    """A URI as messages show it: without its password."""
    return re.sub(r'(://[^:/@]*:)[^@/]*@', r'\1***@', uri)


def fileStoragePath(uri):
    """The file of a ``file://`` URI (as zodburi reads it), or None."""
    if not uri.startswith('file://'):
        return None
    return os.path.normpath(uri[len('file://'):].split('?', 1)[0])


# A ZEO client keeps the object ids it asked its server for ahead of time
# across a reconnect; after the server restarts it can hand out one of them
# again, and the commit that uses it fails with this ValueError (of
# ZODB's object cache). Nothing is stored twice or lost: the work can be
# done again, on a fresh connection to a fresh client.
STALE_OID = 'A different object already has the same oid'


def isTransient(error):
    """Whether a failed transaction may succeed when tried again: a
    conflict, a ZEO server that went away (both ``TransientError``s) or
    the stale object id after a ZEO server's restart."""
    from transaction.interfaces import TransientError
    return isinstance(error, TransientError) or (
        isinstance(error, ValueError) and STALE_OID in str(error))


class Transactions:
    """Runs units of work in transactions, retrying those that fail for a
    transient reason (``isTransient``); the writer pattern for several
    processes on ZEO or RelStorage::

        transactions = Transactions('zeo://127.0.0.1:8100')
        transactions.run(lambda root: root['tracks'].saveUserTrack(...))
        transactions.close()

    ``work(root)`` gets the database's root object and its result is
    returned after the commit. A try that fails is aborted and the work is
    done again, up to ``attempts`` times, pausing ``pause`` seconds times
    the number of failed tries (a ZEO server being restarted needs a
    moment). After the stale-oid error the database is opened afresh (a
    new client: new object ids, an empty cache). When a commit fails
    because the server went away, it may have been committed all the same:
    work that must not be done twice checks first whether it was done (a
    query for the track it would save, say).
    """

    def __init__(self, uri, attempts=20, pause=0.1, **options):
        self.uri = uri
        self.options = options
        self.attempts = attempts
        self.pause = pause
        self.retries = 0
        # what the retried tries failed with: error class name -> count
        self.failures = collections.Counter()
        self.db = self.connection = None

    def open(self):
        if self.connection is None:
            if self.db is None:
                self.db = openDatabase(self.uri, **self.options)
            self.connection = self.db.open()
        return self.connection

    def run(self, work):
        for tried in range(1, self.attempts + 1):
            connection = self.open()
            manager = connection.transaction_manager
            try:
                result = work(connection.root())
                manager.commit()
                return result
            except Exception as error:
                manager.abort()
                if not isTransient(error) or tried == self.attempts:
                    raise
                self.failures[type(error).__name__] += 1
                if isinstance(error, ValueError):
                    self.close()
            self.retries += 1
            time.sleep(self.pause * tried)

    def close(self):
        """Close the connection and the database (``run`` opens them
        again)."""
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                # a connection whose client lost its server
                pass
            self.connection = None
        if self.db is not None:
            self.db.close()
            self.db = None
