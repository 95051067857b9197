"""Access logging: who did what to which object, appended to a rotating log
file as JSON lines on every request, and loaded into a tracking storage
later.

A record is one JSON object on one line::

    {"time":1700000000.25,"user":"alice","object":"/docs/report","action":"view"}

``time`` is seconds since the epoch (UTC), ``user`` a user name or
principal id, ``object`` what was accessed (a path, an id), ``action``
what was done; further keys are the record's extra fields. JSON escapes
newlines and quotes in values, so a record is always exactly one line.
"""

import collections
import dataclasses
import json
import logging
import logging.handlers
import os
import re
import time

from tqdm import tqdm

from cybertools.tracking.btree import Exact
from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkName
from cybertools.tracking.validation import checkTime

# The keys of a record that are not extra fields.
RECORD_KEYS = ('time', 'user', 'object', 'action')

# How many distinct records the loader remembers to tell identical records
# of one log apart (identical records share their time stamp, so they are
# next to each other in a log).
SEEN_WINDOW = 10000

log = logging.getLogger(__name__)


class ProgressBar(tqdm):
    """tqdm's bar without its monitor thread (which only tunes the update
    interval of bars that go quiet)."""

    monitor_interval = 0


class AccessLogger:
    """Appends access records to a log file, rotating it by size.

    When the file would grow beyond ``maxBytes`` it is renamed to
    ``path.1`` (``path.1`` to ``path.2`` and so on, keeping
    ``backupCount`` of them) and a new file is started; this is the
    standard library's ``RotatingFileHandler`` (with ``maxBytes`` or
    ``backupCount`` 0 the file is never rotated). ``log`` is thread-safe;
    use one logger per file in a process, and one process per file:
    rotation is not coordinated between processes.
    """

    def __init__(self, path, maxBytes=10 * 1024 * 1024, backupCount=5):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=maxBytes, backupCount=backupCount,
            encoding='utf-8', delay=True)
        self.handler.setFormatter(logging.Formatter('%(message)s'))

    def log(self, userName, objectId, action, timeStamp=None, **extra):
        """Append a record: ``userName`` did ``action`` to ``objectId``.

        ``timeStamp`` (seconds since the epoch) defaults to now. Extra
        keywords become the record's extra fields; their values must be
        what a track's data can hold (strings, numbers, booleans, None,
        lists, mappings). Invalid arguments raise TypeError or ValueError
        and write nothing. Errors writing the file are reported like any
        logging handler's (on stderr) and not raised, so that a full disk
        does not break the requests being logged.
        """
        record = {
            'time': time.time() if timeStamp is None
            else checkTime(timeStamp, 'timeStamp'),
            'user': checkName(userName, 'userName'),
            'object': checkName(objectId, 'objectId'),
            'action': checkName(action, 'action'),
        }
        clash = sorted(set(RECORD_KEYS) & set(extra))
        if clash:
            raise ValueError('extra fields must not be named %s'
                             % ', '.join(clash))
        record.update(checkData(extra))
        line = json.dumps(record, ensure_ascii=False, allow_nan=False,
                          separators=(',', ':'))
        self.handler.handle(logging.LogRecord(
            __name__, logging.INFO, __file__, 0, line, None, None))

    def rollover(self):
        """Rotate the log file now (e.g. before loading it)."""
        self.handler.acquire()
        try:
            self.handler.doRollover()
        finally:
            self.handler.release()

    def close(self):
        self.handler.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@dataclasses.dataclass
class LoadSummary:
    """What ``loadAccessLog`` did: the numbers of records loaded and of
    records skipped because they were loaded before, the errors (one
    message per malformed or refused line) and the files read."""

    loaded: int = 0
    duplicates: int = 0
    errors: list = dataclasses.field(default_factory=list)
    files: list = dataclasses.field(default_factory=list)

    def __str__(self):
        return '%i loaded, %i duplicate%s, %i error%s' % (
            self.loaded, self.duplicates, '' if self.duplicates == 1 else 's',
            len(self.errors), '' if len(self.errors) == 1 else 's')


def logFiles(path):
    """The log file and its rotated siblings that exist, oldest first:
    ``path.N`` ... ``path.1``, then ``path``."""
    directory, name = os.path.split(path)
    pattern = re.compile(re.escape(name) + r'\.([0-9]+)$')
    rotated = []
    for sibling in os.listdir(directory or os.curdir):
        match = pattern.match(sibling)
        if match:
            rotated.append((int(match.group(1)),
                            os.path.join(directory, sibling)))
    files = [filename for _, filename in sorted(rotated, reverse=True)]
    if os.path.exists(path):
        files.append(path)
    return files


def loadAccessLog(storage, path, progress=None):
    """Load an access log and its rotated siblings into a tracking storage.

    The files (see ``logFiles``) are read oldest first. Each record becomes
    a track: ``taskId`` is the record's object, ``userName`` its user, the
    time stamp its time, and the data its action and extra fields. Tracks
    go into the current run of their object (a run is started for an
    object that has none).

    Loading is idempotent: a record is already loaded when the storage has
    a track with the same time stamp, user, object and data. The storage's
    index of users finds the user's tracks at that exact time stamp (a
    range of one index entry: no scan, and no track loaded unless one is
    there), and those tracks are compared (time stamps exactly, though the
    index keeps them to the microsecond). Identical records in a log
    (same time, user, object and data) are loaded as often as they occur.
    So the live log can be loaded again and again, before and after it is
    rotated: only records not loaded yet are added.

    A malformed line (not a JSON object, a key missing, nesting too deep,
    a value the storage refuses, such as a name with an escaped lone
    surrogate) is skipped with an error message naming the file and
    the line; the other lines are loaded. Blank lines are ignored. The
    errors are logged (logger ``cybertools.tracking.logfile``) and
    returned in the summary.

    ``progress`` shows a progress bar on stderr: None (the default) when
    stderr is a terminal, True always, False never.

    Returns a ``LoadSummary``. The caller commits the transaction; after
    a failure the load can simply be repeated.
    """
    files = logFiles(path)
    if not files:
        raise FileNotFoundError('no access log at %s' % path)
    summary = LoadSummary(files=files)
    total = sum(os.path.getsize(filename) for filename in files)
    seen = collections.OrderedDict()
    with ProgressBar(total=total, unit='B', unit_scale=True, desc='access log',
                     disable=None if progress is None else not progress,
                     leave=False) as bar:
        for filename in files:
            with open(filename, 'rb') as f:
                for lineno, line in enumerate(f, 1):
                    bar.update(len(line))
                    if not line.strip():
                        continue
                    try:
                        _loadRecord(storage, line, seen, summary)
                    except (TypeError, ValueError) as error:
                        message = '%s, line %i: %s' % (filename, lineno,
                                                       error)
                        summary.errors.append(message)
                        log.warning('%s', message)
    return summary


def parseRecord(line):
    """The time, user, object and data (action and extra fields) of a log
    line (bytes or str); ValueError or TypeError if it is malformed."""
    if isinstance(line, bytes):
        line = line.rstrip(b'\r\n')
        try:
            line = line.decode('utf-8')
        except UnicodeDecodeError as error:
            raise ValueError('not UTF-8 (%s)' % error) from None
    try:
        record = json.loads(line, parse_constant=_refuseConstant)
    except json.JSONDecodeError as error:
        raise ValueError('malformed JSON (%s)' % error) from None
    except RecursionError:
        # json gives up on deep nesting before the track's limit applies
        raise ValueError('not a record: it nests too deep') from None
    if not isinstance(record, dict):
        raise ValueError('not a JSON object but %s'
                         % type(record).__name__)
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise ValueError('%s missing' % ', '.join(repr(key)
                                                  for key in missing))
    timeStamp = checkTime(record.pop('time'), 'time')
    userName = checkName(record.pop('user'), 'user')
    objectId = checkName(record.pop('object'), 'object')
    checkName(record['action'], 'action')
    return timeStamp, userName, objectId, record


def _refuseConstant(name):
    raise ValueError('%s is not a number a track can hold' % name)


def _loadRecord(storage, line, seen, summary):
    timeStamp, userName, objectId, data = parseRecord(line)
    data = checkData(data)
    # the how-manieth identical record of this load this one is
    key = (timeStamp, userName, objectId,
           json.dumps(data, sort_keys=True))
    occurrence = seen.pop(key, 0) + 1
    seen[key] = occurrence
    if len(seen) > SEEN_WINDOW:
        seen.popitem(last=False)
    # exactly this user: a name may end in *
    stored = sum(1 for track in storage.query(userName=Exact(userName),
                                              timeFromTo=(timeStamp,
                                                          timeStamp))
                 if track.timeStamp == timeStamp
                 and track.taskId == objectId and track.data == data)
    if stored >= occurrence:
        summary.duplicates += 1
        return
    storage.saveUserTrack(objectId, 0, userName, data, timeStamp=timeStamp)
    summary.loaded += 1
from cybertools.tracking.messagelog import Logger, loggers  # noqa: E402,F401 (the original's names)
