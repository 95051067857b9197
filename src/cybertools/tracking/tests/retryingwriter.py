"""A writer process for the ZEO restart test, in the documented writer
pattern (``cybertools.tracking.database.Transactions``).

``python -m cybertools.tracking.tests.retryingwriter URI NUMBER COUNT
[RUNS]`` saves COUNT tracks into the storage ``tracks``, one per
transaction, as writer NUMBER; each save starts RUNS runs (default 1)
and saves into the last. It prints ``acked I`` when save I is committed,
and at the end one line of JSON: saves, retries, failures (by error
class). A save first looks whether it was committed already (a commit
cut off by the server going away may have been), so that none is saved
twice.
"""

import json
import sys

from cybertools.tracking.btree import Exact
from cybertools.tracking.database import Transactions


def saver(number, i, runs):
    userName = 'writer%i' % number
    data = {'writer': number, 'i': i}

    def save(root):
        storage = root['tracks']
        done = [track for track in storage.query(
            userName=Exact(userName), taskId='task%i' % (i % 4))
            if track.data == data]
        if not done:
            # runs of its own (as the demo's users have): new objects,
            # each with an object id from the ZEO server
            taskId = 'task%i' % (i % 4)
            for k in range(runs - 1):
                storage.startRun(taskId)
            storage.saveUserTrack(taskId, storage.startRun(taskId), userName,
                                  data)
    return save


def main(uri, number, count, runs=1):
    transactions = Transactions(uri, attempts=100, pause=0.05)
    try:
        for i in range(count):
            transactions.run(saver(number, i, runs))
            print('acked %i' % i, flush=True)
    finally:
        transactions.close()
    print(json.dumps({'writer': number, 'saves': count,
                      'retries': transactions.retries,
                      'failures': transactions.failures}), flush=True)


if __name__ == '__main__':
    main(sys.argv[1], *map(int, sys.argv[2:]))
