"""A writer process for the "concurrent ingest" workload of core.py.

Usage::

    python benchmarks/writer.py TARGET NUMBER COUNT [--attempts A] [--name N]

TARGET is a zodburi URI (``zeo://127.0.0.1:8100``, ...) of a database whose
root holds a tracking storage under the name N (default
``tracking-benchmark``), or ``sqlite:///path/to/file`` for an SQLite
database with the ``tracks`` table core.py creates.

The writer opens the database, prints ``ready`` and waits for a line on
stdin, so that core.py can start all writers at the same moment. Then it
saves COUNT tracks as writer NUMBER, each in a transaction of its own:

- ZODB: ``saveUserTrack`` inside the standard retry loop
  (``transaction_manager.attempts(A)``, default 5 attempts). A save whose
  last attempt conflicts too is given up: counted as failed, not retried.
- SQLite: one INSERT and a commit, on a connection in WAL mode with
  synchronous=NORMAL and a busy timeout; an insert that fails with
  "database is locked" (or "busy") is rolled back and tried again, up to A
  attempts in all.

The tracks are made like core.py's (random tasks, users and data, seeded
with the writer's number), stamped with the time of saving, and their data
say which writer saved them (``writer``, ``i``), so that core.py can check
that nothing was lost or saved twice.

At the end the writer prints one line of JSON: ``writer``, ``saves``
(tracks it tried to save), ``committed``, ``failed``, ``conflicts``
(attempts that failed: retried, or the last one of a failed save) and
``seconds`` (from the start signal to the last commit).
"""

import argparse
import json
import random
import sqlite3
import sys
import time

import transaction

from cybertools.tracking.database import openDatabase

# core.py is in this directory: the names of its workload, its SQLite setup
from core import ROOT_NAME
from core import SEED
from core import TASKS
from core import USERS
from core import open_sqlite
from core import save_with_retries


def generate_saves(number, count):
    """(task, user, data) for each save of this writer."""
    rnd = random.Random(SEED + 1000 * (number + 1))
    saves = []
    for i in range(count):
        task = 'task-%04i' % rnd.randrange(TASKS)
        user = 'user-%04i' % rnd.randrange(USERS)
        data = {'writer': number, 'i': i, 'score': rnd.randrange(100),
                'answer': rnd.choice('abcd') * rnd.randrange(1, 20)}
        saves.append((task, user, data))
    return saves


def wait_for_start():
    print('ready', flush=True)
    sys.stdin.readline()


# ZODB

def write_zodb(uri, name, saves, attempts):
    db = openDatabase(uri)
    manager = transaction.TransactionManager()
    connection = db.open(transaction_manager=manager)
    connection.root()[name]     # load the root before the clock starts
    manager.abort()
    wait_for_start()
    started = time.perf_counter()
    committed, failed, conflicts = save_with_retries(
        connection, manager, name, saves, attempts)
    seconds = time.perf_counter() - started
    connection.close()
    db.close()
    return committed, failed, conflicts, seconds


# SQLite

def is_locked(error):
    message = str(error)
    return 'locked' in message or 'busy' in message


def write_sqlite(path, saves, attempts):
    connection = open_sqlite(path)
    committed = failed = conflicts = 0
    wait_for_start()
    started = time.perf_counter()
    for task, user, data in saves:
        for tries in range(attempts):
            try:
                connection.execute(
                    'INSERT INTO tracks (task, run, user, ts, data) '
                    'VALUES (?, ?, ?, ?, ?)',
                    (task, 1, user, time.time(), json.dumps(data)))
                connection.commit()
            except sqlite3.OperationalError as error:
                if not is_locked(error):
                    raise
                connection.rollback()
                conflicts += 1
            else:
                committed += 1
                break
        else:
            failed += 1
    seconds = time.perf_counter() - started
    connection.close()
    return committed, failed, conflicts, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('target', help='zodburi URI or sqlite:///path')
    parser.add_argument('number', type=int, help='the number of the writer')
    parser.add_argument('count', type=int, help='tracks to save')
    parser.add_argument('--attempts', type=int, default=5,
                        help='attempts per save (default 5)')
    parser.add_argument('--name', default=ROOT_NAME,
                        help='root name of the tracking storage')
    options = parser.parse_args()
    saves = generate_saves(options.number, options.count)
    if options.target.startswith('sqlite://'):
        path = options.target[len('sqlite://'):]
        result = write_sqlite(path, saves, options.attempts)
    else:
        result = write_zodb(options.target, options.name, saves,
                            options.attempts)
    committed, failed, conflicts, seconds = result
    print(json.dumps({'writer': options.number, 'saves': len(saves),
                      'committed': committed, 'failed': failed,
                      'conflicts': conflicts, 'seconds': seconds}),
          flush=True)


if __name__ == '__main__':
    main()
