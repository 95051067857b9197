"""Ids for tracks and runs that concurrent writers do not compete for.

Ids live in *lanes*, ranges of 2**40 ids. A writer (a connection) takes
the next id after the highest one of its lane, so one writer alone gets
1, 2, 3, ... in lane 0. Two writers taking the same id both insert it into
the same BTree bucket, and the second commit fails; a writer whose commit
failed moves to a lane of its own, chosen at random among 2**22, so that
from then on concurrent writers insert into different buckets. Writers of
one process (the threads of a server) do not even meet once: only one of
them at a time uses lane 0. (This is zope.intid's idea of spreading ids,
keeping sequential ids for the common case of one writer.)

For tracks, each lane also keeps its *mark*: the highest id merged into
the indexes. The tracks above the mark are pending (see btree.py).

Tracks of one time stamp (to the microsecond) stand in the order of their
ids until they are merged, and a merge puts them after those of that time
merged before: the order they were saved in for one writer. Of tracks of
one time stamp that writers in different lanes saved at the same time,
those of the lower lane come first among the pending ones (save order
between them is not known to the storage).
"""

import random
import threading
import weakref

import BTrees
from BTrees.Length import Length
from persistent import Persistent

LANE_BITS = 40
LANE_SIZE = 1 << LANE_BITS
LANE_COUNT = 1 << 22


def laneOf(id):
    return id >> LANE_BITS << LANE_BITS


# Within one process the writers know of each other: the session (see
# session.py) that holds lane 0 of a storage, per kind of id. Another
# connection of the process writing the same storage starts in a lane of
# its own, so threads of one server never compete for ids at all.
_laneZero = weakref.WeakValueDictionary()
_laneZeroLock = threading.Lock()


def _mayUseLaneZero(session, kind):
    key = session.storageKey()
    if key is None:
        return True
    key += (kind,)
    with _laneZeroLock:
        holder = _laneZero.get(key)
        if holder is None or holder is session:
            _laneZero[key] = session
            return True
    return False


class Lanes(Persistent):
    """The lanes in use for one kind of id: lane start -> mark, and the
    highest id removed while pending (so that no id is given twice)."""

    family = BTrees.family64

    def __init__(self):
        self._marks = self.family.II.BTree({0: 0})
        self._floors = self.family.II.BTree()
        # how many entries each lane has: a counter of its own per lane,
        # so that writers in different lanes do not write one counter
        self._counts = self.family.IO.BTree({0: Length()})

    def count(self):
        return sum(counter() for counter in self._counts.values())

    # (laneOf inlined below: these are on the path of every save)

    def counted(self, id, change):
        lane = id >> LANE_BITS << LANE_BITS
        counter = self._counts.get(lane)
        if counter is None:
            counter = self._counts[lane] = Length()
        counter.change(change)

    def laneOf(self, id):
        return laneOf(id)

    def marks(self):
        return tuple(self._marks.items())

    def merged(self, id):
        """The mark of the lane of an id."""
        lane = id >> LANE_BITS << LANE_BITS
        return self._marks.get(lane, lane - 1 if lane else 0)

    def lastId(self, tree, lane):
        """The highest id of a lane in a tree keyed by these ids."""
        try:
            last = tree.maxKey(lane + LANE_SIZE - 1)
        except ValueError:      # no key that low
            return None
        return last if last >= lane else None

    def newId(self, tree, session, kind):
        """The next id for a new entry of ``tree`` in the writer's lane."""
        txn = session.transaction_manager.get()
        state = session.ids.get(kind)
        if state is not None and state[0] is txn and state[1] is not None:
            nextId, lane = state[1], state[2]
        else:
            lane = session.lanes.get(kind)
            if lane is None:
                lane = session.lanes[kind] = (
                    0 if _mayUseLaneZero(session, kind) else None)
            if lane is None or session.moveLanes.pop(kind, False) or \
                    lane not in self._marks:
                lane = self._newLane(session, kind)
            nextId = max(self.lastId(tree, lane) or 0, self.merged(lane),
                         self._floors.get(lane, 0), lane) + 1
        if nextId >= lane + LANE_SIZE:
            lane = self._newLane(session, kind)
            nextId = lane + 1
        session.ids[kind] = (txn, nextId + 1, lane)
        return nextId

    def _newLane(self, session, kind):
        while True:
            lane = random.randrange(1, LANE_COUNT) << LANE_BITS
            if lane not in self._marks:
                break
        self._marks[lane] = lane - 1
        session.lanes[kind] = lane
        return lane

    def taken(self, id):
        """An id given from outside (restoring): its lane is known."""
        lane = laneOf(id)
        if lane not in self._marks:
            self._marks[lane] = lane - 1 if lane else 0

    def removed(self, id):
        """An id removed: never give it again."""
        lane = laneOf(id)
        if id > self.merged(id) and id > self._floors.get(lane, 0):
            self._floors[lane] = id

    # pending ids (tracks)

    def pendingIds(self, tree):
        """(lane, mark, ids above the mark) for each lane with such ids."""
        for lane, mark in self._marks.items():
            ids = list(tree.keys(mark + 1, lane + LANE_SIZE - 1))
            if ids:
                yield lane, mark, ids

    def setMerged(self, lane, id):
        self._marks[lane] = id

    def setAllMerged(self, tree):
        for lane, mark in list(self._marks.items()):
            last = self.lastId(tree, lane)
            if last is not None and last > mark:
                self._marks[lane] = last

    def mergedIds(self, tree):
        for lane, mark in self._marks.items():
            low = lane if lane else 1
            if mark >= low:
                yield from tree.keys(low, mark)


class LaneTrees(Persistent):
    """A mapping from ids to values kept in one BTree per lane, so that
    writers in different lanes never change the same BTree nodes (BTrees
    check the nodes on the path of every change they make: a bucket split
    in a shared tree would conflict with every writer of that tree).

    It offers what the storage uses of an IOBTree; keys come in order.
    The trees are of ``treeClass`` (LO BTrees if not given, and in
    storages made before there was a choice).
    """

    family = BTrees.family64
    _treeClass = BTrees.family64.IO.BTree

    def __init__(self, treeClass=None):
        self._trees = self.family.IO.BTree()     # lane start: tree
        if treeClass is not None:
            self._treeClass = treeClass

    def _tree(self, id, create=False):
        lane = laneOf(id)
        tree = self._trees.get(lane)
        if tree is None and create:
            tree = self._trees[lane] = self._treeClass()
        return tree

    # (the lookups inline _tree: they are on the path of every read)

    def __getitem__(self, id):
        tree = self._trees.get(id >> LANE_BITS << LANE_BITS)
        if tree is None:
            raise KeyError(id)
        return tree[id]

    def get(self, id, default=None):
        tree = self._trees.get(id >> LANE_BITS << LANE_BITS)
        return default if tree is None else tree.get(id, default)

    def laneTree(self, lane):
        """The tree of a lane (by its start), or None."""
        return self._trees.get(lane)

    def __contains__(self, id):
        tree = self._tree(id)
        return tree is not None and id in tree

    def __setitem__(self, id, value):
        tree = self._trees.get(id >> LANE_BITS << LANE_BITS)
        if tree is None:
            tree = self._tree(id, create=True)
        tree[id] = value

    def __delitem__(self, id):
        tree = self._tree(id)
        if tree is None:
            raise KeyError(id)
        del tree[id]

    def __len__(self):
        return sum(len(tree) for tree in self._trees.values())

    def maxKey(self, max):
        """The highest id up to ``max`` within the lane of ``max``."""
        tree = self._tree(max)
        if tree is None:
            raise ValueError('no key')
        return tree.maxKey(max)

    def _ranges(self, min=None, max=None):
        low = None if min is None else laneOf(min)
        for lane, tree in self._trees.items(low, max):
            yield tree.items(min, max)

    def items(self, min=None, max=None):
        for items in self._ranges(min, max):
            yield from items

    def keys(self, min=None, max=None):
        for items in self._ranges(min, max):
            for id, value in items:
                yield id

    def values(self):
        for id, value in self.items():
            yield value
