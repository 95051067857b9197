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

It also keeps a log of the last changes with the ids of the tracks they
changed (``LOG_SIZE``), so that a connection whose pending tracks are
behind by a few changes reads those tracks anew, not all of them (a save
with ``update=True`` in one thread of a server made every other thread
read thousands of pending tracks).
"""

from persistent import Persistent
from ZODB.POSException import ConflictError


# How many changes the log keeps.
LOG_SIZE = 256


class PendingChanges(Persistent):
    """The number of changes of pending tracks and of merges (what a
    connection compares to see whether its pending tracks are still what
    is stored), and the log of the last changes: (count after the change,
    track id) pairs, complete for the counts above ``logFrom``."""

    log = ()
    logFrom = None

    def __init__(self, changes=0):
        self.changes = changes
        self.merges = 0
        self.logFrom = changes

    def __call__(self):
        return self.changes + self.merges

    def change(self, delta=1, trackId=None):
        """Pending tracks were changed: the one of ``trackId`` (changed or
        removed), or others not told (then the log starts afresh)."""
        self.changes += delta
        count = self()
        if trackId is None:
            self.log, self.logFrom = (), count
            return
        self.log, self.logFrom = _trimmed(self.log + ((count, trackId),),
                                          self.logFrom)

    def merged(self):
        self.merges += 1
        self.log, self.logFrom = (), self()

    def changedSince(self, count):
        """The ids of the tracks changed since the count was ``count``, in
        the order of the changes; None where the log does not tell."""
        logFrom = self.logFrom
        if logFrom is None or not logFrom <= count <= self():
            return None
        return [trackId for number, trackId in self.log if number > count]

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
        # the changes here come after those there: numbered on from them
        before = changes + merges
        shift = committed.get('changes', 0) - changes
        logFrom = committed.get('logFrom')
        newFrom = new.get('logFrom')
        if logFrom is not None and newFrom is not None and newFrom > before:
            logFrom = max(logFrom, newFrom + shift)
        elif newFrom is None:
            logFrom = None
        log = tuple(committed.get('log', ())) + tuple(
            (number + shift, trackId) for number, trackId in new.get('log', ())
            if number > before)
        if logFrom is None:
            log = ()
        resolved['log'], resolved['logFrom'] = _trimmed(log, logFrom)
        return resolved


def _trimmed(log, logFrom):
    """(log, logFrom) with at most LOG_SIZE changes in the log."""
    if len(log) > LOG_SIZE:
        logFrom = log[-LOG_SIZE - 1][0]
        log = log[-LOG_SIZE:]
    return log, logFrom
