"""How often a storage's pending tracks changed, and the guard that keeps a
merge from indexing what another transaction changed meanwhile.

A merge (``TrackingStorage.indexPending``) indexes the pending tracks as
its transaction sees them, and writes index buckets and the lanes' marks;
an update or a removal of a pending track in another transaction writes
the track's record and no index at all (the track is not indexed yet).
The two write different objects, so ZODB saw no conflict, both
committed, and the track stayed indexed with the values it had before the
change: under the old time stamp or user, or twice after the next change.

Both write ``PendingChanges`` instead, whose conflict resolution lets
changes of pending tracks committed at once add up (as ``BTrees.Length``
does: writers changing their own pending tracks never conflict) and
refuses a merge committed at the same time as a change or another merge.
The transaction that commits second gets a ConflictError and is retried,
and then sees the other's work: the merge indexes the changed track as it
is now, or the change finds the track merged and moves its index entries.
"""

from persistent import Persistent
from ZODB.POSException import ConflictError


class PendingChanges(Persistent):
    """The number of changes of pending tracks (what a connection compares
    to see whether its pending tracks are still what is stored) and of
    merges."""

    def __init__(self, changes=0):
        self.changes = changes
        self.merges = 0

    def __call__(self):
        return self.changes + self.merges

    def change(self, delta=1):
        """A pending track was changed, removed or added out of turn."""
        self.changes += delta

    def merged(self):
        self.merges += 1

    def _p_resolveConflict(self, old, committed, new):
        merges = old.get('merges', 0)
        mergedThere = committed.get('merges', 0) != merges
        mergedHere = new.get('merges', 0) != merges
        changes = old.get('changes', 0)
        changedThere = committed.get('changes', 0) != changes
        changedHere = new.get('changes', 0) != changes
        if mergedThere and (mergedHere or changedHere) or \
                mergedHere and changedThere:
            raise ConflictError('a merge of the pending tracks and a change '
                                'of one of them (or another merge) at once')
        resolved = dict(committed)
        resolved['changes'] = committed.get('changes', 0) + \
            new.get('changes', 0) - changes
        return resolved
