"""The index's BTrees of 64-bit numbers, written as packed bytes.

A value with more tracks than ``index.SMALL`` (a task, a run) has its
order keys in a tree set of its own, and every merge rewrites the last
bucket of the set of each value it adds keys to, and the last buckets of
the timeline (order key -> track id). ZODB pickles a bucket of the LL
family number by number and calls its ``persistent_id`` hook, a Python
function, for each: at 100,000 tracks that was some 200,000 calls per
merge, most of what the merge's commit cost.

``KeySet`` and ``Timeline`` are an LL tree set and an LL BTree like any
other in memory (the C set operations take them); only their state is
packed: the numbers of each bucket, and of a tree small enough to keep its
one bucket in its own state, are one bytes object (``keys.packKeys``).
Their buckets are big (up to 500 keys in a set, 1,000 entries in the
timeline; 120 in a plain LL tree): a fresh connection loads every inner
node on the way to a bucket, and ZODB makes a ghost for each of the node's
children through a Python hook, some 7 us each. At 1,000,000 tracks the
timeline had 16,600 buckets under 66 inner nodes; a cold lookup spent
more time on those ghosts than on the buckets it wanted.

Both kinds of state are read, so that conflict resolution (which BTrees
does on the plain state) and trees written before keep working. Storages
whose indexes hold plain LL trees keep them until their indexes are built
anew (``upgrade``, ``reindexTracks``).
"""

import BTrees

from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.watched import Watched
from cybertools.tracking.watched import WatchedTree

LL = BTrees.family64.II


def _packed(bucketState):
    """A bucket's state, ``(numbers,)`` or ``(numbers, next bucket)``, with
    the numbers packed."""
    return (packKeys(bucketState[0]),) + bucketState[1:]


def _plain(bucketState):
    """A bucket's state as BTrees gives and takes it."""
    if bucketState is None or type(bucketState[0]) is not bytes:
        return bucketState
    return (tuple(unpackKeys(bucketState[0])),) + bucketState[1:]


def _holdsItsBucket(state):
    """Whether a tree's state is that of a tree of one bucket, kept in the
    tree's own state: ``((bucket state,),)``; else it is None (empty) or
    (children and the keys between them, first bucket)."""
    return state is not None and len(state) == 1


class PackedBucket:
    """A bucket (or set) of a tree, pickled packed: the numbers of an LL
    bucket, or what a subclass's own ``_pack`` and ``_plain`` make of its
    state (packed, and any state as BTrees takes it)."""

    _pack = staticmethod(_packed)
    _plain = staticmethod(_plain)

    def __getstate__(self):
        return self._pack(super().__getstate__())

    # (BTrees resolves a bucket's conflicts by giving the states to new
    # buckets of its class: __setstate__ reads them)
    def __setstate__(self, state):
        super().__setstate__(self._plain(state))


class PackedTree:
    """A tree (or tree set) whose buckets are PackedBuckets, pickled
    packed itself while it holds one bucket. (BTrees resolves the
    conflicts of a tree of one bucket with a bucket of its plain class:
    it gets the plain state.)"""

    def __getstate__(self):
        state = super().__getstate__()
        if _holdsItsBucket(state):
            return ((self._bucket_type._pack(state[0][0]),),)
        return state

    def __setstate__(self, state):
        super().__setstate__(self._plainTree(state))

    def _p_resolveConflict(self, old, committed, new):
        plain = self._plainTree
        return super()._p_resolveConflict(plain(old), plain(committed),
                                          plain(new))

    def _plainTree(self, state):
        """A tree's state as BTrees gives and takes it."""
        if _holdsItsBucket(state):
            return ((self._bucket_type._plain(state[0][0]),),)
        return state


class KeyBucket(PackedBucket, LL.Set):
    """A bucket of a KeySet."""


class KeySet(PackedTree, LL.TreeSet):
    """The order keys of a value with many tracks."""

    _bucket_type = KeyBucket
    max_leaf_size = 500


class TimelineBucket(Watched, PackedBucket, LL.Bucket):
    """A bucket of a Timeline."""


class Timeline(WatchedTree, PackedTree, LL.BTree):
    """Order key -> track id, of every merged track."""

    _bucket_type = TimelineBucket
    max_leaf_size = 1000
