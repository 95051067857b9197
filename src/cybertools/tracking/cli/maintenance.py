"""The commands that maintain a storage: check, reindex, purge and
forget-user."""

import sys
from itertools import islice

from cybertools.tracking.cli.criteria import runQuery
from cybertools.tracking.cli.output import progress
from cybertools.tracking.cli.output import say
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.site import commit
from cybertools.tracking.cli.site import confirm
from cybertools.tracking.cli.site import openStorage
from cybertools.tracking.cli.times import formatTime
from cybertools.tracking.cli.times import parseTime


def cmdCheck(args):
    with openStorage(args) as (connection, storage):
        differences = storage.checkIndexes()
        count = len(storage)
    for line in differences:
        say(line)
    if differences:
        print('%i differences between the indexes and the %i tracks: '
              '"tracking reindex" repairs them' % (len(differences), count),
              file=sys.stderr)
        return 1
    say('the indexes agree with the %i tracks' % count)
    return 0


def cmdReindex(args):
    with openStorage(args) as (connection, storage):
        # one call of the storage, so no progress to show
        storage.reindexTracks()
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
        criteria = {'userName': args.name}
        keep = lambda track: track.userName != args.name  # noqa: E731
        count = len(runQuery(storage, criteria))
        if count and not confirm(args, 'Remove all %i tracks of %r from '
                                 'storage %r?'
                                 % (count, args.name, args.storage)):
            return 1
        removed = removeTracks(connection, storage, criteria, keep,
                               'forget-user', count)
    say('removed %i tracks of %s' % (removed, args.name))
    return 0
