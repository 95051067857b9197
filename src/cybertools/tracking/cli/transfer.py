"""Export and import: the export and import commands.

``export`` writes JSON Lines, oldest first: first one record per run
(``{"type": "run", "runId", "taskId", "start", "end", "stopped",
"finished", "current"}``: the runs of the exported tasks, or those given
with ``--run``), then one record per track (``{"id", "taskId", "runId",
"userName", "timeStamp", "data"}``). ``--format csv`` writes the tracks
only, with a ``time`` column in UTC added.

``import`` reads JSON Lines (also exports of earlier versions, which hold
tracks only):

- Into a storage without tracks and runs (a new database, say) an export
  is *restored*: runs and tracks keep their ids, and runs their start,
  stop time, finished flag and whether they are their task's current run.
  Export and import thus move a storage whole.
- Into a storage with data the records are *merged*, with new ids. A run
  of the file is the storage's run of the same task with the same start
  (a run stopped in the file is stopped there too, if it is still open);
  else it is added with its start and state. It becomes its task's
  current run only if the task has none. The tracks of a source run go
  into the run it maps to. A run that the file does not describe (an
  export of an earlier version) starts with the first of its tracks that
  is imported (``startRun``, so it becomes its task's current run), or
  goes where its tracks imported before are.
- A track already there (the same taskId, userName, timeStamp and data)
  is skipped, so importing a file again adds nothing; identical records
  in one file (next to each other, as an export writes them) stay as many
  tracks.

A line that is not a record, or one the storage refuses (invalid Unicode,
data nesting too deep, ...), is reported as an error naming the file and
line, and the other lines are imported. A line longer than the limit
(``--max-line-bytes``) ends the import: the file is not an export.
"""

import contextlib
import json
import os
import sys

from cybertools.tracking.btree import Exact
from cybertools.tracking.cli.criteria import buildCriteria
from cybertools.tracking.cli.criteria import iterTracks
from cybertools.tracking.cli.criteria import matches
from cybertools.tracking.cli.criteria import query
from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.output import WRITERS
from cybertools.tracking.cli.output import Escapes
from cybertools.tracking.cli.output import dataJSON
from cybertools.tracking.cli.output import progress
from cybertools.tracking.cli.output import say
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.site import commit
from cybertools.tracking.cli.site import openStorage

RECORD_KEYS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'data')
RUN_KEYS = ('runId', 'taskId', 'start', 'end', 'stopped', 'finished',
            'current')

# the longest line import reads (bytes): an export's lines are a track
# each, far shorter
MAX_LINE_BYTES = 16 * 1024 * 1024


# export

def runRecords(storage, criteria):
    """The records of the runs of the tasks the criteria select (or of
    the runs they name), oldest first."""
    current = {}
    for run in storage.getRuns():
        if 'taskId' in criteria and (
                run.taskId is None
                or not matches(run.taskId, criteria['taskId'])):
            continue
        if 'runId' in criteria:
            wanted = criteria['runId']
            if run.id not in (wanted if isinstance(wanted, list)
                              else [wanted]):
                continue
        if run.taskId is not None and run.taskId not in current:
            currentRun = storage.getRun(run.taskId)
            current[run.taskId] = currentRun.id if currentRun else None
        yield {'type': 'run', 'runId': run.id, 'taskId': run.taskId,
               'start': run.start, 'end': run.end, 'stopped': run.stopped,
               'finished': bool(run.finished),
               'current': run.taskId is not None
               and current[run.taskId] == run.id}


def cmdExport(args):
    criteria, where = buildCriteria(args)
    escapes = Escapes()
    with openStorage(args, readOnly=True) as (connection, storage):
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
            runs = 0
            if args.format == 'jsonl':
                for record in runRecords(storage, criteria):
                    out.write(escapes.json(record, 'run %s'
                                           % record['runId']) + '\n')
                    runs += 1
            writer = WRITERS[args.format](out, escapes, args.raw_csv)
            bar = stack.enter_context(progress(total, enabled=not toTerminal,
                                               desc='export'))
            count = 0
            for track in iterTracks(result, connection):
                writer.write(track)
                count += 1
                bar.update()
            writer.close()
    escapes.report()
    if args.output is not None:
        say('exported %i tracks%s to %s'
            % (count, ' and %i runs' % runs if runs else '', args.output))
    return 0


# import

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


class LineTooLong(CommandError):
    """A line beyond the limit: the rest of the file is not read."""


def readLines(stream, limit, name):
    """(number, line) of a binary stream, refusing lines beyond limit."""
    number = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit:
            raise LineTooLong(
                '%s:%i: the line is longer than %i bytes, so the file is '
                'not an export; the rest of it is not read (--max-line-bytes '
                'raises the limit)' % (name, number, limit))
        yield number, raw


def decodeRecord(raw):
    """The JSON object of a line (bytes); CommandError if it is none."""
    try:
        line = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise CommandError('not UTF-8: %s' % e)
    try:
        record = json.loads(line)
    except RecursionError:
        raise CommandError('not a record: it nests too deep')
    except ValueError as e:
        raise CommandError('not JSON: %s' % e)
    if not isinstance(record, dict):
        raise CommandError('a record is a JSON object, not %s'
                           % type(record).__name__)
    return record


def _missing(record, keys):
    missing = [key for key in keys if key not in record]
    if missing:
        raise CommandError('the record has no %s' % ', '.join(missing))


def _time(value, name, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError('%s must be seconds since the epoch: %r'
                           % (name, value))
    return float(value)


def _runId(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CommandError('runId must be a number from 1: %r' % (value,))
    return value


def parseTrack(record):
    """(id, taskId, runId, userName, timeStamp, data) of a track record."""
    _missing(record, RECORD_KEYS[1:])
    taskId, runId, userName, timeStamp, data = (
        record[key] for key in RECORD_KEYS[1:])
    for name, value in (('taskId', taskId), ('userName', userName)):
        if not isinstance(value, str) or not value:
            raise CommandError('%s must be a non-empty string: %r'
                               % (name, value))
    if not isinstance(data, dict):
        raise CommandError('data must be an object: %r' % (data,))
    trackId = record.get('id')
    return (trackId if isinstance(trackId, str) else None, taskId,
            _runId(runId), userName, _time(timeStamp, 'timeStamp'), data)


def parseRun(record):
    """The run record's values, checked for form."""
    _missing(record, RUN_KEYS)
    taskId = record['taskId']
    if taskId is not None and (not isinstance(taskId, str) or not taskId):
        raise CommandError('taskId must be a non-empty string or null: %r'
                           % (taskId,))
    for name in ('finished', 'current'):
        if not isinstance(record[name], bool):
            raise CommandError('%s must be true or false: %r'
                               % (name, record[name]))
    return dict(runId=_runId(record['runId']), taskId=taskId,
                start=_time(record['start'], 'start'),
                stopped=_time(record['stopped'], 'stopped', optional=True),
                finished=record['finished'], current=record['current'])


class Importer:
    """Adds records to a storage (see the module docstring for restoring,
    merging, how runs map and how tracks already there are recognised)."""

    def __init__(self, storage):
        self.storage = storage
        # an empty storage is restored into: the ids are kept
        self.restoring = not len(storage) and not len(storage.getRuns())
        self.described = {}     # source run of a run record -> run here
        self.runs = {}          # (taskId, source run) -> run here, for
                                # runs no record describes
        self.known = None       # (taskId, start) -> run here, when merging
        self.nextRunId = None
        self.seen = {}          # occurrences of records at ``seenTime``
        self.seenTime = None
        self.imported = self.skipped = self.newRuns = 0

    def add(self, record):
        """Import one record."""
        if record.get('type') == 'run':
            self.addRun(**parseRun(record))
        else:
            self.addTrack(*parseTrack(record))

    def addRun(self, runId, taskId, start, stopped, finished, current):
        storage = self.storage
        if self.restoring:
            storage.restoreRun(runId, taskId, start, stopped=stopped,
                               finished=finished, current=current)
            self.described[runId] = runId
            self.newRuns += 1
            return
        if self.known is None:
            # the storage's runs by task and start, read once
            runs = list(storage.getRuns())
            self.known = {(run.taskId, run.start): run.id for run in runs}
            self.nextRunId = max((run.id for run in runs), default=0) + 1
        known = self.known.get((taskId, start))
        if known is not None:
            run = storage.getRun(runId=known)
            if stopped is not None and run.stopped is None:
                storage.stopRun(runId=run.id, finish=finished,
                                stopped=stopped)
            self.described[runId] = run.id
            return
        newId = self.nextRunId
        self.nextRunId += 1
        current = (current and taskId is not None
                   and storage.getRun(taskId) is None)
        storage.restoreRun(newId, taskId, start, stopped=stopped,
                           finished=finished, current=current)
        self.known[taskId, start] = newId
        self.described[runId] = newId
        self.newRuns += 1

    def addTrack(self, trackId, taskId, sourceRun, userName, timeStamp,
                 data):
        storage = self.storage
        if self.restoring and sourceRun in self.described and trackId:
            storage.restoreTrack(trackId, taskId, sourceRun, userName,
                                 timeStamp, data)
            self.imported += 1
            return
        if timeStamp != self.seenTime:
            self.seen.clear()
            self.seenTime = timeStamp
        key = (taskId, userName, dataJSON(data))
        occurrence = self.seen[key] = self.seen.get(key, 0) + 1
        same = [track for track in storage.query(
                    taskId=Exact(taskId), timeFromTo=(timeStamp, timeStamp))
                if track.taskId == taskId and track.userName == userName
                and track.timeStamp == timeStamp and track.data == data]
        runKey = (taskId, sourceRun)
        if len(same) >= occurrence:
            # already there: this was imported before
            self.runs.setdefault(runKey, same[occurrence - 1].runId)
            self.skipped += 1
            return
        runId = self.described.get(sourceRun) or self.runs.get(runKey)
        if runId is None:
            # a run no record describes starts with the first of its tracks
            runId = self.runs[runKey] = storage.startRun(taskId,
                                                         start=timeStamp)
            self.newRuns += 1
        storage.saveUserTrack(taskId, runId, userName, data,
                              timeStamp=timeStamp)
        self.imported += 1


def cmdImport(args):
    if args.max_line_bytes < 1:
        raise CommandError('--max-line-bytes must be at least 1')
    stream, total = openImportFile(args)
    name = '<stdin>' if args.file == '-' else args.file
    errors = 0
    try:
        with openStorage(args, create=True) as (connection, storage), \
                progress(total, unit='B', unit_scale=True,
                         desc='import') as bar:
            importer = Importer(storage)
            pending = 0
            try:
                for number, raw in readLines(stream, args.max_line_bytes,
                                             name):
                    bar.update(len(raw))
                    if not raw.strip():
                        continue
                    try:
                        importer.add(decodeRecord(raw))
                    except (CommandError, TypeError, ValueError) as e:
                        errors += 1
                        print('tracking: error: %s:%i: %s'
                              % (name, number, oneLine(e)), file=sys.stderr)
                        continue
                    pending += 1
                    if pending >= BATCH:
                        commit(connection, 'import')
                        pending = 0
                        connection.cacheGC()
            except LineTooLong:
                # keep what came before: importing again skips it
                commit(connection, 'import')
                raise
            commit(connection, 'import')
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    say('imported %i tracks into %i new runs, skipped %i already there'
        % (importer.imported, importer.newRuns, importer.skipped))
    if errors:
        raise CommandError('%i line%s of %s could not be imported (see '
                           'above); the others were'
                           % (errors, '' if errors == 1 else 's', name))
    return 0


def oneLine(error):
    return ' '.join(str(error).split())
