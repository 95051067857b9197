"""The index's LL trees written packed: what ZODB stores of them, reading
them back, plain states and conflict resolution."""

import os
import pickle
import shutil
import struct
import sys
import tempfile
import unittest
from unittest import mock

import transaction
from BTrees.LLBTree import LLBTree
from BTrees.LLBTree import LLTreeSet
from BTrees.LLBTree import intersection
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from cybertools.tracking import keys as keysModule
from cybertools.tracking.keys import KEY_OFFSET
from cybertools.tracking.keys import MAX_PACKER
from cybertools.tracking.keys import NUMBER
from cybertools.tracking.keys import Tailed
from cybertools.tracking.keys import keyArray
from cybertools.tracking.keys import packArray
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.keysets import KeyBucket
from cybertools.tracking.keysets import KeySet
from cybertools.tracking.keysets import Timeline
from cybertools.tracking.keysets import TimelineBucket

# keys as the index has them: near the low end of the signed range; as
# many as make several buckets of a timeline
KEYS = [KEY_OFFSET + 7 * i for i in range(3000)]


class PackedStateTest(unittest.TestCase):

    def test_a_set_of_one_bucket_keeps_its_keys_packed(self):
        state = KeySet(KEYS[:10]).__getstate__()
        packed = state[0][0][0]
        self.assertIs(type(packed), bytes)
        self.assertEqual(len(packed), 80)

    def test_the_buckets_of_a_bigger_set_are_packed(self):
        keys = KeySet(KEYS)
        bucket = keys._firstbucket
        self.assertIs(type(bucket), KeyBucket)
        self.assertIs(type(bucket.__getstate__()[0]), bytes)
        self.assertIs(type(Timeline(dict.fromkeys(KEYS, 1))._firstbucket),
                      TimelineBucket)

    def test_plain_and_packed_states_are_read(self):
        for state in (LLTreeSet(KEYS[:10]).__getstate__(),
                      KeySet(KEYS[:10]).__getstate__()):
            keys = KeySet()
            keys.__setstate__(state)
            self.assertEqual(list(keys), KEYS[:10])
        items = {k: 5 for k in KEYS[:10]}
        for state in (LLBTree(items).__getstate__(),
                      Timeline(items).__getstate__()):
            timeline = Timeline()
            timeline.__setstate__(state)
            self.assertEqual(dict(timeline.items()), items)

    def test_numbers_are_packed_alike_whatever_their_count(self):
        # (small counts by a struct made for the count, big ones by an
        # array: both give 64-bit numbers one after the other,
        # little-endian)
        for count in (0, 1, 2, 120, MAX_PACKER, MAX_PACKER + 1, 3000):
            numbers = [-2 ** 63, 2 ** 63 - 1] + KEYS[:max(count - 2, 0)]
            numbers = numbers[:count]
            expected = struct.pack('<%iq' % count, *numbers)
            self.assertEqual(packKeys(numbers), expected)
            self.assertEqual(packKeys(tuple(numbers)), expected)
            self.assertEqual(packKeys(iter(numbers)), expected)
            self.assertEqual(unpackKeys(expected), numbers)

    def test_the_stored_bytes_are_the_same_on_every_machine(self):
        # (little-endian whatever the machine's order: a storage written
        # on one machine reads alike on another)
        self.assertEqual(packKeys([1, -2]),
                         b'\x01' + b'\x00' * 7 + b'\xfe' + b'\xff' * 7)
        self.assertEqual(NUMBER.pack(1), b'\x01' + b'\x00' * 7)
        self.assertEqual(unpackKeys(b'\x00\x01' + b'\x00' * 6), [256])
        self.assertEqual(keyArray(b'\x00\x01' + b'\x00' * 6).tolist(),
                         [256])

    def test_arrays_are_turned_to_and_from_the_stored_order(self):
        # (what a machine of the other order does: both ways swap)
        packed = packKeys(KEYS[:5])
        for swapped in (False, True):
            with mock.patch.object(keysModule, 'SWAPPED', swapped):
                numbers = keyArray(packed)
                self.assertEqual(packArray(numbers), packed)
                self.assertEqual(
                    numbers.tolist() == KEYS[:5],
                    swapped == (sys.byteorder == 'big'))
                self.assertEqual(packArray(numbers[1::2]),
                                 packKeys(KEYS[1:5:2]))

    def test_many_keys_sort_after_few(self):
        # (what BTrees' conflict resolution compares: see keys.Tailed)
        many, few = Tailed((b'x', 1)), b'\xff' * 8
        self.assertTrue(few < many and many > few and few <= many and
                        many >= few and many != few)
        self.assertFalse(many < few or few > many or many <= few)
        self.assertEqual(sorted([many, few, Tailed((b'', 1))]),
                         [few, Tailed((b'', 1)), many])
        self.assertEqual(many, (b'x', 1))
        self.assertEqual(pickle.loads(pickle.dumps(many, 3)), many)
        self.assertIs(type(pickle.loads(pickle.dumps(many, 3))), Tailed)

    def test_what_is_no_64_bit_number_is_refused_as_before(self):
        with self.assertRaises(OverflowError):
            packKeys([1, 2 ** 63])
        for wrong in (1.5, '1', None):
            with self.assertRaises(TypeError):
                packKeys([1, wrong])

    def test_set_operations_take_them(self):
        found = intersection(KeySet(KEYS), LLTreeSet(KEYS[500:510]))
        self.assertEqual(list(found), KEYS[500:510])


class DatabaseTestCase(unittest.TestCase):
    """A FileStorage holding what ``fill(root)`` puts in it, and
    connections of their own to it (also for test_recordtrees)."""

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.open()
        self.addCleanup(lambda: self.db.close())
        with self.db.transaction() as connection:
            self.fill(connection.root())

    def open(self):
        self.db = DB(FileStorage(os.path.join(self.directory, 'Data.fs')))

    def reopen(self):
        self.db.close()
        self.open()

    def connection(self):
        tm = transaction.TransactionManager()
        connection = self.db.open(tm)
        self.addCleanup(connection.close)
        self.addCleanup(tm.abort)
        return connection.root(), tm


class DatabaseTest(DatabaseTestCase):

    def fill(self, root):
        root['small'] = KeySet(KEYS[:10])
        root['big'] = KeySet(KEYS)
        root['timeline'] = Timeline({k: i for i, k in enumerate(KEYS)})

    def test_read_back_after_reopening(self):
        self.reopen()
        root, tm = self.connection()
        self.assertEqual(list(root['small']), KEYS[:10])
        self.assertEqual(list(root['big']), KEYS)
        self.assertEqual(root['timeline'][KEYS[600]], 600)
        self.assertEqual(len(root['timeline']), len(KEYS))

    def test_concurrent_inserts_are_resolved(self):
        # as BTrees resolves them: both into one set of one bucket, and
        # both into one bucket of a bigger set
        for name, new in [('small', (KEYS[20], KEYS[30])),
                          ('big', (KEYS[100] + 1, KEYS[100] + 2))]:
            (first, tm1), (second, tm2) = self.connection(), self.connection()
            first[name].insert(new[0])
            second[name].insert(new[1])
            tm1.commit()
            tm2.commit()
            root, tm = self.connection()
            for key in new:
                self.assertIn(key, root[name])
        (first, tm1), (second, tm2) = self.connection(), self.connection()
        first['timeline'][KEYS[5] + 1] = -1
        second['timeline'][KEYS[5] + 2] = -2
        tm1.commit()
        tm2.commit()
        root, tm = self.connection()
        self.assertEqual(root['timeline'][KEYS[5] + 2], -2)
        self.assertEqual(len(root['timeline']), len(KEYS) + 2)

    def test_conflicting_changes_are_not_resolved(self):
        (first, tm1), (second, tm2) = self.connection(), self.connection()
        first['small'].remove(KEYS[3])
        second['small'].remove(KEYS[3])
        tm1.commit()
        with self.assertRaises(ConflictError):
            tm2.commit()
