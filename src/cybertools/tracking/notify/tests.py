"""Notifications: the manual (README.txt) and the edge cases."""

import sys
import unittest
from unittest import mock

import transaction
import zope.component
import zope.component.testing
import zope.lifecycleevent
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from zope.component import adapter
from zope.component import provideAdapter
from zope.component import provideHandler
from zope.component.event import objectEventNotify
from zope.configuration import xmlconfig
from zope.interface.interfaces import ComponentLookupError
from zope.security.checker import ProxyFactory
from zope.security.checker import getCheckerForInstancesOf
from zope.security.interfaces import Unauthorized
from zope.security.management import endInteraction
from zope.security.management import newInteraction
from zope.security.management import setSecurityPolicy
from zope.securitypolicy.principalpermission import \
    principalPermissionManager
from zope.securitypolicy.zopepolicy import ZopeSecurityPolicy

from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.indexing import reindexModifiedTrack
from cybertools.tracking.interfaces import ITrackModifiedEvent
from cybertools.tracking.notify.base import FIELDS
from cybertools.tracking.notify.base import Notification
from cybertools.tracking.notify.base import NotificationIndexData
from cybertools.tracking.notify.interfaces import ACTIONS
from cybertools.tracking.notify.interfaces import INotification
from cybertools.tracking.notify.interfaces import INotificationManager
from cybertools.tracking.notify.interfaces import IReadNotification
from cybertools.tracking.notify.manager import NotificationManager
from cybertools.tracking.testing import Participation
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import loadSecureConfiguration
from cybertools.tracking.testing import recordLoads
from cybertools.tracking.testing import docFileSuite


T0 = 1700000000.0
DAY = 86400


def clock(at):
    """time.time() returns ``at``."""
    return mock.patch('time.time', return_value=at)


def names(tracks):
    return [track.__name__ for track in tracks]


class NotificationTestCase(unittest.TestCase):
    """A notification storage and its manager, with the adapters
    registered in a clean component registry."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        provideAdapter(NotificationIndexData)
        provideAdapter(NotificationManager)
        self.storage = TrackingStorage(trackFactory=Notification)
        self.manager = INotificationManager(self.storage)

    def countLoads(self):
        """Record the tracks the storage loads from here on."""
        return recordLoads(self, self.storage)

class NotifyTest(NotificationTestCase):

    def assertRefused(self, *args, exception=ValueError, **kw):
        with self.assertRaises(exception) as cm:
            self.manager.notify(*args, **kw)
        self.assertEqual(len(self.storage), 0)
        self.assertEqual(len(self.storage.getRuns()), 0)
        self.assertEqual(self.storage.checkIndexes(), [])
        return str(cm.exception)

    def test_refused_values_save_nothing(self):
        args = ('obj', 'alice', 'object_changed')
        for kw, message in (
                ({'media': 'fax'}, "unknown media 'fax'"),
                ({'media': ['inbox', 'fax']}, "unknown media 'fax'"),
                ({'media': []}, 'media: [] is not allowed'),
                ({'media': ['inbox', 'inbox']}, 'media:'),
                ({'priority': 'high'}, "unknown priority 'high'"),
                ({'priority': None}, 'unknown priority None'),
                ({'timingType': 'weekly'}, "unknown timingType 'weekly'"),
                ({'actionsPossible': ['dance']}, "unknown actionsPossible"),
                ({'timing': ['tomorrow']}, 'timing:'),
                ({'deliveryInfo': 'alice@example.com'}, 'deliveryInfo:'),
                ({'eventType': 'two\nlines'}, 'eventType:'),
                ({'parent': '0000042'}, "parent '0000042' is not a "
                                        'notification in this storage'),
                ({'state': 'read'}, 'state cannot be given'),
                ({'type': 'other'}, 'type cannot be given'),
                ({'actionsTaken': ['accept']}, 'actionsTaken cannot be')):
            with self.subTest(kw=kw):
                self.assertIn(message, self.assertRefused(*args, **kw))

    def test_refused_type_task_and_user(self):
        self.assertIn('type:', self.assertRefused('obj', 'alice', ''))
        self.assertRefused('obj', 'alice', None)
        self.assertRefused('', 'alice', 't')
        self.assertRefused('obj', None, 't', exception=TypeError)

    def test_unknown_medium_names_the_allowed_ones(self):
        message = self.assertRefused('obj', 'alice', 't', media=['sms', 'x'])
        self.assertEqual(message, "unknown media 'x' (allowed: inbox, "
                                  'email, sms, im, rss)')

    def test_media_and_lists_are_stored_as_lists(self):
        ntfId = self.manager.notify('obj', 'alice', 't', media='sms',
                                    actionsPossible=('accept', 'reject'),
                                    timing=(T0, T0 + 3600))
        ntf = self.storage[ntfId]
        self.assertEqual(ntf.media, ['sms'])
        self.assertEqual(ntf.actionsPossible, ['accept', 'reject'])
        self.assertEqual(ntf.timing, [T0, T0 + 3600])

    def test_fields_given_as_none_are_not_stored(self):
        ntfId = self.manager.notify('obj', 'alice', 't', eventType=None,
                                    parent=None)
        self.assertEqual(self.storage[ntfId].data,
                         {'type': 't', 'state': 'new', 'priority': 'info',
                          'media': ['inbox']})

    def test_every_field_is_an_attribute(self):
        self.assertEqual(set(FIELDS), set(IReadNotification.names()))
        ntf = self.storage[self.manager.notify('obj', 'alice', 't')]
        for name in FIELDS:
            with self.subTest(name=name):
                self.assertIsInstance(getattr(Notification, name), property)
                self.assertEqual(getattr(ntf, name),
                                 ntf.data.get(name, getattr(ntf, name)))
        self.assertTrue(INotification.providedBy(ntf))

    def test_defaults_of_a_notification_saved_directly(self):
        # a notification saved through the storage, not the manager, has
        # the default values, and is indexed and counted under them
        ntfId = self.storage.saveUserTrack('obj', 0, 'alice', {'type': 't'})
        ntf = self.storage[ntfId]
        self.assertEqual((ntf.state, ntf.priority, ntf.media,
                          ntf.actionsPossible, ntf.actionsTaken, ntf.parent),
                         ('new', 'info', ['inbox'], [], [], None))
        self.assertEqual(self.manager.unreadCount('alice'), 1)
        self.assertEqual(names(self.manager.query(priority='info')), [ntfId])
        # the default lists are not shared
        ntf.actionsTaken.append('accept')
        self.assertEqual(ntf.actionsTaken, [])

    def test_notifications_about_one_object_share_its_run(self):
        first = self.manager.notify('obj', 'alice', 't')
        second = self.manager.notify('obj', 'bob', 't')
        other = self.manager.notify('other', 'alice', 't')
        runs = [self.storage[i].runId for i in (first, second, other)]
        self.assertEqual(runs[0], runs[1])
        self.assertNotEqual(runs[0], runs[2])

    def test_a_child_joins_its_parents_run(self):
        parent = self.manager.notify('obj', 'alice', 't')
        child = self.manager.notify('elsewhere', 'bob', 'forwarded',
                                    parent=parent)
        self.assertEqual(self.storage[child].runId,
                         self.storage[parent].runId)
        self.assertEqual(self.storage[child].parent, parent)


class UnreadCountTest(NotificationTestCase):

    def fill(self, users=('alice', 'bob', 'carol'), perUser=100):
        ids = {user: [] for user in users}
        for i in range(perUser):
            for user in users:
                ids[user].append(
                    self.manager.notify('obj%i' % (i % 7), user, 't'))
        return ids

    def test_count_loads_no_notification(self):
        ids = self.fill()
        for ntfId in ids['bob'][:30]:
            self.manager.markRead(ntfId)
        loads = self.countLoads()
        counts = [self.manager.unreadCount(user)
                  for user in ('alice', 'bob', 'carol', 'nobody')]
        self.assertEqual(counts, [100, 70, 100, 0])
        self.assertEqual(len(loads), 0)

    def test_the_wrapper_counts_loads(self):
        # the control of the test above: loading does go through the wrapper
        self.fill(perUser=2)
        loads = self.countLoads()
        list(self.manager.query(userName='alice'))
        self.assertEqual(len(loads), 2)

    def test_count_follows_every_kind_of_change(self):
        ids = self.fill(users=('alice',), perUser=6)['alice']
        self.manager.markRead(ids[0])
        self.manager.recordAction(ids[1], 'accept')
        self.manager.recordAction(ids[2], 'ignore')
        self.storage.removeTrack(self.storage[ids[3]])
        self.assertEqual(self.manager.unreadCount('alice'), 2)
        # a read notification made unread again through the storage
        self.storage.updateTrack(self.storage[ids[0]], {'state': 'new'})
        self.assertEqual(self.manager.unreadCount('alice'), 3)
        # changed as a working copy, then the modified event
        provideHandler(objectEventNotify)
        provideHandler(reindexModifiedTrack)
        ntf = self.storage[ids[4]]
        ntf.data['state'] = 'read'
        zope.lifecycleevent.modified(ntf)
        self.assertEqual(self.manager.unreadCount('alice'), 2)
        # a notification passed on to another user
        ntf = self.storage[ids[5]]
        ntf.userName = 'bob'
        zope.lifecycleevent.modified(ntf)
        self.assertEqual(self.manager.unreadCount('alice'), 1)
        self.assertEqual(self.manager.unreadCount('bob'), 1)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_user_names_with_colons_are_kept_apart(self):
        self.manager.notify('obj', 'a', 't')
        self.manager.notify('obj', 'a:new', 't')
        self.manager.notify('obj', 'a:new', 't')
        self.assertEqual(self.manager.unreadCount('a'), 1)
        self.assertEqual(self.manager.unreadCount('a:new'), 2)

    def test_bad_user_name(self):
        with self.assertRaises(TypeError):
            self.manager.unreadCount(None)
        with self.assertRaises(ValueError):
            self.manager.unreadCount('')


class MarkReadTest(NotificationTestCase):

    def setUp(self):
        super().setUp()
        self.events = []

        @adapter(INotification, ITrackModifiedEvent)
        def modified(ntf, event):
            self.events.append((ntf.__name__, ntf.state))

        provideHandler(objectEventNotify)
        provideHandler(modified)
        self.ids = [self.manager.notify('obj', user, 't')
                    for user in ('alice', 'alice', 'bob', 'alice')]

    def test_mark_read_notifies_and_reindexes(self):
        self.assertTrue(self.manager.markRead(self.ids[0]))
        self.assertEqual(self.events, [(self.ids[0], 'read')])
        self.assertEqual(names(self.manager.query(state='read')),
                         [self.ids[0]])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_mark_read_leaves_other_states_alone(self):
        self.manager.recordAction(self.ids[0], 'accept')
        self.manager.recordAction(self.ids[1], 'ignore')
        del self.events[:]
        self.assertFalse(self.manager.markRead(self.ids[0]))
        self.assertFalse(self.manager.markRead(self.ids[1]))
        self.assertEqual(self.storage[self.ids[0]].state, 'done')
        self.assertEqual(self.storage[self.ids[1]].state, 'ignored')
        self.assertEqual(self.events, [])

    def test_unknown_id(self):
        with self.assertRaises(KeyError):
            self.manager.markRead('0000099')

    def test_mark_all_read_of_one_user(self):
        self.manager.markRead(self.ids[0])
        del self.events[:]
        self.assertEqual(self.manager.markAllRead('alice'), 2)
        self.assertEqual(sorted(self.events),
                         [(self.ids[1], 'read'), (self.ids[3], 'read')])
        self.assertEqual(self.manager.unreadCount('alice'), 0)
        self.assertEqual(self.manager.unreadCount('bob'), 1)
        self.assertEqual(self.manager.markAllRead('alice'), 0)
        self.assertEqual(self.manager.markAllRead('nobody'), 0)
        self.assertEqual(self.storage.checkIndexes(), [])


class RecordActionTest(NotificationTestCase):

    def test_actions_are_appended_in_order(self):
        ntfId = self.manager.notify('obj', 'alice', 't')
        self.assertEqual(self.manager.recordAction(ntfId, 'note'), 'done')
        self.assertEqual(self.manager.recordAction(ntfId, 'ignore'),
                         'ignored')
        self.assertEqual(self.manager.recordAction(ntfId, 'delegate'),
                         'done')
        self.assertEqual(self.storage[ntfId].actionsTaken,
                         ['note', 'ignore', 'delegate'])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_impossible_action_changes_nothing(self):
        ntfId = self.manager.notify('obj', 'alice', 't',
                                    actionsPossible=['accept'])
        before = self.storage[ntfId]
        for action in ('reject', 'dance', None):
            with self.subTest(action=action):
                with self.assertRaises(ValueError) as cm:
                    self.manager.recordAction(ntfId, action)
                self.assertIn('(possible: accept)', str(cm.exception))
                self.assertEqual(self.storage[ntfId], before)

    def test_without_possible_actions_any_known_action(self):
        for action in ACTIONS:
            ntfId = self.manager.notify('obj', 'alice', 't')
            self.manager.recordAction(ntfId, action)
        ntfId = self.manager.notify('obj', 'alice', 't')
        with self.assertRaises(ValueError):
            self.manager.recordAction(ntfId, 'dance')
        self.assertEqual(self.storage[ntfId].state, 'new')


class CleanUpTest(NotificationTestCase):
    """cleanUp removes by the time of the last change, inclusively; its age
    is in days, as in the original."""

    def setUp(self):
        super().setUp()
        notify = self.manager.notify
        self.ids = {}
        with clock(T0):
            for state in ('new', 'read', 'done', 'ignored'):
                self.ids[state] = notify('obj', 'alice', state)
            self.manager.markRead(self.ids['read'])
            self.manager.recordAction(self.ids['done'], 'accept')
            self.manager.recordAction(self.ids['ignored'], 'ignore')
        with clock(T0 + DAY):
            self.ids['later'] = notify('obj', 'alice', 'later')
            self.manager.markRead(self.ids['later'])

    def remaining(self):
        return sorted(ntf.type for ntf in self.storage.values())

    def test_age_boundary_is_inclusive(self):
        with clock(T0 + DAY - 0.5):
            self.assertEqual(self.manager.cleanUp(1), 0)
        with clock(T0 + DAY):
            self.assertEqual(self.manager.cleanUp(1), 2)
        self.assertEqual(self.remaining(), ['ignored', 'later', 'new'])
        with clock(T0 + 2 * DAY):
            self.assertEqual(self.manager.cleanUp(1), 1)
        self.assertEqual(self.remaining(), ['ignored', 'new'])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_default_age_is_one_day(self):
        with clock(T0 + DAY - 1):
            self.assertEqual(self.manager.cleanUp(), 0)
        with clock(T0 + DAY):
            self.assertEqual(self.manager.cleanUp(), 2)

    def test_fractions_of_days(self):
        with clock(T0 + DAY / 2):
            self.assertEqual(self.manager.cleanUp(0.5), 2)
        self.assertEqual(self.remaining(), ['ignored', 'later', 'new'])

    def test_ignored_only_when_asked(self):
        with clock(T0 + 2 * DAY):
            self.assertEqual(self.manager.cleanUp(0, removeIgnored=True), 4)
            self.assertEqual(self.manager.cleanUp(0, removeIgnored=True), 0)
        self.assertEqual(self.remaining(), ['new'])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_new_notifications_are_never_removed(self):
        with clock(T0 + 10**6):
            self.manager.cleanUp(0, removeIgnored=True)
        self.assertEqual(self.remaining(), ['new'])
        self.assertEqual(self.manager.unreadCount('alice'), 1)

    def test_reading_renews_a_notification(self):
        # the age counts from the last change, not from the notification
        with clock(T0 + 1.5 * DAY):
            self.manager.markRead(self.ids['new'])
        with clock(T0 + 2 * DAY):
            self.assertEqual(self.manager.cleanUp(1), 3)
        self.assertEqual(self.remaining(), ['ignored', 'new'])
        self.assertEqual(self.storage[self.ids['new']].state, 'read')

    def test_age_older_than_the_epoch_removes_nothing(self):
        with clock(T0):
            self.assertEqual(self.manager.cleanUp(2 * T0 / DAY), 0)
            self.assertEqual(self.manager.cleanUp(10 ** 300), 0)
        self.assertEqual(len(self.storage), 5)

    def test_bad_age(self):
        for age, exception in ((-1, ValueError), (float('nan'), ValueError),
                               (float('inf'), ValueError),
                               (10 ** 400, ValueError),
                               ('1', TypeError), (None, TypeError),
                               (True, TypeError)):
            with self.subTest(age=age):
                with self.assertRaises(exception) as cm:
                    self.manager.cleanUp(age)
                self.assertIn('days', str(cm.exception))
        self.assertEqual(len(self.storage), 5)


class OriginalVocabularyTest(NotificationTestCase):
    """The original's media and priorities are stored as ours."""

    def test_priorities(self):
        for original, ours in (('normal', 'info'), ('important', 'warning'),
                               ('critical', 'urgent'), ('info', 'info')):
            with self.subTest(priority=original):
                ntfId = self.manager.notify('obj', 'alice', 't',
                                            priority=original)
                self.assertEqual(self.storage[ntfId].priority, ours)
                self.assertIn(ntfId, names(
                    self.manager.query(priority=original)))
                self.assertIn(ntfId, names(
                    self.manager.query(priority=[original, 'nothing'])))

    def test_media(self):
        ntfId = self.manager.notify('obj', 'alice', 't',
                                    media=['inbox', 'mail', 'im', 'rss'])
        self.assertEqual(self.storage[ntfId].media,
                         ['inbox', 'email', 'im', 'rss'])
        ntfId = self.manager.notify('obj', 'alice', 't', media='mail')
        self.assertEqual(self.storage[ntfId].media, ['email'])

    def test_mail_and_email_together_are_one_medium_twice(self):
        with self.assertRaises(ValueError):
            self.manager.notify('obj', 'alice', 't', media=['mail', 'email'])
        self.assertEqual(len(self.storage), 0)

    def test_other_values_are_still_refused(self):
        for kw in (dict(priority='Critical'), dict(priority=['critical']),
                   dict(media=['fax']), dict(media=[['mail']]),
                   dict(media=['mail', None])):
            with self.subTest(**kw):
                with self.assertRaises((ValueError, TypeError)):
                    self.manager.notify('obj', 'alice', 't', **kw)
        self.assertEqual(len(self.storage), 0)

    def test_manager_from_base(self):
        from cybertools.tracking.notify import base
        self.assertIs(base.NotificationManager, NotificationManager)
        with self.assertRaises(AttributeError):
            base.NoSuchThing


class AdaptationTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        provideAdapter(NotificationManager)

    def test_storage_of_other_tracks_is_refused(self):
        provideAdapter(NotificationIndexData)
        with self.assertRaises(TypeError) as cm:
            INotificationManager(TrackingStorage())
        self.assertIn('keeps Track tracks, not notifications',
                      str(cm.exception))

    def test_index_values_without_a_registration(self):
        # as in the original: adapting needs the manager's registration only
        storage = TrackingStorage(trackFactory=Notification)
        manager = INotificationManager(storage)
        ntfId = manager.notify('obj', 'alice', 't')
        self.assertEqual(manager.unreadCount('alice'), 1)
        manager.markRead(ntfId)
        self.assertEqual(manager.unreadCount('alice'), 0)
        self.assertEqual(storage.checkIndexes(), [])

    def test_registered_index_data_wins(self):
        @adapter(INotification)
        class Louder(NotificationIndexData):
            def getIndexValues(self):
                values = super().getIndexValues()
                if 'type' in values:
                    values['type'] = values['type'].upper()
                return values

        provideAdapter(Louder)
        storage = TrackingStorage(trackFactory=Notification)
        INotificationManager(storage).notify('obj', 'alice', 'ping')
        self.assertEqual(len(storage.query(type='PING')), 1)

    def test_index_data_without_user_state_is_an_error(self):
        # a registered adapter that forgets userState: unread counts would
        # silently be 0
        from cybertools.tracking.indexing import TrackIndexData
        provideAdapter(TrackIndexData, (INotification,))
        with self.assertRaises(ComponentLookupError) as cm:
            INotificationManager(TrackingStorage(trackFactory=Notification))
        self.assertIn('NotificationIndexData', str(cm.exception))

    def test_subclass_without_user_state_index_is_refused(self):
        provideAdapter(NotificationIndexData)

        class Narrow(Notification):
            index_attributes = Track.metadata_attributes + ('state',)

        with self.assertRaises(TypeError):
            INotificationManager(TrackingStorage(trackFactory=Narrow))

    def test_subclass_of_notification(self):
        provideAdapter(NotificationIndexData)

        class Message(Notification):
            typeName = 'Message'

        storage = TrackingStorage(trackFactory=Message)
        manager = INotificationManager(storage)
        ntfId = manager.notify('obj', 'alice', 't')
        self.assertEqual(manager.unreadCount('alice'), 1)
        self.assertTrue(repr(storage[ntfId]).startswith('<Message '))


class ConfigurationTest(unittest.TestCase):
    """The ZCML registers the adapters and protects the classes."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        xmlconfig.string("""
            <configure xmlns="http://namespaces.zope.org/zope">
              <include package="zope.component" />
              <include package="zope.security" />
              <include package="cybertools.tracking" />
              <include package="cybertools.tracking.notify" />
            </configure>""")

    def test_adapters_and_subscribers(self):
        storage = TrackingStorage(trackFactory=Notification)
        manager = INotificationManager(storage)
        ntfId = manager.notify('obj', 'alice', 't')
        ntf = storage[ntfId]
        ntf.data['state'] = 'read'
        zope.lifecycleevent.modified(ntf)
        self.assertEqual(manager.unreadCount('alice'), 0)
        self.assertEqual(storage.checkIndexes(), [])

    def test_manager_permissions(self):
        checker = getCheckerForInstancesOf(NotificationManager)
        expected = {'query': 'View', 'unreadCount': 'View',
                    'notify': 'Save', 'markRead': 'Save',
                    'markAllRead': 'Save', 'recordAction': 'Save',
                    'cleanUp': 'Manage'}
        for name, permission in expected.items():
            with self.subTest(name=name):
                self.assertEqual(checker.permission_id(name),
                                 'cybertools.tracking.' + permission)
        self.assertIsNone(checker.permission_id('context'))

    def test_notification_permissions(self):
        checker = getCheckerForInstancesOf(Notification)
        for name in FIELDS + ('taskId', 'userName', 'data'):
            with self.subTest(name=name):
                self.assertEqual(checker.permission_id(name),
                                 'cybertools.tracking.View')
        self.assertEqual(checker.permission_id('update'),
                         'cybertools.tracking.Save')
        self.assertEqual(checker.setattr_permission_id('userName'),
                         'cybertools.tracking.Save')
        self.assertEqual(checker.setattr_permission_id('data'),
                         'cybertools.tracking.Save')
        # the fields are read from the data: they are not set directly;
        # nor is the location
        for name in ('state', '__name__', '__parent__'):
            self.assertIsNone(checker.setattr_permission_id(name))


class ProxiedTest(unittest.TestCase):
    """The manager of a security-proxied storage (as a view gets it), and a
    proxied manager (as a page template gets it), under
    zope.securitypolicy's policy."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        oldPolicy = setSecurityPolicy(ZopeSecurityPolicy)
        self.addCleanup(setSecurityPolicy, oldPolicy)
        self.addCleanup(endInteraction)
        self.storage = TrackingStorage(trackFactory=Notification)
        manager = INotificationManager(self.storage)
        self.ids = [manager.notify('obj', 'alice', 't') for _ in range(3)]
        manager.markRead(self.ids[0])

    def login(self, *permissions):
        """A manager of the proxied storage, used by a principal with just
        these permissions."""
        principalId = 'zope.with.' + '.'.join(permissions)
        for permission in permissions:
            principalPermissionManager.grantPermissionToPrincipal(
                'cybertools.tracking.' + permission, principalId,
                check=False)
        newInteraction(Participation(Principal(principalId)))
        return INotificationManager(ProxyFactory(self.storage))

    def test_view_reads_but_cannot_change(self):
        manager = self.login('View')
        self.assertEqual(manager.unreadCount('alice'), 2)
        self.assertEqual(manager.query(state='read')[0].__name__, self.ids[0])
        for call, args in ((manager.notify, ('obj', 'bob', 't')),
                           (manager.markRead, (self.ids[1],)),
                           (manager.markAllRead, ('alice',)),
                           (manager.recordAction, (self.ids[1], 'accept')),
                           (manager.cleanUp, (0,))):
            with self.subTest(call=call.__name__):
                with self.assertRaises(Unauthorized):
                    call(*args)
        self.assertEqual(len(self.storage), 3)
        self.assertEqual(self.storage[self.ids[1]].state, 'new')

    def test_save_works_with_notifications(self):
        manager = self.login('View', 'Save')
        ntfId = manager.notify('obj', 'bob', 't', priority='urgent')
        self.assertTrue(manager.markRead(self.ids[1]))
        self.assertEqual(manager.recordAction(self.ids[2], 'ignore'),
                         'ignored')
        self.assertEqual(manager.markAllRead('bob'), 1)
        self.assertEqual(manager.unreadCount('alice'), 0)
        self.assertEqual(self.storage[ntfId].state, 'read')
        with self.assertRaises(Unauthorized):
            manager.cleanUp(0)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_manage_cleans_up(self):
        manager = self.login('View', 'Manage')
        self.assertEqual(manager.cleanUp(0), 1)
        self.assertEqual(len(self.storage), 2)

    def test_proxied_manager(self):
        self.login('View')
        manager = ProxyFactory(NotificationManager(self.storage))
        self.assertEqual(manager.unreadCount('alice'), 2)
        for name in ('notify', 'markRead', 'markAllRead', 'recordAction',
                     'cleanUp'):
            with self.subTest(name=name):
                with self.assertRaises(Unauthorized):
                    getattr(manager, name)


class ZODBTest(NotificationTestCase):
    """Notifications in a database, seen from a second connection."""

    def test_committed_notifications_and_counts(self):
        db = DB(DemoStorage())
        self.addCleanup(db.close)
        tms = [transaction.TransactionManager() for _ in range(2)]
        conns = [db.open(transaction_manager=tm) for tm in tms]
        conns[0].root()['notifications'] = storage = TrackingStorage(
            trackFactory=Notification)
        tms[0].commit()
        manager = INotificationManager(storage)
        ids = [manager.notify('obj', 'alice', 't') for _ in range(3)]
        manager.markRead(ids[0])
        tms[0].commit()
        tms[1].begin()
        other = INotificationManager(conns[1].root()['notifications'])
        self.assertEqual(other.unreadCount('alice'), 2)
        self.assertEqual(other.markAllRead('alice'), 2)
        tms[1].commit()
        tms[0].begin()
        self.assertEqual(manager.unreadCount('alice'), 0)
        for tm, conn in zip(tms, conns):
            tm.abort()
            conn.close()


def test_suite():
    return unittest.TestSuite([
        docFileSuite('README.txt', package='cybertools.tracking.notify'),
        unittest.defaultTestLoader.loadTestsFromModule(
            sys.modules[__name__]),
    ])
