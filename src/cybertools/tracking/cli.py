"""The ``tracking`` command: query, export, import and maintain the tracks
of an application's tracking storage, and serve the demo application.

``tracking --help`` lists the subcommands, ``tracking COMMAND --help``
explains one. Every command but ``serve`` opens the database (``--db``, a
zodburi URI, see database.py), finds the Zope root folder at
``root['Application']`` (where zope.app.appsetup keeps it) and the
tracking storage registered there as a local utility (``--storage``, the
utility name). Index values come from ``ITrackIndexData`` adapters: for
track types with an adapter of their own (notifications), load the
application's ZCML with ``--zcml`` so that ``check``, ``reindex`` and
``import`` compute the values the application does.

Exit codes: 0 done, 1 ``check`` found differences (or a removal was not
confirmed), 2 an error, printed as one line on stderr.

Exporting and importing
=======================

``export`` writes one record per track, oldest first: ``{"id", "taskId",
"runId", "userName", "timeStamp", "data"}`` (JSON Lines; or CSV with a
``time`` column in UTC added). ``import`` reads JSON Lines:

- Time stamps, tasks, users and data are kept; track ids are new.
- Runs: the tracks of one source run (one ``runId``) of a task go into one
  run of the target storage. The first time an import meets a source run
  it starts a new run for the task at the time of that track
  (``startRun``, so the task's last imported run becomes its current run); tracks already in the storage
  tell where their source run went, so a later import of a longer export
  adds the new tracks of a run to the run imported before. The mapping
  lives only while the import runs: nothing is stored besides the tracks
  and runs.
- A record whose track is already there (the same taskId, userName,
  timeStamp and data, found with a query of the task's tracks at that time
  stamp) is skipped, so importing a file again adds nothing. Identical
  records in one file (on consecutive lines, as an export writes them)
  stay as many tracks.

An export imported into a new storage thus gives the same tracks (all but
ids and run numbers) grouped into the same runs.
"""

import argparse
import calendar
import contextlib
import csv
import json
import math
import os
import re
import sys
import time
from itertools import islice

from cybertools.tracking.database import displayURI
from cybertools.tracking.database import fileStoragePath

DEFAULT_DB = 'file://var/Data.fs'

# where zope.app.appsetup keeps the Zope root folder
# (zope.app.publication.zopepublication.ZopePublication.root_name)
ROOT_NAME = 'Application'

# removals and imports per transaction
BATCH = 1000

# the query formats, and those of export
FORMATS = ('table', 'json', 'csv')
EXPORT_FORMATS = ('jsonl', 'csv')

RECORD_KEYS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'data')
CSV_COLUMNS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'time',
               'data')
TABLE_COLUMNS = ('id', 'time (UTC)', 'task', 'run', 'user', 'data')

DAY = 86400
MICROSECOND = 1e-6

DATE_HELP = ('YYYY-MM-DD[ HH:MM[:SS]] in UTC, or seconds since the epoch')


class CommandError(Exception):
    """An expected error: shown as one line, the command exits with 2."""


# times

_DATE = re.compile(r'(\d{4})-(\d\d)-(\d\d)'
                   r'(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?Z?$')
_EPOCH = re.compile(r'\d+(\.\d*)?$')


def parseTime(text, option, end=False):
    """Seconds since the epoch for a date in UTC or a number of seconds.

    With ``end`` the last microsecond of what the text names: a date is
    the whole day, a time to the minute the whole minute.
    """
    text = text.strip()
    if _EPOCH.match(text):
        value = float(text)
    else:
        match = _DATE.match(text)
        if match is None:
            raise CommandError('%s: %r is not a time: use %s'
                               % (option, text, DATE_HELP))
        parts = [int(part) for part in match.groups(default='0')]
        if not 1 <= parts[1] <= 12 or parts[3] > 23 or parts[4] > 59 \
                or parts[5] > 59 or not 1 <= parts[2] <= (
                    calendar.monthrange(parts[0], parts[1])[1]):
            raise CommandError('%s: %r is not a valid date and time'
                               % (option, text))
        value = float(calendar.timegm(tuple(parts)))
        if end:
            unit = (DAY if match.group(4) is None else
                    60 if match.group(6) is None else 1)
            value += unit - MICROSECOND
    if not 0 <= value < 253402300800:
        raise CommandError('%s: %r is out of range (1970 to 9999)'
                           % (option, text))
    return value


def formatTime(timeStamp):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(timeStamp))


def dayOf(timeStamp):
    return time.strftime('%Y-%m-%d', time.gmtime(timeStamp))


# criteria

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
    if args.task:
        criteria['taskId'] = _oneOrList(args.task)
    if args.user:
        criteria['userName'] = _oneOrList(args.user)
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


# output

def trackRecord(track):
    return {'id': track.__name__, 'taskId': track.taskId,
            'runId': track.runId, 'userName': track.userName,
            'timeStamp': track.timeStamp, 'data': track.data}


def dataJSON(data):
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


class JSONLinesWriter:

    def __init__(self, out):
        self.out = out

    def write(self, track):
        self.out.write(json.dumps(trackRecord(track), ensure_ascii=False)
                       + '\n')

    def close(self):
        pass


class JSONArrayWriter:
    """A JSON array of records, one per line, written as they come."""

    def __init__(self, out):
        self.out = out
        self.separator = '[\n'

    def write(self, track):
        self.out.write(self.separator
                       + json.dumps(trackRecord(track), ensure_ascii=False))
        self.separator = ',\n'

    def close(self):
        self.out.write('[]\n' if self.separator == '[\n' else '\n]\n')


class CSVWriter:

    def __init__(self, out):
        self.writer = csv.writer(out)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, track):
        self.writer.writerow((track.__name__, track.taskId, track.runId,
                              track.userName, repr(track.timeStamp),
                              formatTime(track.timeStamp),
                              dataJSON(track.data)))

    def close(self):
        pass


class TableWriter:
    """Aligned columns, written in chunks: the widths are those of the
    rows so far, so a long result is not kept in memory."""

    chunk = 500

    def __init__(self, out):
        self.out = out
        self.rows = []
        self.widths = [len(name) for name in TABLE_COLUMNS]
        self.header = True

    def write(self, track):
        self.rows.append((track.__name__, formatTime(track.timeStamp),
                          track.taskId, str(track.runId), track.userName,
                          dataJSON(track.data)))
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self):
        rows = self.rows
        if self.header:
            rows.insert(0, TABLE_COLUMNS)
            self.header = False
        for row in rows:
            self.widths = [max(w, len(cell))
                           for w, cell in zip(self.widths, row)]
        for row in rows:
            cells = [cell.ljust(w) for cell, w in zip(row[:-1], self.widths)]
            self.out.write('  '.join(cells + [row[-1]]).rstrip() + '\n')
        self.rows = []

    def close(self):
        self.flush()


WRITERS = {'table': TableWriter, 'json': JSONArrayWriter, 'csv': CSVWriter,
           'jsonl': JSONLinesWriter}


def printTable(rows, header, out=None):
    out = out or sys.stdout
    rows = [header] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        out.write('  '.join(cell.ljust(w) if i < len(row) - 1 else cell
                            for i, (cell, w) in enumerate(zip(row, widths)))
                  + '\n')


class _NoProgress:

    def __init__(self, *args, **kw):
        pass

    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def progress(total=None, unit='tracks', enabled=True, **kw):
    """A tqdm progress bar on a terminal; nothing when stderr is piped."""
    if not (enabled and sys.stderr.isatty()):
        return _NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(total=total, unit=unit, leave=False,
                disable=not sys.stderr.isatty(), **kw)


def say(message):
    """A report of what a command did (not data): on stdout."""
    print(message, flush=True)


# the database, the site and the storage

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


# the commands

def cmdServe(args):
    try:
        from cybertools.tracking.demo.server import serve
    except ImportError as e:
        if not (e.name or '').startswith('cybertools.tracking.demo'):
            raise
        raise CommandError('the demo application is not available '
                           '(cybertools.tracking.demo.server): %s' % e)
    from zc.lockfile import LockError
    try:
        serve(args.db, host=args.host, port=args.port)
    except LockError:
        raise CommandError('the database %s is in use by another process'
                           % displayURI(args.db))
    except OSError as e:
        raise CommandError('cannot serve on %s:%s: %s'
                           % (args.host, args.port, e))
    return 0


def cmdQuery(args):
    if args.limit is not None and args.limit < 0:
        raise CommandError('--limit must not be negative')
    criteria, where = buildCriteria(args)
    with openStorage(args) as (connection, storage):
        result, _ = query(storage, criteria, where)
        writer = WRITERS[args.format](sys.stdout)
        for track in iterTracks(result, connection, args.newest_first,
                                args.limit):
            writer.write(track)
        writer.close()
    return 0


def cmdExport(args):
    criteria, where = buildCriteria(args)
    with openStorage(args) as (connection, storage):
        result, criteria = query(storage, criteria, where)
        toTerminal = args.output is None and sys.stdout.isatty()
        total = None
        if sys.stderr.isatty() and not toTerminal:
            total = len(storage) if not criteria else len(result)
        with contextlib.ExitStack() as stack:
            if args.output is None:
                out = sys.stdout
            else:
                try:
                    out = stack.enter_context(open(
                        args.output, 'w', encoding='utf-8', newline=''))
                except OSError as e:
                    raise CommandError('--output: %s' % e)
            writer = WRITERS[args.format](out)
            bar = stack.enter_context(progress(total, enabled=not toTerminal,
                                               desc='export'))
            count = 0
            for track in iterTracks(result, connection):
                writer.write(track)
                count += 1
                bar.update()
            writer.close()
    if args.output is not None:
        say('exported %i tracks to %s' % (count, args.output))
    return 0


def openImportFile(args):
    """The import file (binary) and its size (None for stdin)."""
    if args.file == '-':
        stream, total = sys.stdin.buffer, None
    else:
        try:
            stream = open(args.file, 'rb')
            total = os.fstat(stream.fileno()).st_size
        except OSError as e:
            raise CommandError('%s: %s' % (args.file, e.strerror or e))
    return stream, total


def parseRecord(line, where):
    try:
        record = json.loads(line)
    except ValueError as e:
        raise CommandError('%s: not JSON: %s' % (where, e))
    if not isinstance(record, dict):
        raise CommandError('%s: a record is a JSON object, not %s'
                           % (where, type(record).__name__))
    missing = [key for key in RECORD_KEYS[1:] if key not in record]
    if missing:
        raise CommandError('%s: the record has no %s'
                           % (where, ', '.join(missing)))
    taskId, runId, userName, timeStamp, data = (
        record[key] for key in RECORD_KEYS[1:])
    for name, value in (('taskId', taskId), ('userName', userName)):
        if not isinstance(value, str) or not value:
            raise CommandError('%s: %s must be a non-empty string: %r'
                               % (where, name, value))
    if isinstance(runId, bool) or not isinstance(runId, int) or runId < 1:
        raise CommandError('%s: runId must be a number from 1: %r'
                           % (where, runId))
    if isinstance(timeStamp, bool) or not isinstance(
            timeStamp, (int, float)):
        raise CommandError('%s: timeStamp must be seconds since the epoch: '
                           '%r' % (where, timeStamp))
    if not isinstance(data, dict):
        raise CommandError('%s: data must be an object: %r' % (where, data))
    return taskId, runId, userName, float(timeStamp), data


class Importer:
    """Adds the tracks of records to a storage (see the module docstring
    for how runs map and how tracks already there are recognised)."""

    def __init__(self, storage):
        self.storage = storage
        self.runs = {}          # (taskId, source run) -> run here
        self.seen = {}          # occurrences of records at ``seenTime``
        self.seenTime = None
        self.imported = self.skipped = self.newRuns = 0

    def add(self, taskId, sourceRun, userName, timeStamp, data):
        """Import one record; True if it became a new track."""
        if timeStamp != self.seenTime:
            self.seen.clear()
            self.seenTime = timeStamp
        key = (taskId, userName, dataJSON(data))
        occurrence = self.seen[key] = self.seen.get(key, 0) + 1
        same = [track for track in self.storage.query(
                    taskId=taskId, timeFromTo=(timeStamp, timeStamp))
                if track.taskId == taskId and track.userName == userName
                and track.timeStamp == timeStamp and track.data == data]
        runKey = (taskId, sourceRun)
        if len(same) >= occurrence:
            # already there: this was imported before
            self.runs.setdefault(runKey, same[occurrence - 1].runId)
            self.skipped += 1
            return False
        runId = self.runs.get(runKey)
        if runId is None:
            # the run starts with the first of its tracks
            runId = self.runs[runKey] = self.storage.startRun(
                taskId, start=timeStamp)
            self.newRuns += 1
        self.storage.saveUserTrack(taskId, runId, userName, data,
                                   timeStamp=timeStamp)
        self.imported += 1
        return True


def cmdImport(args):
    stream, total = openImportFile(args)
    name = '<stdin>' if args.file == '-' else args.file
    try:
        with openStorage(args) as (connection, storage), \
                progress(total, unit='B', unit_scale=True,
                         desc='import') as bar:
            importer = Importer(storage)
            pending = 0
            for number, raw in enumerate(stream, 1):
                bar.update(len(raw))
                where = '%s:%i' % (name, number)
                try:
                    line = raw.decode('utf-8')
                    if not line.strip():
                        continue
                    record = parseRecord(line, where)
                    try:
                        added = importer.add(*record)
                    except (TypeError, ValueError) as e:
                        raise CommandError('%s: %s' % (where, e))
                except (CommandError, UnicodeDecodeError) as e:
                    # keep what came before: importing again skips it
                    commit(connection, 'import')
                    if isinstance(e, UnicodeDecodeError):
                        e = '%s: not UTF-8: %s' % (where, e)
                    raise CommandError('%s (the %i tracks before it were '
                                       'imported)' % (e, importer.imported))
                if added:
                    pending += 1
                    if pending >= BATCH:
                        commit(connection, 'import')
                        pending = 0
                if number % BATCH == 0:
                    connection.cacheGC()
            commit(connection, 'import')
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    say('imported %i tracks into %i new runs, skipped %i already there'
        % (importer.imported, importer.newRuns, importer.skipped))
    return 0


def _matches(value, criterion):
    """Whether a task id or user name matches a criterion's value(s)."""
    patterns = criterion if isinstance(criterion, list) else [criterion]
    return any(value.startswith(p[:-1]) if p.endswith('*') else value == p
               for p in patterns)


def cmdStats(args):
    if args.limit is not None and args.limit < 0:
        raise CommandError('--limit must not be negative')
    criteria, where = buildCriteria(args)
    with openStorage(args) as (connection, storage):
        result, criteria = query(storage, criteria, where)
        tasks = [t for t in storage.getTaskIds()
                 if 'taskId' not in criteria
                 or _matches(t, criteria['taskId'])]
        if args.by == 'task':
            counts = [(t, len(runQuery(storage, dict(criteria, taskId=t))))
                      for t in tasks]
        elif args.by == 'user':
            users = set()
            for t in tasks:
                users.update(storage.getUserNames(t))
            counts = [(u, len(runQuery(storage, dict(criteria, userName=u))))
                      for u in sorted(users)
                      if 'userName' not in criteria
                      or _matches(u, criteria['userName'])]
        else:
            counts = _dayCounts(storage, criteria, result)
        counts = [(name, count) for name, count in counts if count]
        if args.by == 'day':
            if args.limit is not None:
                counts = counts[max(0, len(counts) - args.limit):]
        else:
            counts.sort(key=lambda item: (-item[1], item[0]))
            counts = counts[:args.limit]
    if args.format == 'json':
        json.dump([{args.by: name, 'tracks': count} for name, count in counts],
                  sys.stdout, ensure_ascii=False)
        sys.stdout.write('\n')
    elif args.format == 'csv':
        writer = csv.writer(sys.stdout)
        writer.writerow((args.by, 'tracks'))
        writer.writerows(counts)
    else:
        printTable(counts, (args.by, 'tracks'))
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


# the command line

class Parser(argparse.ArgumentParser):
    """Usage errors in one line, like the command's other errors."""

    def error(self, message):
        self.exit(2, '%s: error: %s (see %s --help)\n'
                  % (self.prog, message, self.prog))


def makeParser():
    formatter = argparse.HelpFormatter
    parser = Parser(
        prog='tracking', formatter_class=formatter,
        description='Query, export, import and maintain the tracks of a '
                    "Zope application's tracking storage; serve the demo "
                    'application.',
        epilog='The storage is the local utility of the Zope root folder '
               "(root['Application']) registered for ITrackingStorage under "
               'the --storage name. Errors are one line on stderr and exit '
               'with 2. "tracking COMMAND --help" explains a command.')
    dbHelp = ('the database, a zodburi URI: file://PATH (FileStorage), '
              'zeo://HOST:PORT, postgres://USER@HOST:PORT/DB '
              '(default: %s)' % DEFAULT_DB)
    parser.add_argument('--db', default=DEFAULT_DB, metavar='URI',
                        help=dbHelp)
    parser.add_argument('--storage', default='', metavar='NAME',
                        help="the storage's utility name (default: '')")
    parser.add_argument('--zcml', action='append', default=[],
                        metavar='FILE',
                        help='ZCML to load first, e.g. the application\'s '
                             'site.zcml, for the index-data adapters of its '
                             'track types (repeatable)')

    # the same options after the command (they win over those before it)
    dbOption = argparse.ArgumentParser(add_help=False)
    dbOption.add_argument('--db', default=argparse.SUPPRESS, metavar='URI',
                          help=dbHelp)
    siteOptions = argparse.ArgumentParser(add_help=False)
    siteOptions.add_argument('--storage', default=argparse.SUPPRESS,
                             metavar='NAME',
                             help="the storage's utility name (default: '')")
    siteOptions.add_argument('--zcml', action='append',
                             default=argparse.SUPPRESS, metavar='FILE',
                             help='ZCML to load first (repeatable)')

    criteriaOptions = argparse.ArgumentParser(add_help=False)
    group = criteriaOptions.add_argument_group(
        'criteria', 'Repeat an option for any of several values; a value '
        'ending in * matches every value starting with the rest.')
    group.add_argument('--task', action='append', metavar='TASK',
                       help='the task id')
    group.add_argument('--user', action='append', metavar='USER',
                       help='the user name')
    group.add_argument('--run', action='append', metavar='RUN',
                       help='the run id')
    group.add_argument('--from', dest='time_from', metavar='TIME',
                       help='tracks from this time on (%s)' % DATE_HELP)
    group.add_argument('--to', dest='time_to', metavar='TIME',
                       help='tracks up to this time, included: a date '
                            'includes the whole day (%s)' % DATE_HELP)
    group.add_argument('--where', action='append', metavar='NAME=VALUE',
                       help="another index of the storage, e.g. a data "
                            "field the track type indexes")

    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND',
                                       parser_class=Parser)
    subparsers.required = True

    def command(name, func, help, description, parents=(), epilog=None):
        sub = subparsers.add_parser(
            name, help=help, description=description, epilog=epilog,
            formatter_class=formatter, parents=list(parents))
        sub.set_defaults(func=func)
        return sub

    site = (dbOption, siteOptions)

    sub = command(
        'serve', cmdServe, 'serve the demo application',
        'Serve the demo application (cybertools.tracking.demo) on the '
        'database.', (dbOption,))
    sub.add_argument('--host', default='127.0.0.1',
                     help='the address to listen on (default: 127.0.0.1)')
    sub.add_argument('--port', type=int, default=8080,
                     help='the port to listen on (default: 8080)')

    sub = command(
        'query', cmdQuery, 'show the tracks matching criteria',
        'Show the tracks matching the criteria (all tracks without any), '
        'oldest first.', site + (criteriaOptions,),
        epilog='Formats: table (id, time in UTC, task, run, user, data as '
               'JSON), json (an array of records {"id", "taskId", "runId", '
               '"userName", "timeStamp", "data"}), csv (the same columns '
               'and the time in UTC).')
    sub.add_argument('--limit', type=int, metavar='N',
                     help='show at most N tracks')
    sub.add_argument('--newest-first', action='store_true',
                     help='newest tracks first')
    sub.add_argument('--format', choices=FORMATS, default='table',
                     help='the output format (default: table)')

    sub = command(
        'export', cmdExport, 'write tracks as JSON Lines or CSV',
        'Write the tracks matching the criteria (all without any), oldest '
        'first, one record per line: {"id", "taskId", "runId", "userName", '
        '"timeStamp", "data"}. Streams: the tracks are not collected in '
        'memory.', site + (criteriaOptions,))
    sub.add_argument('--format', choices=EXPORT_FORMATS, default='jsonl',
                     help='JSON Lines (default; what import reads) or CSV')
    sub.add_argument('--output', '-o', metavar='FILE',
                     help='write to FILE instead of stdout')

    sub = command(
        'import', cmdImport, 'add tracks from a JSON Lines export',
        'Add the tracks of a JSON Lines file (as export writes it) to the '
        'storage, committing every %i tracks.' % BATCH, site,
        epilog='Time stamps, tasks, users and data are kept, ids are new. '
               'Runs: the tracks of one source run (runId) of a task go '
               'into one run: the run its tracks imported before are in, '
               'else a new run of the task that the import starts (it '
               'becomes the task\'s current run). A record whose track is '
               'already there (same '
               'taskId, userName, timeStamp and data) is skipped, so '
               'importing a file again adds nothing. After an error, what '
               'came before is imported: fix the file and import it again.')
    sub.add_argument('file', metavar='FILE',
                     help='the JSON Lines file ("-" for stdin)')

    sub = command(
        'stats', cmdStats, 'count tracks per task, user or day',
        'Count the tracks matching the criteria per task, per user or per '
        'day (UTC), from the indexes.', site + (criteriaOptions,))
    sub.add_argument('--by', choices=('task', 'user', 'day'), default='task',
                     help='what to count per (default: task)')
    sub.add_argument('--limit', type=int, metavar='N',
                     help='the N largest counts (by day: the N latest days)')
    sub.add_argument('--format', choices=FORMATS, default='table',
                     help='the output format (default: table)')

    command('check', cmdCheck, 'compare the indexes with the tracks',
            'Compare the indexes with the stored tracks and print the '
            'differences; exit with 1 if there are any ("reindex" repairs '
            'them).', site)

    command('reindex', cmdReindex, 'rebuild the indexes',
            'Rebuild all indexes from the stored tracks, in one '
            'transaction.', site)

    destructive = argparse.ArgumentParser(add_help=False)
    destructive.add_argument(
        '--yes', '-y', action='store_true',
        help='do not ask for confirmation (required without a terminal)')
    sub = command(
        'purge', cmdPurge, 'remove tracks older than a date',
        'Remove the tracks with time stamps before a time, committing every '
        '%i removals, and print how many were removed. Asks for '
        'confirmation unless --yes.' % BATCH, site + (destructive,))
    sub.add_argument('--before', required=True, metavar='TIME',
                     help='remove the tracks before this time (%s)'
                          % DATE_HELP)

    sub = command(
        'forget-user', cmdForgetUser, "remove all of a user's tracks",
        'Remove all tracks of a user, committing every %i removals, and '
        'print how many were removed. Asks for confirmation unless --yes.'
        % BATCH, site + (destructive,))
    sub.add_argument('name', metavar='NAME', help='the user name')
    return parser


def main(argv=None):
    """Run the command; returns the exit code."""
    args = makeParser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as e:
        message = ' '.join(line.strip() for line in str(e).splitlines())
        print('tracking: error: %s' % message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('tracking: interrupted (committed batches stay)',
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): no more output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == '__main__':
    sys.exit(main())
