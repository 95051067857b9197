"""A user's entries in the index: the order key of each of the user's
tracks with the id of its run (see index.py).

Few entries (up to ``index.SMALL_ENTRIES``) are packed as bytes, key and
run in turn, in the bucket of the users tree. More get a tree of their own
(``UserChunks``): chunks of up to ``CHUNK`` entries packed the same way,
each under its first key, a few chunks to a bucket. A merge appends to a
user's last chunk, so that it writes one small object holding a few
bytes values. A BTree from key to run would do the same work, but ZODB
pickles a BTree bucket number by number, calling its ``persistent_id``
hook for each: with one bucket of pairs written per user in every merge,
that was three quarters of all the numbers a merge pickled at 1,000,000
tracks.

An entry value here is what the users tree holds for a user: bytes or a
chunk tree.
"""

import bisect

import BTrees

from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys

# The most entries packed in one chunk of a user's tree.
CHUNK = 32


class UserChunks(BTrees.family64.IO.BTree):
    """The chunks of a user's entries: key -> packed entries. Small
    buckets, so that a merge rewrites a few kB at most for a user with
    many tracks (a tree of one bucket keeps it in its own state)."""

    max_leaf_size = 8


def entryKeys(entries):
    """The keys of a user's entries, in order."""
    if type(entries) is bytes:
        return unpackKeys(entries)[0::2]
    keys = []
    for chunk in entries.values():
        keys.extend(unpackKeys(chunk)[0::2])
    return keys


def entrySize(entries):
    if type(entries) is bytes:
        return len(entries) // 16
    return sum(len(chunk) // 16 for chunk in entries.values())


def keysWithRun(entries, runId):
    """The keys of a user's entries with this run, the latest first: chunk
    by chunk from the last, so that mostly one chunk is read."""
    chunks = [entries] if type(entries) is bytes else _latestFirst(entries)
    for chunk in chunks:
        flat = unpackKeys(chunk)
        keys, runs = flat[0::2], flat[1::2]
        # the search in C: list.index on the runs reversed
        runs.reverse()
        last, start = len(runs) - 1, 0
        while True:
            try:
                start = runs.index(runId, start)
            except ValueError:
                break
            yield keys[last - start]
            start += 1


def _latestFirst(chunks):
    """The chunks from the last one back, loading only the buckets they
    are in."""
    start = chunks.maxKey()
    while True:
        yield chunks[start]
        try:
            start = chunks.maxKey(start - 1)
        except ValueError:      # that was the first
            return


def addEntries(tree, user, keys, runs, small):
    """Add keys (in order, new ones) with their runs to the entries of a
    user in the users tree; ``small`` entries stay packed in its bucket.
    Return how many entries the user's chunk tree gained (all it holds,
    if it was made now), 0 while they are packed."""
    entries = tree.get(user)
    new = _interleaved(keys, runs)
    if entries is not None and type(entries) is not bytes:
        _addToChunks(entries, new)
        return len(keys)
    if entries is not None:
        flat = unpackKeys(entries)
        if flat[-2] < keys[0] and len(flat) // 2 + len(keys) <= small:
            # the common case: later keys, still few
            tree[user] = packKeys(flat + new)
            return 0
        new = _flatten(sorted(list(zip(flat[0::2], flat[1::2]))
                              + list(zip(keys, runs))))
    if len(new) // 2 <= small:
        tree[user] = packKeys(new)
        return 0
    chunks = tree[user] = UserChunks()
    _addToChunks(chunks, new)
    return len(new) // 2


def _addToChunks(chunks, new):
    """Add entries (in order, key and run in turn in one list) to a user's
    chunks."""
    if chunks:
        start = chunks.maxKey()
        flat = unpackKeys(chunks[start])
        if flat[-2] > new[0]:
            # older ones among them (tracks indexed anew): one by one
            for i in range(0, len(new), 2):
                _insert(chunks, new[i:i + 2])
            return
        # the common case: later keys, appended to the last chunk
        room = CHUNK - len(flat) // 2
        if room > 0:
            chunks[start] = packKeys(flat + new[:2 * room])
            new = new[2 * room:]
    for i in range(0, len(new), 2 * CHUNK):
        piece = new[i:i + 2 * CHUNK]
        chunks[piece[0]] = packKeys(piece)


def _insert(chunks, pair):
    """Insert one entry where it belongs, among chunks there are (an older
    track indexed anew)."""
    key = pair[0]
    if key < chunks.minKey():
        # it starts the first chunk now
        start = chunks.minKey()
        flat = list(pair) + unpackKeys(chunks.pop(start))
    else:
        start = chunks.maxKey(key)
        flat = unpackKeys(chunks.pop(start))
        i = bisect.bisect_left(flat[0::2], key) * 2
        flat[i:i] = list(pair)
    if len(flat) > 4 * CHUNK:
        # two chunks of it
        half = len(flat) // 4 * 2
        chunks[flat[0]] = packKeys(flat[:half])
        chunks[flat[half]] = packKeys(flat[half:])
    else:
        chunks[flat[0]] = packKeys(flat)


def removeEntry(tree, user, key):
    """Remove a key (and its run) from a user's entries; drop the user
    when none are left. Return True if the user had a chunk tree."""
    entries = tree[user]
    chunks = None if type(entries) is bytes else entries
    if chunks is None:
        flat = unpackKeys(entries)
    else:
        start = chunks.maxKey(key)
        flat = unpackKeys(chunks[start])
    i = flat[0::2].index(key) * 2
    del flat[i:i + 2]
    if chunks is None:
        if flat:
            tree[user] = packKeys(flat)
        else:
            del tree[user]
        return False
    if flat:
        # (a chunk stays under its first key of before: still the lowest)
        chunks[start] = packKeys(flat)
    else:
        del chunks[start]
        if not chunks:
            del tree[user]
    return True


class ChunkedKeys:
    """The keys of a user's chunk tree, listed when iterated (for
    results.MergedKeys)."""

    __slots__ = ('_chunks',)

    def __init__(self, chunks):
        self._chunks = chunks

    def __iter__(self):
        return iter(entryKeys(self._chunks))


def _flatten(pairs):
    return [number for pair in pairs for number in pair]


def _interleaved(keys, runs):
    """Keys and their runs in one list, in turn (as they are packed), made
    without a tuple per entry (a merge makes many)."""
    flat = [0] * (2 * len(keys))
    flat[0::2] = keys
    flat[1::2] = runs
    return flat
