"""A user's entries in the index: the order key of each of the user's
tracks with the id of its run (see index.py).

Few entries (up to ``index.SMALL_ENTRIES``) are packed as bytes, key and
run in turn, in the bucket of the users tree. More are kept in two parts:
the latest ones (the *tail*, up to ``CHUNK`` of them) still packed in the
bucket of the users tree, the older ones in a tree of their own
(``UserChunks``): chunks of ``CHUNK`` entries packed the same way, each
under its first key, a few chunks to a bucket. A merge adds a user's new
entries to the tail, so that it writes the users tree's buckets, each
for some 30 users, and a user's own tree only when the tail is full and
goes into a chunk: at 1,000,000 tracks a merge wrote a tree for nearly
every user it added entries to (about 4,000 objects for 5,000 tracks),
most of what its commit cost. A BTree from key to run would do the same
work, but ZODB pickles a BTree bucket number by number, calling its
``persistent_id`` hook for each.

An entry value here is what the users tree holds for a user: bytes,
(tail bytes, chunk tree) as a ``keys.Tailed`` (a plain tuple where
written before there were Tailed), or a chunk tree alone (as made before
there were tails; given a tail when next written).
"""

import bisect
import itertools

import BTrees

from cybertools.tracking.keys import KEY_BYTES
from cybertools.tracking.keys import NUMBER
from cybertools.tracking.keys import TAILED
from cybertools.tracking.keys import Tailed
from cybertools.tracking.keys import appendable
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys

# The most entries packed in one chunk of a user's tree.
CHUNK = 32

# An entry packed: a key and a run.
ENTRY_BYTES = 2 * KEY_BYTES


class UserChunks(BTrees.family64.IO.BTree):
    """The chunks of a user's entries: key -> packed entries. Small
    buckets, so that a merge rewrites a few kB at most for a user with
    many tracks (a tree of one bucket keeps it in its own state)."""

    max_leaf_size = 8


def _parts(entries):
    """(tail, chunk tree or None) of a user's entries."""
    kind = type(entries)
    if kind in TAILED:
        return entries
    if kind is bytes:
        return entries, None
    return b'', entries


def entryKeys(entries):
    """The keys of a user's entries, in order."""
    tail, chunks = _parts(entries)
    keys = []
    if chunks is not None:
        for chunk in chunks.values():
            keys.extend(unpackKeys(chunk)[0::2])
    keys.extend(unpackKeys(tail)[0::2])
    return keys


def entrySize(entries):
    tail, chunks = _parts(entries)
    size = len(tail) // ENTRY_BYTES
    if chunks is not None:
        size += sum(len(chunk) // ENTRY_BYTES for chunk in chunks.values())
    return size


def keysWithRun(entries, runId):
    """The keys of a user's entries with this run, the latest first: the
    tail, then the chunks from the last back (see ``_latestFirst``), read
    only as far as the caller goes."""
    if type(entries) is bytes:
        pieces = (entries,)     # (the commonest: a few entries, packed)
    else:
        tail, chunks = _parts(entries)
        pieces = (tail,)
        if chunks:
            pieces = itertools.chain(pieces, _latestFirst(chunks))
    run = NUMBER.pack(runId)
    numberAt = NUMBER.unpack_from
    for piece in pieces:
        at = _entryWithRun(piece, run, len(piece))
        while at >= 0:
            yield numberAt(piece, at)[0]
            at = _entryWithRun(piece, run, at + KEY_BYTES)


def latestKeyWithRun(entries, runId):
    """The first of keysWithRun (None: none), without a generator: mostly
    the latest key of a user in a run is all that is asked for, and a
    generator's first key cost twice what the search does."""
    run = NUMBER.pack(runId)
    if type(entries) is bytes:
        pieces = (entries,)
    else:
        tail, chunks = _parts(entries)
        at = _entryWithRun(tail, run, len(tail))
        if at >= 0:
            return NUMBER.unpack_from(tail, at)[0]
        if not chunks:
            return None
        pieces = _latestFirst(chunks)
    for piece in pieces:
        at = _entryWithRun(piece, run, len(piece))
        if at >= 0:
            return NUMBER.unpack_from(piece, at)[0]
    return None


def _entryWithRun(piece, run, end):
    """Where the latest entry with a run (``run``: packed) begins in packed
    entries, before ``end``; -1 for none. The search is in C: the run's 8
    bytes where a run stands (the second half of a 16-byte entry)."""
    while True:
        at = piece.rfind(run, 0, end)
        if at < 0:
            return -1
        if at % ENTRY_BYTES == KEY_BYTES:
            return at - KEY_BYTES
        # (a match that straddles two numbers is skipped; the next may
        # begin one byte before it)
        end = at + KEY_BYTES - 1


def _latestFirst(chunks):
    """The chunks from the last one back, loading only the buckets they
    are in. A tree of one bucket (up to ``UserChunks.max_leaf_size``
    chunks, most users) gives them joined, as one piece: one search in C
    instead of a lookup and a search per chunk (the last track of a user
    with 200 entries, asked again and again: 5.4 -> 4.3 us)."""
    state = chunks.__getstate__()
    if state is not None and len(state) == 1:
        # (((items,),),): the items of the tree's one bucket, keys and
        # chunks in turn (the chunks hold whole entries: they join as
        # they are)
        return (b''.join(state[0][0][0][1::2]),)
    return _steppingBack(chunks)


def _steppingBack(chunks):
    start = chunks.maxKey()
    while True:
        yield chunks[start]
        try:
            start = chunks.maxKey(start - 1)
        except ValueError:      # that was the first
            return


def addEntries(tree, user, packed, small):
    """Add new entries (keys with their runs, packed as entries are, in
    the order of their keys) to the entries of a user in the users tree;
    ``small`` entries stay packed in its bucket. Return how many entries
    the user's count gained (all the user has, if counted from now: a user
    with more than ``small``), 0 while they are packed alone."""
    entries = tree.get(user)
    kind = type(entries)
    if kind is bytes and appendable(entries, packed, small, ENTRY_BYTES):
        tree[user] = entries + packed
        return 0
    if kind in TAILED and appendable(entries[0], packed, CHUNK, ENTRY_BYTES):
        tree[user] = Tailed((entries[0] + packed, entries[1]))
        return len(packed) // ENTRY_BYTES
    new = unpackKeys(packed)
    if entries is None or kind is bytes:
        flat = [] if entries is None else unpackKeys(entries)
        flat = _joined(flat, new)
        if len(flat) // 2 <= small:
            tree[user] = packKeys(flat)
            return 0
        tree[user] = _withTail(flat, UserChunks())
        return len(flat) // 2
    tail, chunks = _parts(entries)
    flat = unpackKeys(tail)
    # every key of the tail is above every key of the chunks: new keys
    # below ``bound`` go into the chunks
    if not chunks:
        bound = None
    elif flat:
        bound = flat[0]
    else:
        # (no tail: after removals, or a tree made before tails)
        bound = unpackKeys(chunks[chunks.maxKey()])[-2] + 1
    if bound is None or new[0] >= bound:
        flat = _joined(flat, new)
    else:
        # older ones among them (tracks indexed anew): one by one
        later = []
        for i in range(0, len(new), 2):
            if new[i] < bound:
                _insert(chunks, new[i:i + 2])
            else:
                later.extend(new[i:i + 2])
        if later:
            flat = _joined(flat, later)
    tree[user] = _withTail(flat, chunks)
    return len(new) // 2


def _joined(flat, new):
    """Packed entries and new ones in one list, in order."""
    if not flat or flat[-2] < new[0]:
        return flat + new       # the common case: later keys
    return _flatten(sorted(list(zip(flat[0::2], flat[1::2]))
                           + list(zip(new[0::2], new[1::2]))))


def _withTail(flat, chunks):
    """A user's entries of a chunk tree and the entries after it (``flat``):
    all but the last 1 to CHUNK of them move into the tree, in chunks."""
    count = len(flat) // 2
    if count > CHUNK:
        moved = (count - 1) // CHUNK * CHUNK
        _addToChunks(chunks, flat[:2 * moved])
        flat = flat[2 * moved:]
    return Tailed((packKeys(flat), chunks))


def _addToChunks(chunks, new):
    """Add entries (in order, key and run in turn in one list, all later
    than the chunks' entries) to a user's chunks: the last chunk filled
    up, then new ones."""
    if chunks:
        # (all later than the chunks: older ones go in by _insert)
        start = chunks.maxKey()
        flat = unpackKeys(chunks[start])
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
    when none are left. Return True if the user was counted (had a chunk
    tree)."""
    entries = tree[user]
    tail, chunks = _parts(entries)
    if chunks is None:
        flat = unpackKeys(entries)
        _removePair(flat, key)
        if flat:
            tree[user] = packKeys(flat)
        else:
            del tree[user]
        return False
    flat = unpackKeys(tail)
    if key in flat[0::2]:
        _removePair(flat, key)
        tail = packKeys(flat)
    else:
        start = chunks.maxKey(key)
        found = unpackKeys(chunks[start])
        _removePair(found, key)
        if found:
            # (a chunk stays under its first key of before: still the
            # lowest)
            chunks[start] = packKeys(found)
        else:
            del chunks[start]
    if not tail and not chunks:
        del tree[user]
    elif entries != (tail, chunks):
        tree[user] = Tailed((tail, chunks))
    return True


def _removePair(flat, key):
    i = flat[0::2].index(key) * 2
    del flat[i:i + 2]


class ChunkedKeys:
    """The keys of a user's entries with a chunk tree (and a tail), listed
    when iterated (for results.MergedKeys)."""

    __slots__ = ('_entries',)

    def __init__(self, entries):
        self._entries = entries

    def __iter__(self):
        return iter(entryKeys(self._entries))


def _flatten(pairs):
    return [number for pair in pairs for number in pair]
