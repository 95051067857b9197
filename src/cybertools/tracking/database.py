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

import os
import re

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
