"""A user's index entries (userentries.py) against a plain model: packed
while few, in chunks when many, in order whatever order they come in."""

import random
import unittest

import BTrees

from cybertools.tracking.keys import Tailed
from cybertools.tracking.keys import packKeys
from cybertools.tracking.keys import unpackKeys
from cybertools.tracking.userentries import CHUNK
from cybertools.tracking.userentries import UserChunks
from cybertools.tracking.userentries import _parts
from cybertools.tracking.userentries import addEntries
from cybertools.tracking.userentries import entryKeys
from cybertools.tracking.userentries import entrySize
from cybertools.tracking.userentries import keysWithRun
from cybertools.tracking.userentries import latestKeyWithRun
from cybertools.tracking.userentries import removeEntry

SMALL = 10


class UserEntriesTest(unittest.TestCase):

    def setUp(self):
        self.tree = BTrees.family64.OO.BTree()
        self.model = {}         # key: run

    def add(self, keys, runs):
        # (the entries packed as a merge gathers them: key and run in turn)
        addEntries(self.tree, 'u',
                   packKeys([n for pair in zip(keys, runs) for n in pair]),
                   SMALL)
        self.model.update(zip(keys, runs))

    def remove(self, key):
        removeEntry(self.tree, 'u', key)
        del self.model[key]

    def assertAgrees(self):
        if not self.model:
            self.assertNotIn('u', self.tree)
            return
        entries = self.tree['u']
        keys = sorted(self.model)
        self.assertEqual(entryKeys(entries), keys)
        self.assertEqual(entrySize(entries), len(keys))
        for run in set(self.model.values()) | {999}:
            inRun = [k for k in reversed(keys) if self.model[k] == run]
            self.assertEqual(list(keysWithRun(entries, run)), inRun)
            self.assertEqual(latestKeyWithRun(entries, run),
                             inRun[0] if inRun else None)
        if type(entries) is bytes:
            self.assertLessEqual(len(keys), SMALL)
            return
        tail, chunks = _parts(entries)
        # the tail: later than every chunk, never more than a chunk and
        # one batch of keys
        tailKeys = unpackKeys(tail)[0::2]
        self.assertEqual(tailKeys, keys[len(keys) - len(tailKeys):])
        # chunks: none empty, none too big, each under a key no higher
        # than its first and above the previous chunk's keys
        previous = None
        for start, chunk in chunks.items():
            flat = unpackKeys(chunk)
            self.assertTrue(0 < len(flat) // 2 <= 2 * CHUNK)
            self.assertLessEqual(start, flat[0])
            if previous is not None:
                self.assertLess(previous, start)
            previous = flat[-2]

    def test_later_keys_fill_chunks(self):
        for batch in range(20):
            keys = list(range(batch * 37, batch * 37 + 37))
            self.add(keys, [k % 3 for k in keys])
            self.assertAgrees()
            # a batch of keys goes into the tail; full chunks of it into
            # the user's tree
            tail, chunks = self.tree['u']
            self.assertTrue(0 < len(tail) // 16 <= CHUNK)
            self.assertEqual(len(chunks) * CHUNK + len(tail) // 16,
                             len(keys) * (batch + 1))
        # more buckets than one: what a merge writes stays small
        self.assertEqual(len(chunks.__getstate__()), 2)

    def test_any_order_and_removals(self):
        rnd = random.Random(11)
        for step in range(3000):
            if self.model and rnd.random() < 0.3:
                self.remove(rnd.choice(list(self.model)))
            else:
                if rnd.random() < 0.5 or not self.model:
                    key = rnd.randrange(1 << 40)   # anywhere
                else:
                    key = max(self.model) + rnd.randrange(1, 100)
                if key in self.model:
                    continue
                self.add([key], [rnd.randrange(5)])
            if step % 50 == 0:
                self.assertAgrees()
        self.assertAgrees()
        for key in list(self.model):
            self.remove(key)
        self.assertAgrees()

    def test_packed_and_then_chunks(self):
        self.add([5, 6], [1, 2])
        self.assertIs(type(self.tree['u']), bytes)
        self.add(list(range(7, 30)), [1] * 23)
        self.assertIsNot(type(self.tree['u']), bytes)
        self.add([1], [2])      # before the first chunk
        self.assertAgrees()
        with self.assertRaises(ValueError):
            removeEntry(self.tree, 'u', 4)
        self.assertAgrees()

    def test_a_merge_of_a_few_entries_writes_the_tail_alone(self):
        self.add(list(range(100)), [1] * 100)
        tail, chunks = self.tree['u']
        before = chunks.__getstate__()
        self.add([100], [2])
        self.assertIs(self.tree['u'][1], chunks)
        self.assertEqual(chunks.__getstate__(), before)
        self.assertAgrees()

    def test_a_tree_made_before_tails_gets_one(self):
        def treeOf40():
            chunks = UserChunks()
            chunks[0] = packKeys([n for i in range(40) for n in (i, 1)])
            self.model = dict.fromkeys(range(40), 1)
            return chunks
        self.tree['u'] = treeOf40()
        self.assertAgrees()
        self.add([50], [2])
        self.assertIs(type(self.tree['u']), Tailed)
        self.assertAgrees()
        self.add([41, 45], [3, 3])  # later than the tree, before the tail
        self.assertAgrees()
        self.tree['u'] = treeOf40()
        self.remove(3)
        self.assertIs(type(self.tree['u']), Tailed)
        self.assertAgrees()

    def test_a_run_is_found_where_runs_stand_only(self):
        # keys and runs whose bytes hold those of the run elsewhere: a key
        # equal to it, a key and the next run that share its bytes
        run = 0x0101010101010101
        straddling = (0x0101010100000000, 0x01010101)
        keys = [-run, 5, 1 << 56 | 1, straddling[0], run]
        runs = [1, run, 1 << 8, straddling[1], 2]
        self.add(keys[:3], runs[:3])
        self.add(keys[3:], runs[3:])
        entries = self.tree['u']
        self.assertEqual(list(keysWithRun(entries, run)), [5])
        self.assertEqual(list(keysWithRun(entries, 1)), [-run])
        self.assertEqual(list(keysWithRun(entries, straddling[1])),
                         [straddling[0]])
        self.assertEqual(latestKeyWithRun(entries, run), 5)
        self.assertEqual(latestKeyWithRun(entries, straddling[1]),
                         straddling[0])
        self.assertAgrees()
