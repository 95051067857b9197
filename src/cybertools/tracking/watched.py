"""Telling a connection that the records or the timeline it read may have
changed.

A track object in use keeps the record it was made from, and a result
finds its tracks by their order keys in the timeline (see btree.py). To
give out a track again, a result can look up both, to see that the key
still belongs to the track and that the record is still the one the track
was made from: two C-level BTree lookups per track, most of what a result
of tracks in use cost.

ZODB knows when either can have changed: a bucket of the records or of
the timeline is invalidated (another connection committed a change to
it, or this one rolled back its own) or a node of their trees is loaded
anew (what is below it may have changed while it was out of the cache).
``Watched`` buckets and trees count each such event on their connection
(``changesOf``); a session that has seen no count since it checked a
track gives it out again without the lookups (see
``TrackSession.checkedKeys``). Of its own changes to the index it hears
itself (``TrackSession.indexChanging``). Under concurrent writers the
count moves with nearly every transaction, and results check every track
as before.

The same events tell a session that what a result found may be about to
change under it: a savepoint's rollback or an abort invalidates the
buckets changed since, and the connection's listeners (``Changes.
listeners``) hear of it first, while the timeline is still as the result
found it (see ``TrackSession.resolveHeldKeys``).
"""

import weakref


class Changes:
    """How often the watched state of a connection changed."""

    __slots__ = ('count', 'listeners', '__weakref__')

    def __init__(self):
        self.count = 0
        # weak references to what is called before a watched object is
        # invalidated
        self.listeners = []


_changes = weakref.WeakKeyDictionary()     # connection: Changes


def changesOf(jar):
    """The Changes of a connection (counted from now on)."""
    changes = _changes.get(jar)
    if changes is None:
        changes = _changes[jar] = Changes()
    return changes


def _changed(obj, invalidated=False):
    jar = obj._p_jar
    if jar is not None:
        changes = _changes.get(jar)
        if changes is not None:
            changes.count += 1
            if invalidated:
                for listener in changes.listeners:
                    method = listener()
                    if method is not None:
                        method()


class Watched:
    """A bucket whose invalidations its connection counts (the first of a
    class's bases, so that every one is counted).

    A bucket loaded anew counts nothing: while it is in the cache, a ghost
    or not, it hears of every change; it leaves the cache only once the
    tree node above it is a ghost, and that node counts when it is loaded
    anew (``WatchedTree``). So a long-running reader that loads buckets
    keeps the tracks it checked."""

    def _p_invalidate(self):
        _changed(self, invalidated=True)
        super()._p_invalidate()


class WatchedTree(Watched):
    """A tree (a node of it) whose invalidations and loads its connection
    counts."""

    def __setstate__(self, state):
        # (BTrees resolves conflicts with objects in no connection: those
        # count nothing)
        _changed(self)
        super().__setstate__(state)
