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
