"""The commands that report: query and stats."""

import math
import sys

from cybertools.tracking.btree import Exact
from cybertools.tracking.cli.criteria import matches
from cybertools.tracking.cli.criteria import buildCriteria
from cybertools.tracking.cli.criteria import iterTracks
from cybertools.tracking.cli.criteria import query
from cybertools.tracking.cli.criteria import runQuery
from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.output import WRITERS
from cybertools.tracking.cli.output import Escapes
from cybertools.tracking.cli.output import SafeCSVWriter
from cybertools.tracking.cli.output import printTable
from cybertools.tracking.cli.site import openStorage
from cybertools.tracking.cli.times import DAY
from cybertools.tracking.cli.times import MICROSECOND
from cybertools.tracking.cli.times import dayOf
from cybertools.tracking.cli.users import userNames


def cmdQuery(args):
    if args.limit is not None and args.limit < 0:
        raise CommandError('--limit must not be negative')
    criteria, where = buildCriteria(args)
    with openStorage(args, readOnly=True) as (connection, storage):
        result, _ = query(storage, criteria, where)
        escapes = Escapes()
        writer = WRITERS[args.format](sys.stdout, escapes, args.raw_csv)
        for track in iterTracks(result, connection, args.newest_first,
                                args.limit):
            writer.write(track)
        writer.close()
    escapes.report()
    return 0


def cmdStats(args):
    if args.limit is not None and args.limit < 0:
        raise CommandError('--limit must not be negative')
    criteria, where = buildCriteria(args)
    with openStorage(args, readOnly=True) as (connection, storage):
        result, criteria = query(storage, criteria, where)
        tasks = [t for t in storage.getTaskIds()
                 if 'taskId' not in criteria
                 or matches(t, criteria['taskId'])]
        # one name each: a stored name may end in *
        if args.by == 'task':
            counts = [(t, len(runQuery(storage,
                                       dict(criteria, taskId=Exact(t)))))
                      for t in tasks]
        elif args.by == 'user':
            users = userNames(storage, tasks)
            counts = [(u, len(runQuery(storage,
                                       dict(criteria, userName=Exact(u)))))
                      for u in sorted(users)
                      if 'userName' not in criteria
                      or matches(u, criteria['userName'])]
        else:
            counts = _dayCounts(storage, criteria, result)
        counts = [(name, count) for name, count in counts if count]
        if args.by == 'day':
            if args.limit is not None:
                counts = counts[max(0, len(counts) - args.limit):]
        else:
            counts.sort(key=lambda item: (-item[1], item[0]))
            counts = counts[:args.limit]
    escapes = Escapes()
    if args.format == 'json':
        sys.stdout.write('[%s]\n' % ', '.join(
            escapes.json({args.by: name, 'tracks': count}, name)
            for name, count in counts))
    else:
        counts = [(escapes.text(name, name), count)
                  for name, count in counts]
        if args.format == 'csv':
            writer = SafeCSVWriter(sys.stdout, args.raw_csv)
            writer.writerow((args.by, 'tracks'))
            writer.writerows(counts)
        else:
            printTable(counts, (args.by, 'tracks'))
    escapes.report()
    return 0


def _dayCounts(storage, criteria, result):
    """(day, count) for each UTC day from the first track's to the last's,
    each counted by a query of that day."""
    if not len(result):
        return []
    low = criteria.pop('timeFrom', None)
    high = criteria.pop('timeTo', None)
    first, last = result[0].timeStamp, result[-1].timeStamp
    counts = []
    day = math.floor(first / DAY) * DAY
    while day <= last:
        start = day if low is None else max(day, low)
        end = day + DAY - MICROSECOND
        end = end if high is None else min(end, high)
        counts.append((dayOf(day), len(runQuery(
            storage, dict(criteria, timeFrom=start, timeTo=end)))))
        day += DAY
    return counts
