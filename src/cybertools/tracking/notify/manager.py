"""The notification manager: makes, finds, changes and removes the
notifications of a storage."""

import math
import time

from zope.component import adapter
from zope.interface import implementer
from zope.interface.interfaces import ComponentLookupError
from zope.schema import Choice
from zope.schema import List
from zope.schema import ValidationError
from zope.security.proxy import removeSecurityProxy

from cybertools.tracking.indexing import getIndexValues
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.notify.base import FIELDS
from cybertools.tracking.notify.base import userStateKey
from cybertools.tracking.notify.interfaces import ACTIONS
from cybertools.tracking.notify.interfaces import INotification
from cybertools.tracking.notify.interfaces import INotificationManager
from cybertools.tracking.notify.interfaces import IReadNotification
from cybertools.tracking.notify.interfaces import ORIGINAL_MEDIA
from cybertools.tracking.notify.interfaces import ORIGINAL_PRIORITIES
from cybertools.tracking.notify.interfaces import READ_STATES
from cybertools.tracking.validation import checkName

# Set by the manager, not by the caller of ``notify``.
MANAGED = ('type', 'state', 'actionsTaken')

DAY = 86400


@implementer(INotificationManager)
@adapter(ITrackingStorage)
class NotificationManager:
    """Makes, finds, changes and removes the notifications of a storage.

    Adapting a storage that cannot keep notifications raises TypeError
    (its track factory is not a notification class) or ComponentLookupError
    (the index values of notifications are not registered).
    """

    def __init__(self, context):
        self.context = self.__parent__ = context
        _checkStorage(removeSecurityProxy(context))

    # query

    def query(self, **criteria):
        priority = criteria.get('priority')
        if isinstance(priority, str):
            criteria['priority'] = ORIGINAL_PRIORITIES.get(priority, priority)
        elif isinstance(priority, (list, tuple)):
            criteria['priority'] = [
                ORIGINAL_PRIORITIES.get(value, value)
                if isinstance(value, str) else value for value in priority]
        return self.context.query(**criteria)

    def unreadCount(self, userName):
        key = userStateKey(checkName(userName, 'userName'), 'new')
        return len(self.context.query(userState=key))

    # write

    def notify(self, taskId, userName, ntfType, media=None, priority='info',
               **kw):
        # a notification is for someone: no anonymous user here
        checkName(userName, 'userName')
        for name in MANAGED:
            if name in kw:
                raise ValueError('%s cannot be given: the manager sets it'
                                 % name)
        if media is None:
            media = ['inbox']
        elif isinstance(media, str):
            media = [media]
        if isinstance(media, (list, tuple)):
            media = [ORIGINAL_MEDIA.get(medium, medium)
                     if isinstance(medium, str) else medium
                     for medium in media]
        if isinstance(priority, str):
            priority = ORIGINAL_PRIORITIES.get(priority, priority)
        fields = dict(type=ntfType, priority=priority, media=media)
        fields.update((name, value) for name, value in kw.items()
                      if name in FIELDS and value is not None)
        for name, value in fields.items():
            if isinstance(value, tuple):
                value = fields[name] = list(value)
            _validate(name, value)
        runId = 0
        parent = fields.get('parent')
        if parent is not None:
            try:
                runId = self.context[parent].runId
            except KeyError:
                raise ValueError('parent %r is not a notification in this '
                                 'storage' % (parent,)) from None
        data = {'type': fields['type'], 'state': 'new'}
        data.update(fields)
        data.update((name, value) for name, value in kw.items()
                    if name not in FIELDS)
        return self.context.saveUserTrack(taskId, runId, userName, data)

    def markRead(self, id):
        notification = self.context[id]
        if notification.state != 'new':
            return False
        self.context.updateTrack(notification, {'state': 'read'})
        return True

    def markAllRead(self, userName):
        key = userStateKey(checkName(userName, 'userName'), 'new')
        # all of them first: each change moves a notification out of the
        # index entry the result comes from
        unread = list(self.context.query(userState=key))
        for notification in unread:
            self.context.updateTrack(notification, {'state': 'read'})
        return len(unread)

    def recordAction(self, id, action):
        notification = self.context[id]
        possible = notification.actionsPossible or list(ACTIONS)
        if action not in possible:
            raise ValueError('action %r is not possible for notification %s '
                             '(possible: %s)'
                             % (action, id, ', '.join(possible)))
        state = 'ignored' if action == 'ignore' else 'done'
        # list(): a plain list, also where the notification is proxied
        taken = list(notification.actionsTaken) + [action]
        self.context.updateTrack(notification, {'state': state,
                                                'actionsTaken': taken})
        return state

    # manage

    def cleanUp(self, age=1, removeIgnored=False):
        if isinstance(age, bool) or not isinstance(age, (int, float)):
            raise TypeError('age must be a number of days, not %s'
                            % type(age).__name__)
        try:
            age = float(age)
        except OverflowError:
            raise ValueError('age is too large a number of days') from None
        if not (math.isfinite(age) and age >= 0):
            raise ValueError('age must be a number of days >= 0: %r'
                             % (age,))
        before = time.time() - age * DAY
        if before < 0:
            return 0
        states = READ_STATES + (('ignored',) if removeIgnored else ())
        old = []
        for state in states:
            # one index entry per state: a range of its keys, not a merge
            old.extend(self.context.query(state=state, timeTo=before))
        for notification in old:
            self.context.removeTrack(notification)
        return len(old)


def _checkStorage(storage):
    factory = storage.trackFactory
    if not INotification.implementedBy(factory):
        raise TypeError('the storage keeps %s tracks, not notifications '
                        '(create it with TrackingStorage(trackFactory='
                        'Notification))' % factory.__name__)
    if 'userState' not in storage.indexAttributes:
        raise TypeError("the storage has no 'userState' index (its track "
                        'factory %s must index it)' % factory.__name__)
    # four arguments: track classes written for the original take no more
    probe = factory('probe', 1, 'probe', {'state': 'new'})
    probe.timeStamp = 0.0
    if getIndexValues(probe).get('userState') != userStateKey('probe', 'new'):
        raise ComponentLookupError(
            'no ITrackIndexData adapter gives notifications their '
            "'userState' index value: load the configure.zcml of "
            'cybertools.tracking.notify or provideAdapter('
            'NotificationIndexData)')


def _validate(name, value):
    """Refuse a value the field does not allow, with a ValueError."""
    field = IReadNotification[name]
    choice = field if isinstance(field, Choice) else (
        field.value_type if isinstance(field, List)
        and isinstance(field.value_type, Choice) else None)
    if choice is not None:
        allowed = [term.value for term in choice.vocabulary]
        values = value if choice is not field and isinstance(value, list) \
            else [value]
        for item in values:
            if item not in allowed:
                raise ValueError('unknown %s %r (allowed: %s)'
                                 % (name, item, ', '.join(allowed)))
    try:
        field.validate(value)
    except ValidationError as error:
        raise ValueError('%s: %r is not allowed (%s)'
                         % (name, value, error.doc().rstrip('.').lower())
                         ) from None
