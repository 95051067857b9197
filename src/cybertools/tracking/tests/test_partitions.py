"""A storage with several partitions answers like a storage with one.

The same operations are done on a storage with one partition and on one
with four, where every save goes to a partition chosen at random; every
answer must be the same, apart from the track ids.
"""

import random
import unittest
from unittest import mock

import transaction
from ZODB import DB
from ZODB.MappingStorage import MappingStorage
from ZODB.POSException import ConflictError

from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.results import MergedKeys
from cybertools.tracking.results import mergeKeys


class StateTrack(Track):
    index_attributes = Track.metadata_attributes + ('state',)


def state(tracks):
    """What a result says, without the ids of tracks and runs (they differ
    by design): a track's run is named by the task it was started for."""
    return [(t.taskId, t.__parent__.getRun(runId=t.runId).taskId,
             t.userName, t.timeStamp, t.data)
            for t in tracks]


class SameAnswersTest(unittest.TestCase):

    @mock.patch('time.time', lambda: 1700000000.5)
    def setUp(self):
        # at a fixed time, so that the runs start at the same time in both
        self.single = TrackingStorage(trackFactory=StateTrack)
        self.partitioned = TrackingStorage(trackFactory=StateTrack,
                                           partitions=4)
        self.random = random.Random(42)
        for storage in (self.single, self.partitioned):
            for task in ('t1', 't2', 't3'):
                storage.startRun(task)
        for i in range(200):
            self.save('t%i' % (i % 3 + 1), 'u%i' % (i % 7),
                      {'i': i, 'state': 'new' if i % 4 else 'done'},
                      timeStamp=1700000000 + i * 10 + (i % 5))

    def save(self, *args, **kw):
        self.partitioned._v_partition = self.random.randrange(4)
        ids = [storage.saveUserTrack(args[0], 0, *args[1:], **kw)
               for storage in (self.single, self.partitioned)]
        return ids

    def assertSameAnswers(self):
        single, partitioned = self.single, self.partitioned
        self.assertEqual(len(single), len(partitioned))
        for criteria in ({}, {'taskId': 't2'}, {'userName': 'u3'},
                         {'state': 'done'}, {'taskId': 't*', 'state': 'new'},
                         {'userName': ['u1', 'u2'], 'timeFrom': 1700000500},
                         {'timeFromTo': (1700000300, 1700001200)}):
            with self.subTest(criteria=criteria):
                one = single.query(**criteria)
                four = partitioned.query(**criteria)
                self.assertEqual(len(four), len(one))
                self.assertEqual(state(four), state(one))
                self.assertEqual(state(reversed(four)), state(reversed(one)))
                for page in (slice(0, 5), slice(-5, None), slice(3, 40, 7),
                             slice(None, None, -3)):
                    self.assertEqual(state(four[page]), state(one[page]))
                if len(one):
                    self.assertEqual(state([four[-1], four[0]]),
                                     state([one[-1], one[0]]))
        for task in ('t1', 't2', 't3'):
            self.assertEqual(partitioned.getUserNames(task),
                             single.getUserNames(task))
            for user in ('u0', 'u4'):
                self.assertEqual(
                    state(partitioned.getUserTracks(task, 0, user)),
                    state(single.getUserTracks(task, 0, user)))
                self.assertEqual(
                    state([partitioned.getLastUserTrack(task, 0, user)]),
                    state([single.getLastUserTrack(task, 0, user)]))
            self.assertEqual(partitioned.getRun(task).end,
                             single.getRun(task).end)
        self.assertEqual(partitioned.getTaskIds(), single.getTaskIds())
        self.assertEqual(partitioned.checkIndexes(), [])

    def test_saved_tracks(self):
        self.assertSameAnswers()
        used = {int(name) % 4 for name in self.partitioned}
        self.assertEqual(used, {0, 1, 2, 3})

    def test_runs_are_kept_in_the_partition_of_their_writer(self):
        self.partitioned._v_partition = 2
        runId = self.partitioned.startRun('t9')
        self.assertEqual(runId % 4, 2)
        self.assertIn(runId, self.partitioned._partitions[2].runs)
        self.assertEqual(self.partitioned.getRun('t9').id, runId)
        runs = self.partitioned.getRuns()
        self.assertEqual([run.id for run in runs],
                         sorted(run.id for run in runs))
        self.assertEqual(sorted(run.taskId for run in runs),
                         ['t1', 't2', 't3', 't9'])

    def test_ids_tell_the_partition_and_are_listed_in_order(self):
        ids = [int(name) for name in self.partitioned]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))
        for name in self.partitioned.keys()[:20]:
            number = int(name) % 4
            self.assertIn(int(name),
                          self.partitioned._partitions[number].tracks)
            self.assertEqual(self.partitioned[name].__name__, name)

    def test_updates_and_removals(self):
        for storage in (self.single, self.partitioned):
            self.change(storage)
        self.assertSameAnswers()

    @mock.patch('time.time', lambda: 1800000000.5)
    def change(self, storage):
        """The same changes, at the same (fixed) time."""
        tracks = list(storage.query(userName='u2'))
        storage.updateTrack(tracks[3], {'state': 'done'})
        storage.saveUserTrack('t1', 0, 'u5', {'state': 'x'}, update=True,
                              timeStamp=1700009999)
        for track in tracks[5:9]:
            storage.removeTrack(track)
        last = storage.getLastUserTrack('t2', 0, 'u6')
        storage.removeTrack(last)

    def test_reindex_tracks(self):
        for index in self.partitioned._indexes():
            index.timeline.clear()
        self.assertTrue(self.partitioned.checkIndexes())
        self.partitioned.reindexTracks()
        self.assertSameAnswers()

    def test_index_kinds_agree_across_partitions(self):
        # 'state' holds strings (in all partitions): an int is refused,
        # whichever partition the track would go to
        for number in range(4):
            self.partitioned._v_partition = number
            with self.assertRaises(TypeError):
                self.partitioned.saveUserTrack('t1', 0, 'u1', {'state': 5})
        self.assertSameAnswers()

    def test_bad_partition_counts(self):
        for count, error in ((0, ValueError), (257, ValueError),
                             ('4', TypeError), (True, TypeError)):
            with self.assertRaises(error):
                TrackingStorage(partitions=count)


class MergedKeysTest(unittest.TestCase):

    def test_merge(self):
        parts = [[1, 4, 7, 10], [2, 5, 8], [], [3, 6, 9]]
        self.assertEqual(mergeKeys([[], []]), [])
        self.assertEqual(mergeKeys([[], [1, 2]]), [1, 2])
        merged = mergeKeys(parts)
        self.assertIsInstance(merged, MergedKeys)
        self.assertEqual(len(merged), 10)
        self.assertEqual(list(merged), list(range(1, 11)))
        self.assertEqual(list(reversed(merged)), list(range(10, 0, -1)))
        expected = list(range(1, 11))
        for page in (slice(0, 3), slice(7, 10), slice(8, 20), slice(5, 5),
                     slice(-4, -1), slice(2, 9)):
            self.assertEqual(merged[page], expected[page])
        self.assertEqual([merged[i] for i in (0, 5, -1)], [1, 6, 10])
        with self.assertRaises(IndexError):
            merged[10]


class PartitionChoiceTest(unittest.TestCase):
    """A writer keeps its partition until a commit fails."""

    def setUp(self):
        self.db = DB(MappingStorage())
        conn = self.db.open()
        conn.root()['tracks'] = TrackingStorage(partitions=8)
        transaction.commit()
        conn.close()

    def tearDown(self):
        self.db.close()

    def writer(self):
        manager = transaction.TransactionManager()
        storage = self.db.open(transaction_manager=manager).root()['tracks']
        return manager, storage

    def test_the_partition_is_kept_across_commits(self):
        manager, storage = self.writer()
        storage.saveUserTrack('t', 0, 'u', {})
        manager.commit()
        chosen = storage._v_partition
        for i in range(5):
            storage.saveUserTrack('t', 0, 'u', {'i': i})
            manager.commit()
        self.assertEqual({int(name) % 8 for name in storage}, {chosen})

    def test_a_failed_commit_makes_the_writer_choose_again(self):
        manager1, storage1 = self.writer()
        manager2, storage2 = self.writer()
        storage1.startRun('t')
        manager1.commit()
        manager2.begin()
        storage2._v_partition = storage1._v_partition = 3
        storage1.saveUserTrack('t', 0, 'u1', {})
        storage2.saveUserTrack('t', 0, 'u2', {})
        manager1.commit()
        with self.assertRaises(ConflictError):
            manager2.commit()
        manager2.abort()
        self.assertIsNone(storage2._v_partition)
        self.assertEqual(storage1._v_partition, 3)
