"""Interfaces of notifications and of the notification manager.

A notification is a track: its ``taskId`` is the object it is about, its
``userName`` the recipient, its ``runId`` groups notifications that belong
together, and its ``data`` holds the fields of ``IReadNotification``.

The manager's API is split by the permission that protects it, like the
storage's: ``INotificationManagerQuery`` (cybertools.tracking.View),
``INotificationManagerWrite`` (cybertools.tracking.Save) and
``INotificationManagerManage`` (cybertools.tracking.Manage), combined in
``INotificationManager``.
"""

from zope.interface import Interface
from zope.schema import Choice
from zope.schema import Dict
from zope.schema import List
from zope.schema import Real
from zope.schema import TextLine

from cybertools.tracking.interfaces import IReadTrack
from cybertools.tracking.interfaces import ITrack

# The life of a notification: it arrives 'new' (unread); the recipient
# reads it ('read'), acts on it ('done') or dismisses it ('ignored').
STATES = ('new', 'read', 'done', 'ignored')

# The states of notifications that ``cleanUp`` removes once they are old:
# read or acted on; 'ignored' only when asked to.
READ_STATES = ('read', 'done')

PRIORITIES = ('info', 'warning', 'urgent')

# The original's priorities, accepted and stored as these.
ORIGINAL_PRIORITIES = {'normal': 'info', 'important': 'warning',
                       'critical': 'urgent'}

# Where a notification is presented: the application's inbox (the
# notification storage itself), an email, a short text message, an instant
# message, a news feed. Delivering to all but the inbox is left to the
# application (see README.txt).
MEDIA = ('inbox', 'email', 'sms', 'im', 'rss')

# The original's name of a medium that has another name here.
ORIGINAL_MEDIA = {'mail': 'email'}

# When a notification is to be delivered: at once, collected in an hourly
# or daily digest, or at the times given in ``timing``.
TIMING_TYPES = ('immediate', 'hourly', 'daily', 'explicit')

# What a recipient may do in response. 'ignore' leaves the notification
# 'ignored', every other action leaves it 'done'.
ACTIONS = ('accept', 'reject', 'note', 'delegate', 'ignore')


class IReadNotification(IReadTrack):
    """The fields of a notification.

    A notification tells a recipient (``userName``, a user or principal id)
    about an event concerning an object (``taskId``, e.g. the object's path
    or intid). Its fields are kept in the track's ``data``, under their own
    names; the attributes below read them from there. Fields that were not
    given when the notification was made have their default values.
    Notifications are changed through the ``INotificationManager`` only, so
    that the state changes are checked, notified and indexed.
    """

    type = TextLine(
        title='Type',
        description='What the notification says, a token chosen by the '
                    "application, e.g. 'object_changed', 'object_new', "
                    "'invitation', 'assignment'.",
        min_length=1,
        readonly=True)

    state = Choice(
        title='State',
        description="'new' (unread) when it is made, then 'read', 'done' "
                    "(an action was taken) or 'ignored'.",
        values=STATES,
        default='new',
        readonly=True)

    priority = Choice(
        title='Priority',
        description="How important it is: 'info', 'warning' or 'urgent' "
                    "(the original's 'normal', 'important' and 'critical' "
                    "are taken as these).",
        values=PRIORITIES,
        default='info',
        readonly=True)

    parent = TextLine(
        title='Parent',
        description='The id of the notification that caused this one (a '
                    'reminder, a forwarded or delegated notification), or '
                    'None. A notification with a parent is saved in its '
                    "parent's run.",
        required=False,
        readonly=True)

    eventType = TextLine(
        title='Event type',
        description='The kind of event that caused the notification, e.g. '
                    "'modified' or an event interface's name.",
        required=False,
        readonly=True)

    media = List(
        title='Media',
        description="Where to present the notification: 'inbox' (the "
                    "application's list of notifications), 'email' (the "
                    "original's 'mail'), 'sms', 'im', 'rss'. "
                    "At least one; ['inbox'] unless given.",
        value_type=Choice(values=MEDIA),
        min_length=1,
        unique=True,
        readonly=True)

    timingType = Choice(
        title='Timing type',
        description="When to deliver it: 'immediate', 'hourly' or 'daily' "
                    "(a digest), 'explicit' (at the times of ``timing``); "
                    'None leaves it to the application.',
        values=TIMING_TYPES,
        required=False,
        readonly=True)

    timing = List(
        title='Timing',
        description='Points in time (seconds since the epoch, UTC) whose '
                    'meaning depends on the timing type, e.g. the times of '
                    "delivery for 'explicit'.",
        value_type=Real(),
        required=False,
        readonly=True)

    deliveryInfo = Dict(
        title='Delivery information',
        description='What delivery on the media needs, e.g. '
                    "{'email': 'alice@example.com'}.",
        key_type=TextLine(),
        required=False,
        readonly=True)

    actionsPossible = List(
        title='Possible actions',
        description='The actions the recipient is offered: some of '
                    "'accept', 'reject', 'note', 'delegate', 'ignore'. "
                    'Empty means any of them.',
        value_type=Choice(values=ACTIONS),
        unique=True,
        required=False,
        readonly=True)

    actionsTaken = List(
        title='Actions taken',
        description='The actions recorded for this notification, in the '
                    'order they were taken.',
        value_type=Choice(values=ACTIONS),
        required=False,
        readonly=True)


class INotification(IReadNotification, ITrack):
    """A notification: a track that tells a user about an object."""


class INotificationManagerQuery(Interface):
    """Finding and counting notifications."""

    def query(**criteria):
        """Return the notifications matching the criteria, oldest first.

        The criteria are those of the storage's ``query``; besides the
        metadata, notifications are indexed under ``type``, ``state``,
        ``priority`` and ``userState`` (the recipient and the state in one
        value, ``'<userName>:<state>'``). A priority may be given by the
        original's name.
        """

    def unreadCount(userName):
        """Return the number of a user's notifications in the state 'new'.

        The count is the size of one index entry: it loads no notification,
        however many there are.
        """


class INotificationManagerWrite(Interface):
    """Making notifications and changing their state."""

    def notify(taskId, userName, ntfType, media=None, priority='info', **kw):
        """Save a new notification for ``userName`` about ``taskId``; return
        its id.

        ``ntfType`` is the notification's ``type``. ``media`` is one of
        ``MEDIA`` or a list of them (default: ``['inbox']``), ``priority``
        one of ``PRIORITIES``; the original's names of media and priorities
        (``ORIGINAL_MEDIA``, ``ORIGINAL_PRIORITIES``) are stored as the
        names used here. Keywords named like the fields of
        ``IReadNotification`` (``parent``, ``eventType``, ``timingType``,
        ``timing``, ``deliveryInfo``, ``actionsPossible``) set these fields;
        other keywords are stored in the data as they are (a subject, a
        text, a link). The state is 'new', ``actionsTaken`` empty; neither
        can be given.

        The notification goes into the run of its ``parent`` if it has one,
        otherwise into the current run of the object (started if there is
        none).

        A value a field does not allow (an unknown medium or priority, for
        instance) or a ``parent`` that is not a stored notification raises
        ValueError and saves nothing.
        """

    def markRead(id):
        """Set a 'new' notification's state to 'read'.

        Returns True if the state changed, False if the notification was
        read, done or ignored already (its state is left as it is). An
        unknown id raises KeyError.
        """

    def markAllRead(userName):
        """Mark all of a user's 'new' notifications read; return how many."""

    def recordAction(id, action):
        """Record that the recipient took ``action``; return the new state.

        The action is appended to ``actionsTaken``; the state becomes
        'ignored' for the action 'ignore' and 'done' for any other. An
        action that is not among the notification's ``actionsPossible``
        (or, where these are empty, not in ``ACTIONS``) raises ValueError
        and changes nothing.
        """


class INotificationManagerManage(Interface):
    """Removing old notifications."""

    def cleanUp(age=1, removeIgnored=False):
        """Remove notifications last changed ``age`` days ago or before.

        ``age`` is a number of days, as in the original (0.5 is twelve
        hours).

        Removes the read ones (states 'read' and 'done'), and those in the
        state 'ignored' if ``removeIgnored`` is true; 'new' notifications
        are never removed. A notification's time stamp is the time of its
        last change (making it, marking it read, recording an action).
        Returns the number of notifications removed.
        """


class INotificationManager(INotificationManagerQuery,
                           INotificationManagerWrite,
                           INotificationManagerManage):
    """Working with the notifications in a tracking storage.

    An adapter of an ``ITrackingStorage`` whose track factory is
    ``Notification`` (or a subclass). All changes go through the storage's
    API, so the storage's events are notified and its indexes follow.
    """
