"""Writing tracks and counts: tables, JSON, JSON Lines and CSV; progress
bars and reports."""

import csv
import json
import sys

from cybertools.tracking.cli.times import formatTime

# the query formats, and those of export
FORMATS = ('table', 'json', 'csv')
EXPORT_FORMATS = ('jsonl', 'csv')

CSV_COLUMNS = ('id', 'taskId', 'runId', 'userName', 'timeStamp', 'time',
               'data')
TABLE_COLUMNS = ('id', 'time (UTC)', 'task', 'run', 'user', 'data')


# A CSV cell beginning with one of these is a formula to a spreadsheet:
# such cells get a leading ' (unless --raw-csv), so that a task id saved
# by any user cannot run as a formula in the manager's spreadsheet.
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')


def trackRecord(track):
    return {'id': track.__name__, 'taskId': track.taskId,
            'runId': track.runId, 'userName': track.userName,
            'timeStamp': track.timeStamp, 'data': track.data}


def dataJSON(data):
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def spreadsheetSafe(cell):
    """A CSV cell that a spreadsheet shows as text, never runs."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class Escapes:
    """Writes what an older version may have stored and no longer can be:
    text with lone surrogates (not encodable, so it would end the output)
    and values JSON cannot hold. They are written escaped (``\\udXXX``,
    as JSON escapes them; other values by their repr), and ``report``
    says on stderr which tracks or names were."""

    shown = 5

    def __init__(self):
        self.count = 0
        self.names = []         # the first ``shown`` of them
        self.last = None

    def text(self, text, what):
        """The text, escaped if it cannot be encoded."""
        try:
            text.encode('utf-8')
        except UnicodeEncodeError:
            self.note(what)
            return text.encode('utf-8', 'backslashreplace').decode('utf-8')
        return text

    def json(self, value, what, **options):
        """JSON text of a value, escaped where need be."""
        def unexportable(item):
            self.note(what)
            return _repr(item)
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False,
                              default=unexportable, **options)
        except (RecursionError, ValueError):
            # nested too deep, or a NaN: the value as a string
            self.note(what)
            text = json.dumps(_repr(value), ensure_ascii=False)
        return self.text(text, what)

    def note(self, what):
        if what == self.last:
            return
        self.last = what
        self.count += 1
        if len(self.names) < self.shown:
            self.names.append(what)

    def report(self):
        if not self.count:
            return
        names = ', '.join(self.names)
        if self.count > len(self.names):
            names += ' and %i more' % (self.count - len(self.names))
        print('tracking: warning: written escaped (lone surrogates as '
              '\\udXXX), as stored by an older version: %i record%s: %s'
              % (self.count, '' if self.count == 1 else 's', names),
              file=sys.stderr)


def _repr(value, length=1000):
    try:
        text = repr(value)
    except RecursionError:
        return '<nested too deep to show>'
    return text if len(text) <= length else text[:length] + '...'


class TrackWriter:

    def __init__(self, out, escapes, rawCSV=False):
        self.out = out
        self.escapes = escapes

    def record(self, track):
        return self.escapes.json(trackRecord(track), track.__name__)

    def close(self):
        pass


class JSONLinesWriter(TrackWriter):

    def write(self, track):
        self.out.write(self.record(track) + '\n')


class JSONArrayWriter(TrackWriter):
    """A JSON array of records, one per line, written as they come."""

    separator = '[\n'

    def write(self, track):
        self.out.write(self.separator + self.record(track))
        self.separator = ',\n'

    def close(self):
        self.out.write('[]\n' if self.separator == '[\n' else '\n]\n')


class CSVWriter(TrackWriter):

    def __init__(self, out, escapes, rawCSV=False):
        super().__init__(out, escapes)
        self.writer = SafeCSVWriter(out, rawCSV)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, track):
        name = track.__name__
        text = self.escapes.text
        self.writer.writerow((
            name, text(track.taskId, name), str(track.runId),
            text(track.userName, name), repr(track.timeStamp),
            formatTime(track.timeStamp),
            self.escapes.json(track.data, name, sort_keys=True)))


class SafeCSVWriter:
    """A csv writer whose cells are spreadsheet-safe unless ``raw``."""

    def __init__(self, out, raw=False):
        self.writer = csv.writer(out)
        self.raw = raw

    def writerow(self, row):
        row = [str(cell) for cell in row]
        self.writer.writerow(row if self.raw else map(spreadsheetSafe, row))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class TableWriter(TrackWriter):
    """Aligned columns, written in chunks: the widths are those of the
    rows so far, so a long result is not kept in memory."""

    chunk = 500

    def __init__(self, out, escapes, rawCSV=False):
        super().__init__(out, escapes)
        self.rows = []
        self.widths = [len(name) for name in TABLE_COLUMNS]
        self.header = True

    def write(self, track):
        name = track.__name__
        text = self.escapes.text
        self.rows.append((name, formatTime(track.timeStamp),
                          text(track.taskId, name), str(track.runId),
                          text(track.userName, name),
                          self.escapes.json(track.data, name,
                                            sort_keys=True)))
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
