"""The records' trees written packed: what ZODB stores of them, reading
them back, plain states, conflict resolution, and which storages have
them."""

import unittest

from BTrees.LOBTree import LOBTree
from ZODB.POSException import ConflictError

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.keys import packKeys
from cybertools.tracking.lanes import LaneTrees
from cybertools.tracking.recordtrees import RecordBucket
from cybertools.tracking.recordtrees import RecordTree
from cybertools.tracking.tests.test_keysets import DatabaseTestCase


def record(i):
    # records of different lengths, one of them empty
    return b'["t%i",1,"u",%i.5,{}]' % (i, i) if i % 97 else b''


RECORDS = {i: record(i) for i in range(1, 1001)}


def innerNodes(tree):
    """The children of each inner node of a tree (a state of a tree of
    one bucket has none)."""
    state = tree.__getstate__()
    if state is None or len(state) == 1:
        return []
    children = state[0][0::2]
    found = [children]
    for child in children:
        if isinstance(child, RecordTree):
            found.extend(innerNodes(child))
    return found


class BigNodes(RecordTree):
    """A records' tree with the node size of LO's default."""

    max_internal_size = 500


def rightmostNodes(tree):
    """The children of each inner node on the way to the last bucket."""
    found = []
    state = tree.__getstate__()
    while state is not None and len(state) > 1:
        children = state[0][0::2]
        found.append(children)
        last = children[-1]
        state = last.__getstate__() if isinstance(last, RecordTree) \
            else None
    return found


class PackedStateTest(unittest.TestCase):

    def test_a_tree_of_one_bucket_keeps_its_records_packed(self):
        state = RecordTree({i: RECORDS[i] for i in range(1, 11)}).__getstate__()
        packed = state[0][0][0]
        self.assertIs(type(packed), bytes)
        # the count, the ids, the records and a newline between each two
        self.assertEqual(len(packed), 8 + 8 * 10 + sum(
            len(RECORDS[i]) for i in range(1, 11)) + 9)

    def test_records_with_newlines_are_packed_with_their_ends(self):
        # (pickled records of the first layout may hold newlines; JSON
        # records never do)
        records = {1: b'a\nb', 2: b'', 3: b'\n', 4: b'c'}
        packed = RecordTree(records).__getstate__()[0][0][0]
        self.assertEqual(len(packed), 8 + 16 * 4 + 5)
        tree = RecordTree()
        tree.__setstate__(RecordTree(records).__getstate__())
        self.assertEqual(dict(tree.items()), records)

    def test_buckets_packed_with_their_ends_are_read(self):
        # as written before records were joined by newlines
        records = [b'["t1",1,"u",1.5,{}]', b'', b'["t3",1,"u",3.5,{}]']
        ends = [8 + 16 * 3 + 19, 8 + 16 * 3 + 19, 8 + 16 * 3 + 38]
        packed = packKeys([3, 10, 11, 12] + ends) + b''.join(records)
        bucket = RecordBucket()
        bucket.__setstate__((packed,))
        self.assertEqual(list(bucket.items()),
                         list(zip([10, 11, 12], records)))

    def test_the_buckets_of_a_bigger_tree_are_packed(self):
        tree = RecordTree(RECORDS)
        bucket = tree._firstbucket
        self.assertIs(type(bucket), RecordBucket)
        state = bucket.__getstate__()
        self.assertIs(type(state[0]), bytes)
        self.assertIs(state[1], bucket._next)
        self.assertGreaterEqual(len(bucket), 60)     # (30 in a plain tree)

    def test_plain_and_packed_states_are_read(self):
        for records in ({}, {5: b'x'}, {5: b''}, {5: b'', 6: b''},
                        {5: b'\n', 6: b'x'}, RECORDS):
            for state in (LOBTree(records).__getstate__(),
                          RecordTree(records).__getstate__()):
                tree = RecordTree()
                tree.__setstate__(state)
                self.assertEqual(dict(tree.items()), records)
        # (a bucket's state through its own class, as ZODB loads it)
        bucket = RecordTree(RECORDS)._firstbucket
        copy = RecordBucket()
        copy.__setstate__(bucket.__getstate__())
        self.assertEqual(list(copy.items()), list(bucket.items()))

    def test_anything_but_bytes_stays_plain(self):
        tree = RecordTree({1: b'a', 2: 'not bytes'})
        self.assertEqual(tree.__getstate__(), ((((1, b'a', 2, 'not bytes'),),),))


class DatabaseTest(DatabaseTestCase):

    def fill(self, root):
        root['small'] = RecordTree({i: RECORDS[i] for i in range(1, 11)})
        root['big'] = RecordTree(RECORDS)

    def test_read_back_after_reopening(self):
        self.reopen()
        root, tm = self.connection()
        self.assertEqual(dict(root['small'].items()),
                         {i: RECORDS[i] for i in range(1, 11)})
        self.assertEqual(dict(root['big'].items()), RECORDS)

    def test_changes_of_different_records_are_resolved(self):
        # as BTrees resolves them: in a tree of one bucket, and in one
        # bucket of a bigger tree
        for name, keys in [('small', (3, 7)), ('big', (500, 502))]:
            (first, tm1), (second, tm2) = self.connection(), self.connection()
            first[name][keys[0]] = b'first'
            second[name][keys[1]] = b'second'
            tm1.commit()
            tm2.commit()
            root, tm = self.connection()
            self.assertEqual(root[name][keys[0]], b'first')
            self.assertEqual(root[name][keys[1]], b'second')
        self.reopen()
        root, tm = self.connection()
        self.assertEqual(root['big'][502], b'second')

    def test_inner_nodes_stay_small(self):
        # a commit of many saves rewrites the inner node above the buckets
        # that split, pickled child by child: 64 children, not hundreds
        root, tm = self.connection()
        tree = root['many'] = RecordTree()
        for i in range(1, 20001):
            tree[i] = b'["t",1,"u",%i.5,{}]' % i
        tm.commit()
        self.assertTrue(all(len(node) <= 64 for node in innerNodes(tree)))
        self.reopen()
        root, tm = self.connection()
        self.assertEqual(len(root['many']), 20000)
        self.assertEqual(root['many'][12345], b'["t",1,"u",12345.5,{}]')

    def test_a_tree_grown_with_big_nodes_gets_small_ones(self):
        # a tree grown before, with LO's default: one node over its 500
        # buckets (made here from the state of such a tree); its nodes
        # are split as they grow, and every record stays
        old = BigNodes()
        for i in range(1, 30001):
            old[i] = b'%i' % i
        self.assertGreater(max(map(len, innerNodes(old))), 64)
        root, tm = self.connection()
        tree = root['old'] = RecordTree()
        tree.__setstate__(old.__getstate__())
        tm.commit()
        self.reopen()
        root, tm = self.connection()
        for i in range(30001, 50001):
            root['old'][i] = b'%i' % i
        tm.commit()
        self.reopen()
        root, tm = self.connection()
        tree = root['old']
        tree._check()
        self.assertEqual(list(tree.items()),
                         [(i, b'%i' % i) for i in range(1, 50001)])
        # the node above the latest buckets is a small one
        self.assertLessEqual(len(rightmostNodes(tree)[-1]), 64)

    def test_changes_of_one_record_are_not_resolved(self):
        (first, tm1), (second, tm2) = self.connection(), self.connection()
        first['big'][500] = b'first'
        second['big'][500] = b'second'
        tm1.commit()
        with self.assertRaises(ConflictError):
            tm2.commit()


class StorageTest(unittest.TestCase):

    def test_a_storage_keeps_its_records_in_record_trees(self):
        storage = TrackingStorage()
        storage.saveUserTrack('quiz', 0, 'alice', {'q': 1})
        trees = list(storage._records._trees.values())
        self.assertEqual([type(tree) for tree in trees], [RecordTree])
        self.assertEqual(type(storage._runs._trees[0]), LOBTree)

    def test_lanes_made_before_keep_plain_trees(self):
        lanes = LaneTrees()
        lanes.__setstate__({'_trees': LOBTree()})
        lanes[5] = b'x'
        self.assertEqual(type(lanes._trees[0]), LOBTree)
