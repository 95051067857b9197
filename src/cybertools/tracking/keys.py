"""Order keys: where a track stands in every index.

A key is one signed 64-bit integer, so that the C-level BTrees of the
LL family (``BTrees.family64.II``) hold the indexes. It orders tracks by
time stamp, then by the order they were indexed in::

    key = (microseconds since the epoch << SEQ_BITS | seq) + KEY_OFFSET

``seq`` (0 to 63) tells apart tracks with the same time stamp to the
microsecond; ``KEY_OFFSET`` moves the unsigned range onto the signed one.
58 bits of microseconds reach beyond the year 10000, the latest time the
storage takes (``validation.LATEST_TIME``), so every time stamp has a key.
At most 64 tracks can share one microsecond in the indexes: ``newKey``
raises ``SameTimeError`` (a ValueError) for the 65th, and the merge keeps
such a track out of the indexes as a *crowded* one (see index.py), which
queries find like a pending track. Nothing is refused or misordered; only
queries over very many crowded tracks get slower.

Keys, ids and run ids are stored packed, 8 bytes each, little-endian
whatever the machine's own order, so that a storage written on one
machine reads alike on any other.
"""

import array
import struct
import sys

SEQ_BITS = 6
SEQ_MASK = (1 << SEQ_BITS) - 1
KEY_OFFSET = -(1 << 63)

# one number as packKeys packs it (little-endian, 64 bits)
NUMBER = struct.Struct('<q')
KEY_BYTES = NUMBER.size
# two of them (a key with its track or run, as a merge gathers them)
PAIR = struct.Struct('<qq')
# whether arrays (in the machine's order) are turned to and from the
# stored order
SWAPPED = sys.byteorder != 'little'


class SameTimeError(ValueError):
    """More tracks with one time stamp than keys for them."""


def microseconds(timeStamp):
    return round(timeStamp * 1e6)


def firstKey(timeStamp):
    """The lowest key a track with this time stamp can have."""
    return firstKeyAt(microseconds(timeStamp))


def lastKey(timeStamp):
    """The highest key a track with this time stamp can have."""
    return firstKeyAt(microseconds(timeStamp)) + SEQ_MASK


def firstKeyAt(us):
    """The lowest key of a time stamp of ``us`` microseconds."""
    return (us << SEQ_BITS) + KEY_OFFSET


def lastKeyAt(us):
    """The highest key of a time stamp of ``us`` microseconds."""
    return firstKeyAt(us) + SEQ_MASK


def keyMicroseconds(key):
    return (key - KEY_OFFSET) >> SEQ_BITS


def packKeys(numbers):
    """64-bit numbers (keys, run ids) packed as bytes: stored as one value,
    which ZODB pickles at once."""
    if type(numbers) is not list and type(numbers) is not tuple:
        numbers = list(numbers)
    count = len(numbers)
    if count > MAX_PACKER:
        return packArray(array.array('q', numbers))
    packer = _packers.get(count)
    if packer is None:
        packer = _packers[count] = struct.Struct('<%iq' % count)
    try:
        return packer.pack(*numbers)
    except struct.error:
        # (the array's own error: a number out of range, or no number)
        return packArray(array.array('q', numbers))


# struct packs numbers twice as fast as an array takes them (an array
# parses each as an argument); a packer for each count up to MAX_PACKER
# (the biggest bucket, a timeline's, holds 1,000)
MAX_PACKER = 2048
_packers = {}


def lastPacked(packed, entryBytes=KEY_BYTES):
    """The first number of the last entry of packed ones (of
    ``entryBytes`` each): the last key, read without unpacking the
    others."""
    return NUMBER.unpack_from(packed, len(packed) - entryBytes)[0]


def appendable(packed, new, most, entryBytes=KEY_BYTES):
    """Whether new packed entries (of ``entryBytes`` each, in order) go
    after packed ones as they are, with at most ``most`` entries in all:
    then the bytes of both are joined (the common case of a merge), and
    neither is unpacked."""
    return bool(packed) and \
        (len(packed) + len(new)) // entryBytes <= most and \
        lastPacked(packed, entryBytes) < NUMBER.unpack_from(new)[0]


def unpackKeys(packed):
    return keyArray(packed).tolist()


def keyArray(packed):
    """Packed numbers as an array: a number object is made for each one
    read only (a search among a value's keys reads a few)."""
    found = array.array('q')
    found.frombytes(packed)
    if SWAPPED:
        found.byteswap()
    return found


class Tailed(tuple):
    """What an index's tree holds for a value (or a user) with many keys:
    (the latest keys packed, the set or chunks of the older ones), where
    one with few keys has the packed keys alone.

    A tuple that sorts after packed keys: BTrees' conflict resolution
    compares a key's values of before and after, and a plain tuple and
    bytes cannot be compared (two transactions changing different values
    of one bucket, one of them growing a value from few keys to many,
    failed with a TypeError and a ConflictError)."""

    __slots__ = ()

    def __lt__(self, other):
        return False if isinstance(other, bytes) else tuple.__lt__(self, other)

    def __le__(self, other):
        return False if isinstance(other, bytes) else tuple.__le__(self, other)

    def __gt__(self, other):
        return True if isinstance(other, bytes) else tuple.__gt__(self, other)

    def __ge__(self, other):
        return True if isinstance(other, bytes) else tuple.__ge__(self, other)

    __hash__ = tuple.__hash__


# the kinds of what holds a value's many keys (a plain tuple in trees
# written before there were Tailed)
TAILED = (tuple, Tailed)


def packArray(numbers):
    """An array of 64-bit numbers (see keyArray) packed as bytes."""
    if SWAPPED:
        numbers = array.array('q', numbers)
        numbers.byteswap()
    return numbers.tobytes()

