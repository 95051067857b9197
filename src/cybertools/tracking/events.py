"""The events a tracking storage notifies."""

from zope.interface import implementer
from zope.interface.interfaces import ObjectEvent
from zope.lifecycleevent import ObjectAddedEvent
from zope.lifecycleevent import ObjectModifiedEvent
from zope.lifecycleevent import ObjectRemovedEvent

from cybertools.tracking.interfaces import IRunStartedEvent
from cybertools.tracking.interfaces import IRunStoppedEvent
from cybertools.tracking.interfaces import ITrackAddedEvent
from cybertools.tracking.interfaces import ITrackModifiedEvent
from cybertools.tracking.interfaces import ITrackRemovedEvent


@implementer(ITrackAddedEvent)
class TrackAddedEvent(ObjectAddedEvent):
    """A track was saved in a storage."""


@implementer(ITrackModifiedEvent)
class TrackModifiedEvent(ObjectModifiedEvent):
    """A track was updated."""


@implementer(ITrackRemovedEvent)
class TrackRemovedEvent(ObjectRemovedEvent):
    """A track was removed from a storage."""


class RunEvent(ObjectEvent):

    def __init__(self, run, storage):
        super().__init__(run)
        self.storage = storage


@implementer(IRunStartedEvent)
class RunStartedEvent(RunEvent):
    """A run was started."""


@implementer(IRunStoppedEvent)
class RunStoppedEvent(RunEvent):
    """A run was stopped."""
