"""Benchmark of the core tracking storage against SQLite.

Our ``TrackingStorage`` on a ZODB FileStorage is compared with a plain
SQLite table holding the same tracks, in one process and one run, on the
same generated workload (seeded random, so runs are repeatable):

ingest
    N tracks for 1,000 tasks and 5,000 users, each with a 3-item data dict
    and an explicit time stamp (starting at the current time and increasing
    by a random 0..2 s per track); a commit every 1,000 saves.
    Ours: ``saveUserTrack(taskId, 0, userName, data, timeStamp=ts)`` (run 0
    is the task's current run, started by the first save of the task).
    SQLite: one INSERT per track with the same run number, time stamp and
    data (as JSON). Reported as tracks/s.

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

Before the query workloads both databases are closed and reopened (a new
ZODB DB and connection with an empty object cache, a new SQLite
connection); there is no warm-up, so the first query workload of each
store pays for its cold start (the OS file cache is warm for both). Each
query workload runs in one ZODB read transaction, so the connection cache
may grow past ``--cache-size`` within it; it is aborted after each workload.
The query workloads report ops/s and the p50/p99 latency of single
operations in microseconds. No event subscribers are registered, so the
storage's ``notify`` calls cost next to nothing here.

After the timed part the script checks that both stores give the same
answers for a sample of the queries, so the comparison is a fair one.

It also reports the file size per track: the FileStorage before and after
``db.pack()`` (a FileStorage keeps every old revision of an object until it
is packed) and the SQLite database file; and the peak RSS of the process
(both stores together) at the end.

Usage::

    python benchmarks/core.py --tracks N [--lookups M] [--cache-size C]
"""

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time

import transaction
import ZODB
import ZODB.FileStorage

from cybertools.tracking.btree import TrackingStorage

TASKS = 1000
USERS = 5000
COMMIT_EVERY = 1000
SEED = 4711


# the workload

def generate_tracks(count, start, seed=SEED):
    """The tracks to save: a list of (task, run, user, ts, data).

    The time stamps start at ``start`` and increase by 0..2 s per track.
    The run is the number the storage will give the task's first run: run
    ids are counted up over the whole storage, in the order in which the
    tasks get their first track.
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

def open_zodb(path, cache_size):
    db = ZODB.DB(ZODB.FileStorage.FileStorage(path), cache_size=cache_size)
    connection = db.open()
    return db, connection


def create_zodb(path, cache_size):
    db, connection = open_zodb(path, cache_size)
    connection.root()['tracking'] = TrackingStorage()
    transaction.commit()
    return db, connection


def close_zodb(db, connection):
    transaction.abort()
    connection.close()
    db.close()


def open_sqlite(path):
    connection = sqlite3.connect(path)
    connection.execute('PRAGMA journal_mode=WAL')
    connection.execute('PRAGMA synchronous=NORMAL')
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


# ingest

def ingest_ours(storage, tracks):
    started = time.perf_counter()
    for i, (task, run, user, ts, data) in enumerate(tracks, 1):
        storage.saveUserTrack(task, 0, user, data, timeStamp=ts)
        if i % COMMIT_EVERY == 0:
            transaction.commit()
    transaction.commit()
    return time.perf_counter() - started


def ingest_sqlite(connection, tracks):
    started = time.perf_counter()
    for i, (task, run, user, ts, data) in enumerate(tracks, 1):
        connection.execute(
            'INSERT INTO tracks (id, task, run, user, ts, data) '
            'VALUES (?, ?, ?, ?, ?, ?)',
            (i, task, run, user, ts, json.dumps(data)))
        if i % COMMIT_EVERY == 0:
            connection.commit()
    connection.commit()
    return time.perf_counter() - started


def check_runs(storage, tracks):
    """The run numbers given to SQLite must be those the storage chose."""
    runs = {task: run for task, run, _, _, _ in tracks}
    for task, run in runs.items():
        found = storage.getRun(taskId=task).id
        if found != run:
            raise AssertionError('task %s: run %s in the storage, %s in SQLite'
                                 % (task, found, run))


# the query workloads: each runs one operation per argument and returns
# the latency of each operation in seconds

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


# checking that both stores answer alike

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


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# the benchmark

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tracks', type=int, default=10000,
                        help='number of tracks to ingest (default 10000)')
    parser.add_argument('--lookups', type=int, default=2000,
                        help='operations per query workload (default 2000)')
    parser.add_argument('--cache-size', type=int, default=5000,
                        help='ZODB objects cached per connection '
                             '(default 5000)')
    options = parser.parse_args()

    # The time stamps start now, as in live tracking: a run starts at the
    # current time and each save extends its end, so the storage writes the
    # run at every commit. Time stamps before the runs' start (a fixed epoch
    # in the past) would leave the runs untouched and flatter the ingest.
    tracks = generate_tracks(options.tracks, start=float(int(time.time())))
    queries = generate_queries(tracks, options.lookups)
    directory = tempfile.mkdtemp(prefix='tracking-bench-')
    fs_path = os.path.join(directory, 'Data.fs')
    sqlite_path = os.path.join(directory, 'tracks.sqlite')
    print('%i tracks, %i tasks, %i users, %i operations per query workload, '
          'ZODB cache size %i' % (len(tracks), TASKS, USERS, options.lookups,
                                  options.cache_size))
    try:
        # ingest
        db, zconn = create_zodb(fs_path, options.cache_size)
        ours_ingest = ingest_ours(zconn.root()['tracking'], tracks)
        check_runs(zconn.root()['tracking'], tracks)
        close_zodb(db, zconn)
        sconn = create_sqlite(sqlite_path)
        sql_ingest = ingest_sqlite(sconn, tracks)
        sconn.close()
        rows = [('ingest', len(tracks) / ours_ingest,
                 len(tracks) / sql_ingest, sql_ingest / ours_ingest, '', '')]

        # file sizes; pack the FileStorage before the queries
        fs_before_pack = file_size(fs_path)
        db, zconn = open_zodb(fs_path, options.cache_size)
        started = time.perf_counter()
        db.pack()
        pack_time = time.perf_counter() - started
        close_zodb(db, zconn)
        fs_after_pack = file_size(fs_path)
        sqlite_size = file_size(sqlite_path) + file_size(sqlite_path + '-wal')

        # the queries, on freshly opened databases
        db, zconn = open_zodb(fs_path, options.cache_size)
        storage = zconn.root()['tracking']
        sconn = open_sqlite(sqlite_path)
        workloads = [
            ('last track', last_track_ours, last_track_sqlite, 'lookups'),
            ('user tracks', user_tracks_ours, user_tracks_sqlite, 'users'),
            ('time range', time_range_ours, time_range_sqlite, 'ranges'),
            ('count', count_ours, count_sqlite, 'tasks'),
        ]
        for name, ours, theirs, arguments in workloads:
            ours_latencies = ours(storage, queries[arguments])
            transaction.abort()
            sql_latencies = theirs(sconn, queries[arguments])
            rows.append(query_row(name, ours_latencies, sql_latencies))
        check_same_results(storage, sconn, queries)
        close_zodb(db, zconn)
        sconn.close()
    finally:
        shutil.rmtree(directory)

    print()
    print_table(rows)
    print()
    count = len(tracks)
    print('FileStorage: %.0f bytes/track before pack, %.0f after pack '
          '(pack took %.2f s)' % (fs_before_pack / count,
                                  fs_after_pack / count, pack_time))
    print('SQLite:      %.0f bytes/track' % (sqlite_size / count))
    print('peak RSS:    %.0f MB (both stores, one process)' % peak_rss_mb())


if __name__ == '__main__':
    main()
