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
prefix, e.g. ``?connection_cache_size=20000``.
"""

import os
import re

import zodburi
from ZODB import DB


def openDatabase(uri, **options):
    """Open the database a URI names; ``options`` go to ``ZODB.DB``.

    A malformed URI or an unknown scheme is a ValueError; a storage that
    cannot be opened (a locked or unreadable file, a server that does not
    answer) raises what the storage raises.
    """
    if not isinstance(uri, str) or '://' not in uri:
        raise ValueError('not a database URI: %r (e.g. file://var/Data.fs, '
                         'zeo://host:port, postgres://...)' % (uri,))
    try:
        factory, dbOptions = zodburi.resolve_uri(uri)
    except KeyError:
        raise ValueError('unknown database URI scheme in %r: use file://, '
                         'memory://, zeo:// (with the zeo extra) or '
                         'postgres:// (with the relstorage extra)' % uri)
    dbOptions.update(options)
    return DB(factory(), **dbOptions)


def displayURI(uri):
    """A URI as messages show it: without its password."""
    return re.sub(r'(://[^:/@]*:)[^@/]*@', r'\1***@', uri)


def fileStoragePath(uri):
    """The file of a ``file://`` URI (as zodburi reads it), or None."""
    if not uri.startswith('file://'):
        return None
    return os.path.normpath(uri[len('file://'):].split('?', 1)[0])
