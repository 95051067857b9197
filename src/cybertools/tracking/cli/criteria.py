"""The criteria options (--task, --user, --run, --from, --to, --where)
and the queries they make."""

import math
from itertools import islice

from cybertools.tracking.btree import Exact
from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.times import parseTime
from cybertools.tracking.cli.users import resolveUsers


def _oneOrList(values):
    return values[0] if len(values) == 1 else list(values)


def _number(text):
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None


def buildCriteria(args):
    """The query criteria of the criteria options, checked for form (the
    storage checks the rest when it is asked)."""
    criteria = {}
    # --exact: names, never patterns
    name = Exact if args.exact else str
    if args.task:
        criteria['taskId'] = _oneOrList([name(v) for v in args.task])
    if args.user:
        # resolved (as names or logins) when the storage is open
        criteria['userName'] = [name(v) for v in args.user]
    if args.run:
        runs = []
        for text in args.run:
            if not text.isdigit() or int(text) < 1:
                raise CommandError('--run: %r is not a run id (a number '
                                   'from 1)' % text)
            runs.append(int(text))
        criteria['runId'] = _oneOrList(runs)
    if args.time_from is not None:
        criteria['timeFrom'] = parseTime(args.time_from, '--from')
    if args.time_to is not None:
        criteria['timeTo'] = parseTime(args.time_to, '--to', end=True)
    where = {}
    for item in args.where or ():
        name, sep, value = item.partition('=')
        name = name.strip()
        if not sep or not name:
            raise CommandError('--where: %r is not NAME=VALUE' % item)
        if name in criteria:
            raise CommandError('--where: %s is given by another option '
                               'already' % name)
        where.setdefault(name, []).append(value)
    return criteria, where


def resolveWhere(storage, where):
    """The criteria of --where options, with the values of number indexes
    as numbers (the command line gives strings only)."""
    criteria = {}
    for name, values in where.items():
        value = _oneOrList(values)
        try:
            storage.query(**{name: value})
        except ValueError as e:
            raise CommandError('--where %s: %s' % (name, e))
        except TypeError as e:
            numbers = [_number(v) for v in values]
            if None in numbers:
                raise CommandError('--where %s: %s' % (name, e))
            value = _oneOrList(numbers)
            try:
                storage.query(**{name: value})
            except (TypeError, ValueError):
                raise CommandError('--where %s: %s' % (name, e))
        criteria[name] = value
    return criteria


def query(storage, criteria, where):
    """The tracks the criteria select (a lazy result) and the criteria."""
    criteria = dict(criteria, **resolveWhere(storage, where))
    if 'userName' in criteria:
        criteria['userName'] = _oneOrList(
            resolveUsers(storage, criteria['userName']))
    return runQuery(storage, criteria), criteria


def runQuery(storage, criteria):
    try:
        return storage.query(**criteria)
    except (TypeError, ValueError) as e:
        raise CommandError(str(e))


def iterTracks(result, connection, newestFirst=False, limit=None):
    """The tracks of a result, letting the ZODB cache shrink as they go,
    so that millions of tracks pass through without piling up."""
    tracks = reversed(result) if newestFirst else iter(result)
    if limit is not None:
        tracks = islice(tracks, limit)
    for count, track in enumerate(tracks, 1):
        yield track
        if count % BATCH == 0:
            connection.cacheGC()


def matches(value, criterion):
    """Whether a task id or user name matches a criterion's value(s)."""
    patterns = criterion if isinstance(criterion, list) else [criterion]
    return any(value == p.value if isinstance(p, Exact)
               else value.startswith(p[:-1]) if p.endswith('*')
               else value == p
               for p in patterns)
