"""Ids for tracks and runs that concurrent writers do not compete for.

Ids live in *lanes*, ranges of 2**40 ids. A writer (a connection) takes
the next id after the highest one of its lane, so one writer alone gets
1, 2, 3, ... in lane 0. Two writers taking the same id both insert it into
the same BTree bucket, and the second commit fails; a writer whose commit
failed moves to a lane of its own, chosen at random among 2**22, so that
from then on concurrent writers insert into different buckets. (This is
zope.intid's idea of spreading ids, keeping sequential ids for the common
case of one writer.)

For tracks, each lane also keeps its *mark*: the highest id merged into
the indexes. The tracks above the mark are pending (see btree.py).
"""

import random

import BTrees
from persistent import Persistent

LANE_BITS = 40
LANE_SIZE = 1 << LANE_BITS
LANE_COUNT = 1 << 22


def laneOf(id):
    return id >> LANE_BITS << LANE_BITS


class Lanes(Persistent):
    """The lanes in use for one kind of id: lane start -> mark, and the
    highest id removed while pending (so that no id is given twice)."""

    family = BTrees.family64

    def __init__(self):
        self._marks = self.family.II.BTree({0: 0})
        self._floors = self.family.II.BTree()

    def laneOf(self, id):
        return laneOf(id)

    def marks(self):
        return tuple(self._marks.items())

    def merged(self, id):
        """The mark of the lane of an id."""
        lane = laneOf(id)
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
        if state is not None and state[0] is txn:
            nextId, lane = state[1], state[2]
        else:
            lane = session.lanes.get(kind, 0)
            if session.moveLanes.pop(kind, False) or lane not in self._marks:
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
