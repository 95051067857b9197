"""Module-level names of the original cybertools.tracking that its users
import from ``cybertools.tracking.btree``: ``getTimeStamp``,
``timeStamp2ISO`` and the ``unindexTrack`` subscriber.

They keep the original's meaning, which is not always the storage's own:
``getTimeStamp`` gives whole seconds (the storage keeps fractions) and
``timeStamp2ISO`` shows local time by default (representations and views
show UTC). Nothing here imports btree.py, so btree.py can re-export them.
"""

import time

import transaction
from zope.component import adapter
from zope.lifecycleevent.interfaces import IObjectRemovedEvent

from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackRemovedEvent


def getTimeStamp():
    """The current time in whole seconds since the epoch, an int."""
    return int(time.time())


def timeStamp2ISO(ts, useGM=False, format='%Y-%m-%d %H:%M'):
    """A time stamp as text, by default ``'YYYY-MM-DD HH:MM'`` in local time
    (in UTC with ``useGM``); ``None`` is the current time."""
    if ts is None:
        ts = time.time()
    convert = time.gmtime if useGM else time.localtime
    return time.strftime(format, convert(ts))


@adapter(ITrack, IObjectRemovedEvent)
def unindexTrack(track, event):
    """A track was announced as removed: see that it is gone at commit.

    The original's users announce a removal first and delete second::

        notify(ObjectRemovedEvent(track))
        del storage[track.__name__]

    so the announcement must not remove the track itself (the ``del``
    would fail). Instead, a track still stored when its transaction commits
    is removed then, which also covers an announcement that no ``del``
    follows. The storage's own removals (``ITrackRemovedEvent``) need
    nothing.
    """
    if ITrackRemovedEvent.providedBy(event):
        return
    storage = track.__parent__
    name = track.__name__
    if storage is None or name is None or name not in storage:
        return
    jar = getattr(storage, '_p_jar', None)
    manager = transaction.manager if jar is None else jar.transaction_manager
    manager.get().addBeforeCommitHook(_removeIfStored, (storage, name))


def _removeIfStored(storage, name):
    track = storage.get(name)
    if track is not None:
        storage.removeTrack(track)
