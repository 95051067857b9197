"""The commands that maintain a storage: check, reindex, purge and
forget-user."""

import contextlib
import sys
from itertools import islice

from cybertools.tracking.btree import Exact
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.cli.criteria import runQuery
from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.output import progress
from cybertools.tracking.cli.output import say
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.site import commit
from cybertools.tracking.cli.site import confirm
from cybertools.tracking.cli.site import loadZCML
from cybertools.tracking.cli.site import openDatabase
from cybertools.tracking.cli.site import openStorage
from cybertools.tracking.cli.times import formatTime
from cybertools.tracking.cli.times import parseTime
from cybertools.tracking.cli.users import resolveUser


def cmdCheck(args):
    with openStorage(args, readOnly=True) as (connection, storage):
        count = len(storage)
        with progress(count, desc='check') as bar:
            differences = storage.checkIndexes(progress=bar.update)
    for line in differences:
        say(line)
    if differences:
        print('%i differences between the indexes and the %i tracks: '
              '"tracking reindex" repairs them' % (len(differences), count),
              file=sys.stderr)
        return 1
    say('the indexes agree with the %i tracks' % count)
    return 0


@contextlib.contextmanager
def openStorageAt(args):
    """The connection and the storage at ``--path`` (names from the
    database root) or, without it, the site's utility."""
    if not args.path:
        with openStorage(args) as opened:
            yield opened
        return
    from cybertools.tracking.migration import findObject
    loadZCML(args.zcml)
    db, closing = openDatabase(args.db)
    with closing:
        connection = db.open()
        try:
            storage = findObject(connection.root(), args.path, CommandError)
            if not ITrackingStorage.providedBy(storage):
                raise CommandError('--path %s: not a tracking storage'
                                   % args.path)
            yield connection, storage
        finally:
            connection.transaction_manager.abort()
            connection.close()


def cmdUpgrade(args):
    with openStorageAt(args) as (connection, storage):
        storage._p_activate()
        layout = storage.__dict__.get('layout', 1)
        with progress(None, desc='upgrade') as bar:
            rewritten = storage.upgrade(progress=bar.update)
        commit(connection, 'upgrade')
        if layout == storage.layout:
            say('the storage is in the current layout (%i) already: '
                'nothing to do' % layout)
        else:
            say('upgraded the storage from layout %i to %i: %i tracks, '
                '%i records rewritten' % (layout, storage.layout,
                                          len(storage), rewritten))
    return 0


def cmdReindex(args):
    with openStorage(args) as (connection, storage):
        with progress(len(storage), desc='reindex') as bar:
            storage.reindexTracks(progress=bar.update)
        commit(connection, 'reindex')
        say('reindexed %i tracks' % len(storage))
    return 0


def removeTracks(connection, storage, criteria, keep, what, total):
    """Remove the tracks of a query, committing every BATCH removals;
    tracks for which ``keep(track)`` is true stay. Returns the count."""
    removed = 0
    with progress(total, desc=what) as bar:
        while True:
            batch = list(islice((track for track in storage.query(**criteria)
                                 if not keep(track)), BATCH))
            if not batch:
                break
            for track in batch:
                storage.removeTrack(track)
            commit(connection, what)
            connection.cacheGC()
            removed += len(batch)
            bar.update(len(batch))
    return removed


def cmdPurge(args):
    before = parseTime(args.before, '--before')
    with openStorage(args) as (connection, storage):
        # the indexes keep microseconds: the time stamps decide at the end
        criteria = {'timeTo': before}
        keep = lambda track: track.timeStamp >= before  # noqa: E731
        count = len(storage.query(**criteria))
        if count and not confirm(args, 'Remove the tracks before %s UTC '
                                 '(%i) from storage %r?'
                                 % (formatTime(before), count, args.storage)):
            return 1
        removed = removeTracks(connection, storage, criteria, keep, 'purge',
                               count)
    say('removed %i tracks' % removed)
    return 0


def cmdForgetUser(args):
    with openStorage(args) as (connection, storage):
        # the user of that name (or login), even if the name ends in *
        name = resolveUser(storage, args.name, 'forget-user').value
        criteria = {'userName': Exact(name)}
        keep = lambda track: track.userName != name  # noqa: E731
        count = len(runQuery(storage, criteria))
        if not count:
            print('tracking: warning: forget-user: no tracks of %s (no user '
                  'has that name, nor a principal that login)' % name,
                  file=sys.stderr)
        elif not confirm(args, 'Remove all %i tracks of %r from storage %r?'
                         % (count, name, args.storage)):
            return 1
        removed = removeTracks(connection, storage, criteria, keep,
                               'forget-user', count)
    say('removed %i tracks of %s' % (removed, name))
    return 0
