"""Benchmark of the core tracking storage against SQLite.

Our ``TrackingStorage`` is compared with a plain SQLite table holding the
same tracks (stdlib sqlite3, WAL, synchronous=NORMAL), on the same
generated workload (seeded random, so runs are repeatable). There are two
parts.

Single writer
-------------

One process, one run: our storage in the database named by ``--uri`` (a
zodburi URI, see cybertools.tracking.database; default: a FileStorage in a
temporary directory), made with the defaults under the root name
``tracking-benchmark`` (replaced if there; use a scratch database), and an
SQLite file in the temporary directory.

ingest
    N tracks (``--tracks``) for 1,000 tasks and 5,000 users, each with a
    3-item data dict and an explicit time stamp (starting at the current
    time and increasing by a random 0..2 s per track); a commit every 1,000
    saves. Ours: ``saveUserTrack(taskId, 0, userName, data, timeStamp=ts)``
    (run 0 is the task's current run, started by the first save of the
    task). SQLite: one INSERT per track with the id our storage gave the
    track, the same run number, time stamp and data (as JSON); SQLite keeps
    no runs, it is given their numbers. Reported as tracks/s of wall time
    and of CPU time (the process's), and, for a FileStorage, as the
    objects and bytes our commits wrote per save (read back from the
    file's transaction records, so counting costs the ingest nothing).

last track
    The latest track of an existing (task, run, user):
    ``getLastUserTrack`` against ``SELECT ... ORDER BY ts DESC, id DESC
    LIMIT 1``, the row turned into a record (data through json.loads).

user tracks
    All tracks of a user: ``list(storage.query(userName=u))`` against
    ``SELECT ... WHERE user=? ORDER BY ts, id``, all rows materialised.

time range
    The tracks of a task in a time window of 10% of the whole time span:
    ``list(storage.query(taskId=t, timeFrom=a, timeTo=b))`` against the
    SQL equivalent.

count
    The number of tracks of a task: ``len(storage.query(taskId=t))``
    against ``SELECT count(*)``.

Each query workload runs twice per store:

warm
    on the connection of the ingest, as a long-running process has it
    (``--warm-cache-size`` objects, default 50,000), after one untimed
    pass of the same workload; SQLite on its ingest connection, also after
    an untimed pass;
cold
    after both databases were closed and reopened (a new ZODB DB and
    connection with ``--cache-size`` objects, default 5,000, and empty; a
    new SQLite connection; a ``memory://`` database would be lost on
    closing, so there only the object cache is emptied), with no warm-up:
    the first query workload of each store pays for its cold start (the OS
    file cache is warm for both; the garbage the closed databases left in
    this process is collected before, untimed).

Each query workload runs in one ZODB read transaction, so the connection
cache may grow past its size within it; it is aborted after each
workload. The query workloads report ops/s (wall time) and the p50/p99
latency of single operations in microseconds; every row has the ratio
ours/SQLite of the rates (> 1: we are faster). The ingest rows give wall
and CPU time. No event subscribers are registered, so the storage's
``notify`` calls cost next to nothing here.

The progress line of each query workload and of each ingest names the
collections of the garbage collector's oldest generation that ran in
it, for each store, and how long they took: each walks the whole heap
(the generated workload and both stores included), and one takes as
long as thousands of queries, so that it can halve a rate while the p50
latency does not move.

After the timed part the script checks that both stores give the same
answers for a sample of the queries, so the comparison is a fair one.

It also reports the file size per track, for a FileStorage only: before
and after ``db.pack()`` (a FileStorage keeps every old revision of an
object until it is packed), and the SQLite database file; and the peak RSS
of the process (a high-water mark: after generating the workload, after
our ingest, and at the end, both stores together).

Concurrent ingest
-----------------

K writer processes (``--writers``, default 4) each save S tracks
(``--concurrent-saves``, default 2,000), ONE transaction per save, with
the standard retry loop (``transaction_manager.attempts(A)``,
``--attempts``, default 5) into a fresh storage on a ZEO server that the
benchmark starts (``cybertools.tracking.testing.ZEOServer``, on 127.0.0.1,
its FileStorage in a temporary directory, run in a thread of this
process), made with the defaults. The writer is benchmarks/writer.py; its
tracks are like the single-writer ones, but stamped with the time of
saving. All writers open the database first and start together on a
signal; saves that still conflict after A attempts are given up and
counted, not retried. This runs with K writers and with one writer alone
(the baseline). Then T threads of this process (``--threads``, default 8)
save S/2 tracks each the same way into a fresh FileStorage, as the
threads of a WSGI server do, and one thread alone (its baseline).
The same K writers and one writer alone also save into SQLite (each its
own connection, WAL, synchronous=NORMAL, a busy timeout, one commit per
insert, an insert failing with "database is locked" rolled back and tried
again, up to A attempts).

Reported per row: commits/s of all writers together (committed saves over
the wall time from the start signal to the last writer's end), conflicts
per 100 saves (attempts that failed: retried, or given up), saves failed
after all attempts, and the ratio of the row's commits/s to the one-writer
commits/s (ZEO rows: the ZEO one writer; thread rows: the one thread;
SQLite rows: the SQLite one writer). Afterwards each store is checked: every committed
save is there exactly once, and our indexes agree with our tracks.

Usage::

    python benchmarks/core.py [--tracks N] [--lookups M] [--cache-size C]
        [--warm-cache-size W] [--uri URI] [--writers K] [--threads T]
        [--concurrent-saves S] [--attempts A] [--only single|concurrent]
    python benchmarks/core.py --tracks N --profile

``--profile`` runs only our ingest, under cProfile, and prints where its
time goes: our code (saveUserTrack) against the commits (ZODB), the time
of each package, and the functions with the most time of their own.
"""

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import transaction

from ZODB.POSException import ConflictError

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.database import openDatabase
from cybertools.tracking.testing import ZEOServer

TASKS = 1000
USERS = 5000
COMMIT_EVERY = 1000
SEED = 4711
ROOT_NAME = 'tracking-benchmark'
SQLITE_BUSY_TIMEOUT_MS = 5000
WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'writer.py')
WRITERS_TIMEOUT = 1800      # seconds for all writers of one measurement
PROGRESS_EVERY = 100000     # saves between progress lines of an ingest

STARTED = time.perf_counter()


def log(message):
    """A progress line, with the seconds since the benchmark started."""
    print('[%7.1f s] %s' % (time.perf_counter() - STARTED, message),
          flush=True)


OLDEST_GENERATION = len(gc.get_threshold()) - 1


class FullCollections:
    """The collections of the garbage collector's oldest generation while
    it is entered, and the seconds they took (through ``gc.callbacks``)."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self._started = None

    def __call__(self, phase, info):
        if info['generation'] != OLDEST_GENERATION:
            return
        if phase == 'start':
            self._started = time.perf_counter()
        elif self._started is not None:
            self.count += 1
            self.seconds += time.perf_counter() - self._started
            self._started = None

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info):
        gc.callbacks.remove(self)

    def __str__(self):
        if not self.count:
            return 'none'
        return '%i (%.0f ms)' % (self.count, self.seconds * 1e3)


def collections_note(ours, theirs):
    """What a progress line says of the full collections of a workload."""
    return '; full collections: ours %s, sqlite %s' % (ours, theirs)


# the workload

def generate_tracks(count, start, seed=SEED):
    """The tracks to save: a list of (task, run, user, ts, data).

    The time stamps start at ``start`` and increase by 0..2 s per track.
    The run is the number the storage will give the task's first run: run
    ids are counted up, in the order in which the tasks get their first
    track.
    """
    rnd = random.Random(seed)
    runs = {}
    tracks = []
    ts = start
    for _ in range(count):
        task = 'task-%04i' % rnd.randrange(TASKS)
        user = 'user-%04i' % rnd.randrange(USERS)
        ts += rnd.uniform(0.0, 2.0)
        if task not in runs:
            runs[task] = len(runs) + 1
        data = {'score': rnd.randrange(100),
                'answer': rnd.choice('abcd') * rnd.randrange(1, 20),
                'ok': rnd.random() < 0.5}
        tracks.append((task, runs[task], user, ts, data))
    return tracks


def generate_queries(tracks, count, seed=SEED + 1):
    """The arguments of the query workloads, the same for both stores."""
    rnd = random.Random(seed)
    first, last = tracks[0][3], tracks[-1][3]
    width = (last - first) * 0.1
    lookups = []
    users = []
    ranges = []
    tasks = []
    for _ in range(count):
        task, run, user, _, _ = rnd.choice(tracks)
        lookups.append((task, run, user))
        users.append(rnd.choice(tracks)[2])
        start = rnd.uniform(first, last - width)
        ranges.append((rnd.choice(tracks)[0], start, start + width))
        tasks.append(rnd.choice(tracks)[0])
    return {'lookups': lookups, 'users': users, 'ranges': ranges,
            'tasks': tasks}


# opening and closing the stores

def filestorage_path(uri):
    """The file of a file:// URI (as zodburi reads it), else None."""
    if not uri.startswith('file://'):
        return None
    return os.path.normpath(uri[len('file://'):].split('?', 1)[0])


def open_ours(uri, cache_size):
    db = openDatabase(uri, cache_size=cache_size)
    return db, db.open()


def create_ours(uri, cache_size):
    db, connection = open_ours(uri, cache_size)
    connection.root()[ROOT_NAME] = TrackingStorage()
    transaction.commit()
    return db, connection


def close_ours(db, connection):
    transaction.abort()
    connection.close()
    db.close()


def reopen_ours(uri, cache_size, db, connection):
    """The database closed and opened again: an empty object cache.

    A memory:// database lives only as long as its DB: there the
    connection's object cache is emptied instead."""
    if uri.startswith('memory://'):
        transaction.abort()
        connection.cacheMinimize()
        return db, connection
    close_ours(db, connection)
    return open_ours(uri, cache_size)


def open_sqlite(path):
    connection = sqlite3.connect(path)
    connection.execute('PRAGMA journal_mode=WAL')
    connection.execute('PRAGMA synchronous=NORMAL')
    connection.execute('PRAGMA busy_timeout=%i' % SQLITE_BUSY_TIMEOUT_MS)
    return connection


def create_sqlite(path):
    connection = open_sqlite(path)
    connection.execute('CREATE TABLE tracks (id INTEGER PRIMARY KEY, '
                       'task TEXT, run INTEGER, user TEXT, ts REAL, '
                       'data TEXT)')
    connection.execute('CREATE INDEX tracks_task_run_user_ts '
                       'ON tracks (task, run, user, ts)')
    connection.execute('CREATE INDEX tracks_user_ts ON tracks (user, ts)')
    connection.execute('CREATE INDEX tracks_task_ts ON tracks (task, ts)')
    connection.commit()
    return connection


def sqlite_record(row):
    """A usable record from a row, as a track gives it: the data decoded."""
    id, task, run, user, ts, data = row
    return {'id': id, 'taskId': task, 'runId': run, 'userName': user,
            'timeStamp': ts, 'data': json.loads(data)}


# single writer: ingest

def ingest_ours(storage, tracks):
    """Save the tracks; return the wall and CPU seconds taken and the ids
    of the tracks."""
    ids = []
    cpu = time.process_time()
    started = time.perf_counter()
    for i, (task, run, user, ts, data) in enumerate(tracks, 1):
        ids.append(int(storage.saveUserTrack(task, 0, user, data,
                                             timeStamp=ts)))
        if i % COMMIT_EVERY == 0:
            transaction.commit()
            if i % PROGRESS_EVERY == 0:
                log('ours: %i tracks saved' % i)
    transaction.commit()
    return time.perf_counter() - started, time.process_time() - cpu, ids


def ingest_sqlite(connection, tracks, ids):
    cpu = time.process_time()
    started = time.perf_counter()
    for i, (id, (task, run, user, ts, data)) in enumerate(zip(ids, tracks),
                                                          1):
        connection.execute(
            'INSERT INTO tracks (id, task, run, user, ts, data) '
            'VALUES (?, ?, ?, ?, ?, ?)',
            (id, task, run, user, ts, json.dumps(data)))
        if i % COMMIT_EVERY == 0:
            connection.commit()
    connection.commit()
    return time.perf_counter() - started, time.process_time() - cpu


def written_per_save(path, saves):
    """Objects and bytes the commits of an ingest wrote per save, from the
    transaction records of a FileStorage (the first transaction, which
    made the storage, left out)."""
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(path, read_only=True)
    objects = size = 0
    try:
        for number, txn in enumerate(storage.iterator()):
            if number < 2:      # the root, then the empty storage
                continue
            for record in txn:
                objects += 1
                size += len(record.data or b'')
    finally:
        storage.close()
    return objects / saves, size / saves


def check_runs(storage, tracks):
    """The run numbers given to SQLite must be those the storage chose."""
    runs = {task: run for task, run, _, _, _ in tracks}
    for task, run in runs.items():
        found = storage.getRun(taskId=task).id
        if found != run:
            raise AssertionError('task %s: run %s in the storage, %s in SQLite'
                                 % (task, found, run))


def pack_filestorage(db, path):
    """Pack; return the file size before, after and the seconds taken."""
    before = file_size(path)
    started = time.perf_counter()
    db.pack()
    seconds = time.perf_counter() - started
    return before, file_size(path), seconds


# single writer: the query workloads; each runs one operation per argument
# and returns the latency of each operation in seconds

def timed(operation, arguments):
    latencies = []
    for args in arguments:
        started = time.perf_counter()
        operation(*args)
        latencies.append(time.perf_counter() - started)
    return latencies


def last_track_ours(storage, lookups):
    return timed(storage.getLastUserTrack, lookups)


def last_track_sqlite(connection, lookups):
    def lookup(task, run, user):
        row = connection.execute(
            'SELECT id, task, run, user, ts, data FROM tracks '
            'WHERE task=? AND run=? AND user=? '
            'ORDER BY ts DESC, id DESC LIMIT 1', (task, run, user)).fetchone()
        return None if row is None else sqlite_record(row)
    return timed(lookup, lookups)


def user_tracks_ours(storage, users):
    def lookup(user):
        return list(storage.query(userName=user))
    return timed(lookup, [(user,) for user in users])


def user_tracks_sqlite(connection, users):
    def lookup(user):
        rows = connection.execute(
            'SELECT id, task, run, user, ts, data FROM tracks '
            'WHERE user=? ORDER BY ts, id', (user,))
        return [sqlite_record(row) for row in rows]
    return timed(lookup, [(user,) for user in users])


def time_range_ours(storage, ranges):
    def lookup(task, start, end):
        return list(storage.query(taskId=task, timeFrom=start, timeTo=end))
    return timed(lookup, ranges)


def time_range_sqlite(connection, ranges):
    def lookup(task, start, end):
        rows = connection.execute(
            'SELECT id, task, run, user, ts, data FROM tracks '
            'WHERE task=? AND ts BETWEEN ? AND ? ORDER BY ts, id',
            (task, start, end))
        return [sqlite_record(row) for row in rows]
    return timed(lookup, ranges)


def count_ours(storage, tasks):
    def count(task):
        return len(storage.query(taskId=task))
    return timed(count, [(task,) for task in tasks])


def count_sqlite(connection, tasks):
    def count(task):
        return connection.execute('SELECT count(*) FROM tracks WHERE task=?',
                                  (task,)).fetchone()[0]
    return timed(count, [(task,) for task in tasks])


QUERY_WORKLOADS = [
    # name, ours, sqlite, the key of its arguments in generate_queries()
    ('last track', last_track_ours, last_track_sqlite, 'lookups'),
    ('user tracks', user_tracks_ours, user_tracks_sqlite, 'users'),
    ('time range', time_range_ours, time_range_sqlite, 'ranges'),
    ('count', count_ours, count_sqlite, 'tasks'),
]


# single writer: checking that both stores answer alike

def as_record(track):
    return {'id': int(track.__name__), 'taskId': track.taskId,
            'runId': track.runId, 'userName': track.userName,
            'timeStamp': track.timeStamp, 'data': track.data}


def check_same_results(storage, connection, queries, sample=200):
    def sql(query, args):
        return [sqlite_record(row) for row in connection.execute(
            'SELECT id, task, run, user, ts, data FROM tracks ' + query, args)]

    for task, run, user in queries['lookups'][:sample]:
        ours = as_record(storage.getLastUserTrack(task, run, user))
        theirs = sql('WHERE task=? AND run=? AND user=? '
                     'ORDER BY ts DESC, id DESC LIMIT 1', (task, run, user))
        assert [ours] == theirs, (ours, theirs)
    for user in queries['users'][:sample]:
        ours = [as_record(t) for t in storage.query(userName=user)]
        assert ours == sql('WHERE user=? ORDER BY ts, id', (user,)), user
    for task, start, end in queries['ranges'][:sample]:
        ours = [as_record(t) for t in
                storage.query(taskId=task, timeFrom=start, timeTo=end)]
        assert ours == sql('WHERE task=? AND ts BETWEEN ? AND ? '
                           'ORDER BY ts, id', (task, start, end)), task
    for task in queries['tasks'][:sample]:
        theirs = connection.execute('SELECT count(*) FROM tracks '
                                    'WHERE task=?', (task,)).fetchone()[0]
        assert len(storage.query(taskId=task)) == theirs, task


# concurrent ingest

def run_writers(target, writers, saves, attempts):
    """Run writer processes on a target (see writer.py), started together.

    Returns their reports and the seconds from the start signal to the
    end of the last writer."""
    processes = [subprocess.Popen(
        [sys.executable, WRITER, target, str(number), str(saves),
         '--attempts', str(attempts)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for number in range(writers)]
    for process in processes:
        line = process.stdout.readline()
        if line.strip() != 'ready':
            raise RuntimeError('a writer did not start: %r' % line)
    started = time.perf_counter()
    for process in processes:
        process.stdin.write('go\n')
        process.stdin.flush()
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=WRITERS_TIMEOUT)
        if process.returncode != 0:
            raise RuntimeError('a writer failed (exit code %i): %s'
                               % (process.returncode, out[-2000:]))
        reports.append(json.loads(out.splitlines()[-1]))
    return reports, time.perf_counter() - started


def summarize_writers(reports, seconds):
    total = {'writers': len(reports), 'seconds': seconds}
    for name in ('saves', 'committed', 'failed', 'conflicts'):
        total[name] = sum(report[name] for report in reports)
    total['commits/s'] = total['committed'] / seconds
    return total


def check_ours_after_writers(uri, committed):
    """Every committed save is in the storage once; the indexes agree."""
    db = openDatabase(uri)
    try:
        connection = db.open()
        storage = connection.root()[ROOT_NAME]
        saved = {(track.data['writer'], track.data['i'])
                 for track in storage.values()}
        if not len(storage) == len(saved) == committed:
            raise AssertionError('%i saves committed, %i tracks stored, %i '
                                 'of them different' % (committed,
                                                        len(storage),
                                                        len(saved)))
        problems = storage.checkIndexes()
        if problems:
            raise AssertionError('indexes: %s' % problems[:10])
        connection.close()
    finally:
        db.close()


def check_sqlite_after_writers(path, committed):
    connection = open_sqlite(path)
    stored, different = connection.execute(
        "SELECT count(*), count(DISTINCT json_extract(data, '$.writer') "
        "|| '/' || json_extract(data, '$.i')) FROM tracks").fetchone()
    connection.close()
    if not stored == different == committed:
        raise AssertionError('%i inserts committed, %i rows stored, %i of '
                             'them different' % (committed, stored,
                                                 different))


def concurrent_ingest_zeo(writers, saves, attempts):
    """Writers saving into a fresh storage on a fresh ZEO server."""
    server = ZEOServer()
    server.start()
    try:
        db = openDatabase(server.uri)
        with db.transaction() as connection:
            connection.root()[ROOT_NAME] = TrackingStorage()
        db.close()
        reports, seconds = run_writers(server.uri, writers, saves, attempts)
        result = summarize_writers(reports, seconds)
        check_ours_after_writers(server.uri, result['committed'])
    finally:
        server.stop()
    return result


def concurrent_ingest_sqlite(directory, writers, saves, attempts):
    """Writers inserting into a fresh SQLite file."""
    path = os.path.join(directory, 'concurrent-%i.sqlite' % writers)
    create_sqlite(path).close()
    reports, seconds = run_writers('sqlite://' + path, writers, saves,
                                   attempts)
    result = summarize_writers(reports, seconds)
    check_sqlite_after_writers(path, result['committed'])
    return result


# profiling

def profile_area(filename, function):
    """The package a profiled function belongs to."""
    where = filename + ' ' + function
    for area, marks in [
            ('cybertools.tracking', ['cybertools/tracking']),
            ('ZODB', ['/ZODB/']),
            ('BTrees', ['BTrees']),
            ('pickle', ['pickle']),
            ('persistent', ['persistent']),
            ('transaction', ['/transaction/']),
            ('file I/O', ['_io.'])]:
        if any(mark in where for mark in marks):
            return area
    return 'other (builtins)'


def short_name(filename, line, function):
    for marker in ('site-packages/', 'src/'):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    if filename == '~':
        return function
    return '%s:%i(%s)' % (filename, line, function)


def profile_entries(stats, filename_end, function):
    """The (calls, cumulative seconds) of a function in a profile."""
    calls = seconds = 0
    for (filename, _, name), (_, nc, _, ct, _) in stats.stats.items():
        if filename.endswith(filename_end) and name == function:
            calls += nc
            seconds += ct
    return calls, seconds


def profile_ingest(uri, cache_size, tracks, top=15):
    """Our ingest under cProfile; print where the time goes."""
    db, connection = create_ours(uri, cache_size)
    profiler = cProfile.Profile()
    profiler.runcall(ingest_ours, connection.root()[ROOT_NAME], tracks)
    close_ours(db, connection)
    stats = pstats.Stats(profiler)

    total = stats.total_tt
    _, ours = profile_entries(stats, 'cybertools/tracking/btree.py',
                              'saveUserTrack')
    _, loads = profile_entries(stats, 'ZODB/Connection.py', 'setstate')
    _, commits = profile_entries(stats, 'transaction/_transaction.py',
                                 'commit')
    # every object a commit writes passes the storage's MVCC adapter
    stores, _ = profile_entries(stats, 'ZODB/mvccadapter.py', 'store')
    print()
    print('profile of our ingest, %i tracks: %.1f s under the profiler, '
          '%.1f objects written per save' % (len(tracks), total,
                                             stores / len(tracks)))
    print('  saveUserTrack (our code, incl. BTrees and loading objects): '
          '%5.1f s %3.0f%%' % (ours, 100 * ours / total))
    print('    of which loading objects (not in the object cache):     '
          '%5.1f s %3.0f%%' % (loads, 100 * loads / total))
    print('  transaction commit (ZODB: pickling and writing):           '
          '%5.1f s %3.0f%%' % (commits, 100 * commits / total))
    areas = {}
    for (filename, _, function), (_, _, tt, _, _) in stats.stats.items():
        area = profile_area(filename, function)
        areas[area] = areas.get(area, 0.0) + tt
    print('  own time by package: ' + ', '.join(
        '%s %.1f s' % (area, seconds) for area, seconds
        in sorted(areas.items(), key=lambda item: -item[1])))
    print()
    print('  %8s %8s %9s  %s' % ('own s', 'cum s', 'calls', 'function'))
    entries = sorted(stats.stats.items(), key=lambda item: -item[1][2])
    for (filename, line, function), (_, calls, tt, ct, _) in entries[:top]:
        print('  %8.2f %8.2f %9i  %s' % (tt, ct, calls,
                                          short_name(filename, line,
                                                     function)))


# reporting

def percentile(latencies, fraction):
    """The latency below which this fraction of the operations stayed."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def query_row(name, ours, theirs):
    def stats(latencies):
        return (len(latencies) / sum(latencies),
                statistics.median(latencies) * 1e6,
                percentile(latencies, 0.99) * 1e6)
    ours_rate, ours_p50, ours_p99 = stats(ours)
    sql_rate, sql_p50, sql_p99 = stats(theirs)
    return (name, ours_rate, sql_rate, ours_rate / sql_rate,
            '%.0f / %.0f' % (ours_p50, ours_p99),
            '%.0f / %.0f' % (sql_p50, sql_p99))


def print_table(rows):
    header = ('workload', 'ours ops/s', 'sqlite ops/s', 'ours/sqlite',
              'ours p50/p99 us', 'sqlite p50/p99 us')
    line = '%-12s %12s %12s %11s %17s %17s'
    print(line % header)
    print(line % tuple('-' * len(h) for h in header))
    for name, ours, theirs, ratio, ours_latency, sql_latency in rows:
        print(line % (name, '%.0f' % ours, '%.0f' % theirs, '%.2f' % ratio,
                      ours_latency, sql_latency))


def print_concurrent_table(rows):
    header = ('store', 'writers', 'saves', 'commits/s', 'conflicts/100',
              'failed', 'vs 1 writer', 'seconds')
    line = '%-22s %7s %6s %9s %13s %6s %11s %7s'
    print(line % header)
    print(line % tuple('-' * len(h) for h in header))
    for name, result, baseline in rows:
        print(line % (name, result['writers'], result['saves'],
                      '%.0f' % result['commits/s'],
                      '%.1f' % (100.0 * result['conflicts'] / result['saves']),
                      result['failed'],
                      '%.2f' % (result['commits/s'] / baseline['commits/s']),
                      '%.1f' % result['seconds']))


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_facts():
    cpu = 'unknown CPU'
    with open('/proc/cpuinfo') as cpuinfo:
        for line in cpuinfo:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return ('nproc %i, %s, Python %s, %s, load average %.1f'
            % (len(os.sched_getaffinity(0)), cpu, platform.python_version(),
               time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               os.getloadavg()[0]))


# the benchmark

def query_workloads(storage, sconn, queries, prefix, warmUp):
    """The rows of the query workloads for both stores."""
    rows = []
    for name, ours, theirs, arguments in QUERY_WORKLOADS:
        if warmUp:
            ours(storage, queries[arguments])
            theirs(sconn, queries[arguments])
        with FullCollections() as ours_gc:
            ours_latencies = ours(storage, queries[arguments])
        transaction.abort()
        with FullCollections() as sql_gc:
            sql_latencies = theirs(sconn, queries[arguments])
        rows.append(query_row('%s %s' % (prefix, name), ours_latencies,
                              sql_latencies))
        log('%s %s done%s' % (prefix, name,
                              collections_note(ours_gc, sql_gc)))
    return rows


def single_writer_benchmark(options, directory, tracks, queries):
    """Ingest and queries, ours against SQLite; print the table."""
    uri = options.uri or 'file://' + os.path.join(directory, 'Data.fs')
    fs_path = filestorage_path(uri)
    sqlite_path = os.path.join(directory, 'tracks.sqlite')
    print('single writer: %i tracks, %i tasks, %i users, %i operations per '
          'query workload, %s, ZODB cache size %i warm, %i cold'
          % (len(tracks), TASKS, USERS, options.lookups, uri,
             options.warm_cache_size, options.cache_size), flush=True)
    rss_workload = peak_rss_mb()

    # ingest, by a long-running process with a big object cache
    db, zconn = create_ours(uri, options.warm_cache_size)
    storage = zconn.root()[ROOT_NAME]
    with FullCollections() as ours_gc:
        ours_wall, ours_cpu, ids = ingest_ours(storage, tracks)
    check_runs(storage, tracks)
    rss_ours = peak_rss_mb()
    log('ours: ingest done, %.1f s (CPU %.1f s); full collections: %s'
        % (ours_wall, ours_cpu, ours_gc))
    sconn = create_sqlite(sqlite_path)
    with FullCollections() as sql_gc:
        sql_wall, sql_cpu = ingest_sqlite(sconn, tracks, ids)
    log('sqlite: ingest done, %.1f s (CPU %.1f s); full collections: %s'
        % (sql_wall, sql_cpu, sql_gc))
    count = len(tracks)
    rows = [('ingest (wall)', count / ours_wall, count / sql_wall,
             sql_wall / ours_wall, '', ''),
            ('ingest (CPU)', count / ours_cpu, count / sql_cpu,
             sql_cpu / ours_cpu, '', '')]
    written = None
    if fs_path is not None:
        written = written_per_save(fs_path, count)

    # warm: the ingest's connections
    rows.extend(query_workloads(storage, sconn, queries, 'warm', True))
    check_same_results(storage, sconn, queries)
    sconn.close()

    # file sizes, before the FileStorage is packed and after
    sizes = None
    if fs_path is not None:
        sizes = pack_filestorage(db, fs_path)
        log('ours: pack done, %.1f s' % sizes[2])
    sqlite_size = file_size(sqlite_path) + file_size(sqlite_path + '-wal')

    # cold: freshly opened databases
    db, zconn = reopen_ours(uri, options.cache_size, db, zconn)
    storage = zconn.root()[ROOT_NAME]
    sconn = open_sqlite(sqlite_path)
    # The closed database's connection, its objects and the tracks its
    # session kept refer to each other: garbage that only a collection of
    # the oldest generation frees (100-135 ms at 100,000 tracks). A process
    # starting cold has none of it, so it is collected here rather than in
    # whichever cold workload of ours would trigger that collection first.
    gc.collect()
    rows.extend(query_workloads(storage, sconn, queries, 'cold', False))
    check_same_results(storage, sconn, queries)
    close_ours(db, zconn)
    sconn.close()

    print()
    print_table(rows)
    print()
    if written is not None:
        print('written per save: %.2f objects, %.0f bytes (our commits, '
              'before pack)' % written)
    if sizes is not None:
        before, after, pack_time = sizes
        print('FileStorage: %.0f bytes/track before pack, %.0f after pack '
              '(pack took %.1f s)' % (before / count, after / count,
                                      pack_time))
    print('SQLite:      %.0f bytes/track' % (sqlite_size / count))
    print('peak RSS:    %.0f MB with the workload generated, %.0f MB after '
          'our ingest, %.0f MB at the end (both stores, one process)'
          % (rss_workload, rss_ours, peak_rss_mb()))
    print(flush=True)


def save_with_retries(connection, manager, name, saves, attempts):
    """Save (task, user, data) each in a transaction of its own, with the
    standard retry loop; a save whose last attempt conflicts too is given
    up. Returns (committed, failed, conflicts), conflicts counting the
    attempts that failed."""
    committed = failed = conflicts = 0
    for task, user, data in saves:
        try:
            for tries, attempt in enumerate(manager.attempts(attempts)):
                with attempt:
                    connection.root()[name].saveUserTrack(task, 0, user, data)
        except ConflictError:
            manager.abort()
            failed += 1
            conflicts += attempts
        else:
            committed += 1
            conflicts += tries
    return committed, failed, conflicts


def thread_ingest(directory, threads, saves, attempts):
    """Threads of this process saving into a fresh storage on a fresh
    FileStorage, one transaction per save, as a WSGI server's do."""
    path = os.path.join(directory, 'threads-%i.fs' % threads)
    # (a connection per thread, as a WSGI server's pool has them)
    db = openDatabase('file://' + path, pool_size=threads)
    with db.transaction() as connection:
        connection.root()[ROOT_NAME] = TrackingStorage()
    reports = [None] * threads
    barrier = threading.Barrier(threads + 1)

    def write(number):
        rnd = random.Random(SEED + number)
        manager = transaction.TransactionManager()
        connection = db.open(transaction_manager=manager)
        connection.root()[ROOT_NAME]
        manager.abort()
        work = [('task-%04i' % rnd.randrange(TASKS),
                 'user-%04i' % rnd.randrange(USERS), {'writer': number, 'i': i})
                for i in range(saves)]
        barrier.wait()
        committed, failed, conflicts = save_with_retries(
            connection, manager, ROOT_NAME, work, attempts)
        connection.close()
        reports[number] = {'saves': saves, 'committed': committed,
                           'failed': failed, 'conflicts': conflicts}

    workers = [threading.Thread(target=write, args=(n,))
               for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join(WRITERS_TIMEOUT)
    seconds = time.perf_counter() - started
    db.close()
    result = summarize_writers(reports, seconds)
    check_ours_after_writers('file://' + path, result['committed'])
    return result


def concurrent_benchmark(options, directory):
    """Concurrent ingest on ZEO, of threads and on SQLite; print the
    table."""
    writers, saves, attempts = (options.writers, options.concurrent_saves,
                                options.attempts)
    print('concurrent ingest: %i writers x %i saves and %i threads x %i '
          'saves, one transaction per save, %i attempts'
          % (writers, saves, options.threads, saves // 2, attempts),
          flush=True)
    rows = []
    baseline = None
    for count in (1, writers):
        result = concurrent_ingest_zeo(count, saves, attempts)
        baseline = baseline or result
        rows.append(('ZEO, processes', result, baseline))
        log('ZEO, %i writer(s): %.0f commits/s' % (count,
                                                   result['commits/s']))
    baseline = None
    for count in (1, options.threads):
        result = thread_ingest(directory, count, saves // 2, attempts)
        baseline = baseline or result
        rows.append(('FileStorage, threads', result, baseline))
        log('threads, %i writer(s): %.0f commits/s' % (count,
                                                       result['commits/s']))
    baseline = None
    for count in (1, writers):
        result = concurrent_ingest_sqlite(directory, count, saves, attempts)
        baseline = baseline or result
        rows.append(('SQLite, processes', result, baseline))
        log('SQLite, %i writer(s): %.0f commits/s' % (count,
                                                      result['commits/s']))
    print()
    print_concurrent_table(rows)
    print(flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracks', type=int, default=10000,
                        help='number of tracks to ingest (default 10000)')
    parser.add_argument('--lookups', type=int, default=2000,
                        help='operations per query workload (default 2000)')
    parser.add_argument('--cache-size', type=int, default=5000,
                        help='ZODB objects cached per connection '
                             '(default 5000)')
    parser.add_argument('--uri',
                        help='zodburi URI of the database for the single '
                             'writer workloads (default: a FileStorage in '
                             'the temporary directory)')
    parser.add_argument('--warm-cache-size', type=int, default=50000,
                        help='ZODB objects cached by the connection of '
                             'the ingest and the warm queries '
                             '(default 50000)')
    parser.add_argument('--threads', type=int, default=8,
                        help='writer threads of the concurrent ingest in '
                             'one process (default 8)')
    parser.add_argument('--writers', type=int, default=4,
                        help='writer processes of the concurrent ingest '
                             '(default 4)')
    parser.add_argument('--concurrent-saves', type=int, default=2000,
                        help='saves per writer in the concurrent ingest '
                             '(default 2000)')
    parser.add_argument('--attempts', type=int, default=5,
                        help='attempts per save in the concurrent ingest '
                             '(default 5)')
    parser.add_argument('--only', choices=['single', 'concurrent'],
                        help='run only the single writer or only the '
                             'concurrent part')
    parser.add_argument('--profile', action='store_true',
                        help='only profile our ingest (see above)')
    options = parser.parse_args()

    print(machine_facts(), flush=True)
    directory = tempfile.mkdtemp(prefix='tracking-bench-')
    try:
        if options.profile:
            tracks = generate_tracks(options.tracks,
                                     start=float(int(time.time())))
            uri = options.uri or 'file://' + os.path.join(directory,
                                                          'Data.fs')
            profile_ingest(uri, options.warm_cache_size, tracks)
            return
        if options.only != 'concurrent':
            # The time stamps start now, as in live tracking (runs start
            # at the current time).
            tracks = generate_tracks(options.tracks,
                                     start=float(int(time.time())))
            queries = generate_queries(tracks, options.lookups)
            single_writer_benchmark(options, directory, tracks, queries)
            del tracks, queries
        if options.only != 'single':
            concurrent_benchmark(options, directory)
    finally:
        shutil.rmtree(directory)
    log('benchmark done')


if __name__ == '__main__':
    main()
