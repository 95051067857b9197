"""Export and import: the export and import commands.

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

import contextlib
import json
import os
import sys

from cybertools.tracking.cli.criteria import iterTracks
from cybertools.tracking.cli.criteria import buildCriteria
from cybertools.tracking.cli.criteria import query
from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.output import WRITERS
from cybertools.tracking.cli.output import dataJSON
from cybertools.tracking.cli.output import progress
from cybertools.tracking.cli.output import say
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.site import commit
from cybertools.tracking.cli.site import openStorage

RECORD_KEYS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'data')


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
