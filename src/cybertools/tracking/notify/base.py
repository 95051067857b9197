"""The notification track and the index values it needs.

``NotificationManager`` can be imported from here too, where the original
kept it.
"""

from zope.component import adapter
from zope.component import queryAdapter
from zope.interface import implementer
from zope.schema import getFieldNamesInOrder

from cybertools.tracking.btree import Track
from cybertools.tracking.indexing import TrackIndexData
from cybertools.tracking.interfaces import ITrackIndexData
from cybertools.tracking.notify.interfaces import INotification
from cybertools.tracking.notify.interfaces import IReadNotification

# The fields a notification keeps in its data, in the order of the schema.
FIELDS = tuple(name for name in getFieldNamesInOrder(IReadNotification)
               if name in IReadNotification.names())

# Values of fields a notification's data lacks (None for the others).
DEFAULTS = {'state': 'new', 'priority': 'info', 'media': ['inbox'],
            'actionsPossible': [], 'actionsTaken': []}

def userStateKey(userName, state):
    """The value of the ``userState`` index: recipient and state in one
    string, so that a user's notifications in a state are one index entry.
    (States contain no colon, so the value is unambiguous.)"""
    return '%s:%s' % (userName, state)


def _dataField(name):
    """A read-only attribute giving a field of the notification's data."""
    default = DEFAULTS.get(name)

    def get(self):
        value = self.data.get(name)
        if value is None:
            return list(default) if isinstance(default, list) else default
        return value

    return property(get, doc=IReadNotification[name].title)


@implementer(INotification)
class Notification(Track):
    """A track telling ``userName`` about the object ``taskId``.

    The fields of ``IReadNotification`` are read from the track's data.
    """

    typeName = 'Notification'
    index_attributes = Track.metadata_attributes + (
        'type', 'state', 'priority', 'userState')

    type = _dataField('type')
    state = _dataField('state')
    priority = _dataField('priority')
    parent = _dataField('parent')
    eventType = _dataField('eventType')
    media = _dataField('media')
    timingType = _dataField('timingType')
    timing = _dataField('timing')
    deliveryInfo = _dataField('deliveryInfo')
    actionsPossible = _dataField('actionsPossible')
    actionsTaken = _dataField('actionsTaken')

    def __conform__(self, interface):
        # Index values without a registration (the original needed none):
        # a registered adapter wins, NotificationIndexData is the default.
        if interface is ITrackIndexData:
            return (queryAdapter(self, ITrackIndexData)
                    or NotificationIndexData(self))
        return None


@implementer(ITrackIndexData)
@adapter(INotification)
class NotificationIndexData(TrackIndexData):
    """Index values of a notification: the metadata, its type, state and
    priority, and ``userState`` (see ``userStateKey``), from which the
    manager counts a user's unread notifications without loading any."""

    def getIndexValues(self):
        values = super().getIndexValues()
        notification = self.context
        values['state'] = notification.state
        values['priority'] = notification.priority
        values['userState'] = userStateKey(notification.userName,
                                           notification.state)
        return values


def __getattr__(name):
    # manager.py imports this module, so its class is imported on demand
    if name == 'NotificationManager':
        from cybertools.tracking.notify.manager import NotificationManager
        return NotificationManager
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
