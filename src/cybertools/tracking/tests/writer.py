"""A writer process for the concurrency and crash tests.

``python -m cybertools.tracking.tests.writer URI NUMBER COUNT [BATCH]``
saves COUNT tracks into the storage ``tracks`` of the database at URI, as
writer NUMBER, with the standard retry loop; it commits every BATCH saves
(default 1) and prints a line ``committed N`` after each commit, and at the
end one line of JSON: saves, retries, seconds, and the times (seconds since
the epoch) of its first and last commit.

With ``--wait`` it opens the database, prints ``ready`` and waits for a
line on its standard input before it saves anything: a test starts its
writers that way to have them all write at the same time.
"""

import json
import sys
import time

import transaction

from cybertools.tracking.database import openDatabase

TASKS = 10          # tasks shared by all writers: their runs too
ATTEMPTS = 5         # transaction's attempts(): a save failing 5 times fails


def main(uri, number, count, batch=1, wait=False):
    db = openDatabase(uri)
    manager = transaction.TransactionManager()
    conn = db.open(transaction_manager=manager)
    if wait:
        print('ready', flush=True)
        sys.stdin.readline()
    retries = 0
    commitTimes = []
    started = time.perf_counter()
    for first in range(0, count, batch):
        for tries, attempt in enumerate(manager.attempts(ATTEMPTS)):
            with attempt:
                storage = conn.root()['tracks']
                for i in range(first, min(first + batch, count)):
                    storage.saveUserTrack(
                        'task%i' % (i % TASKS), 0,
                        'writer%i-user%i' % (number, i % 50),
                        {'writer': number, 'i': i})
        retries += tries
        commitTimes.append(time.time())
        print('committed %i' % min(first + batch, count), flush=True)
    seconds = time.perf_counter() - started
    conn.close()
    db.close()
    print(json.dumps({'writer': number, 'saves': count, 'retries': retries,
                      'seconds': seconds,
                      'firstCommit': min(commitTimes, default=None),
                      'lastCommit': max(commitTimes, default=None)}),
          flush=True)


if __name__ == '__main__':
    args = sys.argv[1:]
    wait = '--wait' in args
    if wait:
        args.remove('--wait')
    main(args[0], int(args[1]), int(args[2]), *map(int, args[3:]),
         wait=wait)
