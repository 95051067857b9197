"""A subscriber of the test application to the tracking events."""

from zope.component import adapter

from cybertools.tracking.interfaces import IRun
from cybertools.tracking.interfaces import IRunEvent
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackAddedEvent

received = []


@adapter(ITrack, ITrackAddedEvent)
def trackAdded(track, event):
    received.append('added %s %s %s' % (event.newName, track.taskId,
                                        track.userName))


@adapter(IRun, IRunEvent)
def runChanged(run, event):
    received.append('%s run %s' % (type(event).__name__, run.id))
