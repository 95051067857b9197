"""The trees of the stored records (track id -> record), written packed
in big buckets.

A query loads the bucket of every track it returns that is not in the
object cache, and at 1,000,000 tracks the records' buckets of 30 records
each were 33,000 objects: more than a 50,000-object cache holds with the
index beside them, so that even a long-running process loaded most of
the tracks of a query anew. ZODB reads a bucket's pickle through a file
object, opcode by opcode, about eight times as slowly as ``pickle.loads``
reads the same bytes: a bucket of 30 records took 20 us to unpickle, a
packed bucket of 120 takes about 30 to read.

``RecordTree`` is an LO BTree like any other in memory; its buckets hold
up to 120 records (those left behind hold 60: ids come in order, and a
bucket splits in the middle; 30 in a plain LO tree), and a bucket's
state is one bytes object: the count (negative), the ids, and the records
joined by newlines, which JSON records never hold (compact JSON escapes
them), so that one ``split`` in C gives them back. Records that hold a
newline (pickles of the first layout, until ``upgrade``) are packed with
the count (positive), the ids, where each record ends, and the records;
both are read. A bucket of 60 records took 21 us to unpack by the ends,
9 us split. The price is paid by a save
committed on its own: it rewrites the bucket of its track, 60 to 120 records (a commit of one save
wrote 9.9 kB, 4.7 kB with plain trees). With buckets of up to 240 it
wrote 19.7 kB, for no gain in a 50,000-object cache, which holds the
records of a million tracks in buckets of 60 beside the index.

Its inner nodes hold up to 64 children (with LO's default, nodes of
these buckets grew to hundreds: 999 children at 60,000 records): a commit
of many saves splits buckets and rewrites the node above them, which ZODB
pickles child by child (a quarter of a commit of 1,000 saves went on such
a node), and a fresh connection makes a ghost for each child of a node
it loads. Trees grown before keep their big nodes where nothing is added
any more; a node that grows is split down to the new size.

Both kinds of state are read, so that conflict resolution (which BTrees
does on the plain state) keeps working: two writers changing different
records of one bucket are resolved as in a plain LO tree. Storages made
before keep their plain trees.
"""

import itertools

import BTrees

from cybertools.tracking.keys import NUMBER
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.keysets import PackedBucket
from cybertools.tracking.keysets import PackedTree
from cybertools.tracking.watched import Watched
from cybertools.tracking.watched import WatchedTree

LO = BTrees.family64.IO


def _packedRecords(bucketState):
    """A bucket's state, ``(items,)`` or ``(items, next bucket)``, with
    the ids and records packed into one bytes object (see the module's
    docstring). A bucket holding anything but bytes (none does) keeps its
    plain state."""
    if bucketState is None:
        return None
    items = bucketState[0]
    records = items[1::2]
    if not all(type(record) is bytes for record in records):
        return bucketState
    count = len(records)
    joined = b'\n'.join(records)
    if count and joined.count(b'\n') == count - 1:
        numbers = packKeys(itertools.chain((-count,), items[0::2]))
        return (numbers + joined,) + bucketState[1:]
    ends = itertools.accumulate(map(len, records), initial=8 + 16 * count)
    next(ends)
    numbers = packKeys(itertools.chain((count,), items[0::2], ends))
    return (b''.join((numbers,) + records),) + bucketState[1:]


def _plainRecords(bucketState):
    """A bucket's state as BTrees gives and takes it."""
    if bucketState is None or type(bucketState[0]) is not bytes:
        return bucketState
    packed = bucketState[0]
    count = NUMBER.unpack_from(packed)[0]
    if count < 0:
        # the records joined by newlines
        count = -count
        start = 8 + 8 * count
        items = [None] * (2 * count)
        items[0::2] = unpackKeys(packed[8:start])
        items[1::2] = packed[start:].split(b'\n')
        return (tuple(items),) + bucketState[1:]
    start = 8 + 16 * count
    numbers = unpackKeys(packed[8:start])
    ends = numbers[count:]
    items = [None] * (2 * count)
    items[0::2] = numbers[:count]
    items[1::2] = [packed[begin:end] for begin, end in
                   zip([start] + ends[:-1], ends)]
    return (tuple(items),) + bucketState[1:]


class RecordBucket(Watched, PackedBucket, LO.Bucket):
    """A bucket of a RecordTree."""

    _pack = staticmethod(_packedRecords)
    _plain = staticmethod(_plainRecords)


class RecordTree(WatchedTree, PackedTree, LO.BTree):
    """Track id -> record, of the tracks of one lane."""

    _bucket_type = RecordBucket
    max_leaf_size = 120
    max_internal_size = 64
