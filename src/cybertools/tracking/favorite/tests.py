"""The favorites' manual (README.txt) and their edge cases."""

import sys
import unittest

import transaction
import zope.annotation
import zope.component
import zope.component.testing
import zope.security
import zope.securitypolicy
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from zope.component import adapter
from zope.component import provideHandler
from zope.component.event import objectEventNotify
from zope.security.checker import ProxyFactory
from zope.security.checker import getCheckerForInstancesOf
from zope.security.interfaces import Unauthorized
from zope.security.management import endInteraction
from zope.security.management import newInteraction
from zope.security.management import setSecurityPolicy
from zope.security.proxy import removeSecurityProxy
from zope.securitypolicy.interfaces import IPrincipalPermissionManager
from zope.securitypolicy.zopepolicy import ZopeSecurityPolicy

from cybertools.tracking.testing import asAnotherWriter
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.favorite.base import Favorite
from cybertools.tracking.favorite.interfaces import IFavorite
from cybertools.tracking.favorite.interfaces import IFavoriteManager
from cybertools.tracking.favorite.interfaces import IFavoriteManagerQuery
from cybertools.tracking.favorite.interfaces import IFavoriteManagerWrite
from cybertools.tracking.favorite.interfaces import IReadFavorite
from cybertools.tracking.favorite.manager import FavoriteManager
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackAddedEvent
from cybertools.tracking.interfaces import ITrackModifiedEvent
from cybertools.tracking.interfaces import ITrackRemovedEvent
from cybertools.tracking.testing import Participation
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import loadSecureConfiguration
from cybertools.tracking.testing import recordLoads
from cybertools.tracking.testing import docFileSuite


VIEW = 'cybertools.tracking.View'
SAVE = 'cybertools.tracking.Save'


def snapshot(storage):
    """What a caller can see of a storage, for before/after checks."""
    return ([(t.__name__, t.metadata, t.data) for t in storage.values()],
            len(storage.getRuns()), storage.checkIndexes())


def taskIds(favorites):
    return [favorite.taskId for favorite in favorites]


class FavoriteTestCase(unittest.TestCase):
    """alice's favorites a, b, c, d (in this order), bob's b and x."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        self.storage = TrackingStorage(trackFactory=Favorite)
        self.manager = FavoriteManager(self.storage)
        for taskId in 'abcd':
            self.manager.add('alice', taskId)
        self.manager.add('bob', 'b')
        self.manager.add('bob', 'x')

    def assertRefused(self, exception, call, *args, **kw):
        """The call raises ``exception`` and changes nothing."""
        before = snapshot(self.storage)
        with self.assertRaises(exception) as cm:
            call(*args, **kw)
        self.assertEqual(snapshot(self.storage), before)
        return cm.exception

    def countLoads(self):
        """Record the tracks the storage loads from here on."""
        return recordLoads(self, self.storage)

    def recordEvents(self, *interfaces):
        provideHandler(objectEventNotify)
        events = []
        for interface in interfaces:
            @adapter(ITrack, interface)
            def record(track, event, interface=interface):
                events.append((interface.__name__[1:-5], track.taskId,
                               track.userName))
            provideHandler(record)
        return events


class AddTest(FavoriteTestCase):

    def test_favorite_provides_its_interfaces(self):
        favorite = self.manager.list('alice')[0]
        self.assertTrue(IFavorite.providedBy(favorite))
        self.assertEqual(favorite.typeName, 'Favorite')
        self.assertEqual(favorite.order, 0)

    def test_adding_again_returns_the_existing_id_and_changes_nothing(self):
        before = snapshot(self.storage)
        events = self.recordEvents(ITrackAddedEvent, ITrackModifiedEvent)
        self.assertEqual(self.manager.add('alice', 'c', title='new'),
                         '0000003')
        self.assertEqual(snapshot(self.storage), before)
        self.assertEqual(events, [])

    def test_data_is_kept(self):
        self.manager.add('carol', 'doc', title='Doc', tags=['a', 'b'])
        favorite = self.manager.list('carol')[0]
        self.assertEqual(favorite.data,
                         {'order': 0, 'title': 'Doc', 'tags': ['a', 'b']})

    def test_order_cannot_be_given(self):
        self.assertRefused(TypeError, self.manager.add, 'carol', 'doc',
                           order=0)

    def test_bad_arguments_save_nothing(self):
        add = self.manager.add
        self.assertRefused(TypeError, add, 'carol', 'doc', note=object())
        self.assertRefused(ValueError, add, 'carol', 'doc',
                           note=float('nan'))
        self.assertRefused(TypeError, add, None, 'doc')
        self.assertRefused(ValueError, add, 'carol', '')
        self.assertRefused(TypeError, add, 'carol', 42)

    def test_a_new_favorite_comes_last_after_reorders_and_removals(self):
        self.manager.reorder('alice', ['d', 'c'])
        self.manager.remove('alice', 'b')
        self.manager.add('alice', 'e')
        self.assertEqual(taskIds(self.manager.list('alice')),
                         ['d', 'c', 'a', 'e'])
        self.manager.remove('alice', 'e')
        self.manager.add('alice', 'e')
        self.assertEqual(taskIds(self.manager.list('alice')),
                         ['d', 'c', 'a', 'e'])

    def test_added_event(self):
        events = self.recordEvents(ITrackAddedEvent)
        self.manager.add('carol', 'doc')
        self.assertEqual(events, [('TrackAdded', 'doc', 'carol')])

    def test_favorites_of_an_object_share_its_run(self):
        alices = self.manager.list('alice')[1]
        bobs = self.manager.list('bob')[0]
        self.assertEqual((alices.taskId, bobs.taskId), ('b', 'b'))
        self.assertEqual(alices.runId, bobs.runId)


class IsFavoriteTest(FavoriteTestCase):

    def test_is_favorite(self):
        self.assertTrue(self.manager.isFavorite('alice', 'a'))
        self.assertTrue(self.manager.isFavorite('bob', 'b'))
        self.assertFalse(self.manager.isFavorite('bob', 'a'))
        self.assertFalse(self.manager.isFavorite('carol', 'a'))
        self.assertFalse(self.manager.isFavorite('alice', 'nothing'))

    def test_similar_ids_are_kept_apart(self):
        self.assertFalse(self.manager.isFavorite('alice', 'a*'))
        self.assertFalse(self.manager.isFavorite('alic', 'a'))

    def test_bad_arguments(self):
        self.assertRaises(TypeError, self.manager.isFavorite, None, 'a')
        self.assertRaises(ValueError, self.manager.isFavorite, 'alice', '')


class ListTest(FavoriteTestCase):

    def test_own_order(self):
        self.assertEqual(taskIds(self.manager.list('alice')), list('abcd'))
        self.assertEqual(taskIds(self.manager.list('bob')), ['b', 'x'])
        self.assertEqual(self.manager.list('carol'), [])

    def test_favorites_saved_around_the_manager_come_last(self):
        self.storage.saveUserTrack('z', 0, 'alice', {})
        self.manager.reorder('alice', ['d'])
        self.assertEqual(taskIds(self.manager.list('alice')),
                         ['d', 'a', 'b', 'c', 'z'])

    def test_bad_user_name(self):
        self.assertRaises(TypeError, self.manager.list, None)
        self.assertRaises(ValueError, self.manager.list, '')


class RemoveTest(FavoriteTestCase):

    def test_remove(self):
        events = self.recordEvents(ITrackRemovedEvent)
        self.assertTrue(self.manager.remove('alice', 'b'))
        self.assertFalse(self.manager.isFavorite('alice', 'b'))
        self.assertTrue(self.manager.isFavorite('bob', 'b'))
        self.assertEqual(taskIds(self.manager.list('alice')), list('acd'))
        self.assertEqual(events, [('TrackRemoved', 'b', 'alice')])
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_remove_what_is_no_favorite(self):
        before = snapshot(self.storage)
        self.assertFalse(self.manager.remove('alice', 'x'))
        self.assertFalse(self.manager.remove('carol', 'a'))
        self.assertEqual(snapshot(self.storage), before)

    def test_add_after_remove(self):
        self.manager.remove('alice', 'a')
        self.assertEqual(self.manager.add('alice', 'a'), '0000007')
        self.assertTrue(self.manager.isFavorite('alice', 'a'))

    def test_bad_arguments(self):
        self.assertRefused(TypeError, self.manager.remove, 'alice', None)
        self.assertRefused(ValueError, self.manager.remove, '', 'a')


class ReorderTest(FavoriteTestCase):

    def test_complete_list(self):
        self.assertEqual(self.manager.reorder('alice', ['d', 'b', 'a', 'c']),
                         ['d', 'b', 'a', 'c'])
        self.assertEqual(taskIds(self.manager.list('alice')),
                         ['d', 'b', 'a', 'c'])
        self.assertEqual([f.order for f in self.manager.list('alice')],
                         [0, 1, 2, 3])

    def test_named_come_first_others_keep_their_order(self):
        self.manager.reorder('alice', ['d', 'b', 'a', 'c'])
        self.assertEqual(self.manager.reorder('alice', ['c', 'b']),
                         ['c', 'b', 'd', 'a'])
        self.assertEqual(taskIds(self.manager.list('alice')),
                         ['c', 'b', 'd', 'a'])

    def test_tuple_and_empty_list(self):
        self.assertEqual(self.manager.reorder('alice', ('c',)),
                         ['c', 'a', 'b', 'd'])
        self.assertEqual(self.manager.reorder('alice', []),
                         ['c', 'a', 'b', 'd'])
        self.assertEqual(self.manager.reorder('carol', []), [])

    def test_other_users_are_not_touched(self):
        before = [(f.__name__, f.data) for f in self.manager.list('bob')]
        self.manager.reorder('alice', ['b', 'a'])
        self.assertEqual([(f.__name__, f.data)
                          for f in self.manager.list('bob')], before)

    def test_unknown_id_changes_nothing(self):
        error = self.assertRefused(ValueError, self.manager.reorder,
                                   'alice', ['d', 'x', 'zz', 'a'])
        self.assertEqual(str(error), "not favorites of 'alice': 'x', 'zz'")
        self.assertRefused(ValueError, self.manager.reorder, 'carol', ['a'])

    def test_id_named_twice_changes_nothing(self):
        error = self.assertRefused(ValueError, self.manager.reorder,
                                   'alice', ['d', 'a', 'd'])
        self.assertEqual(str(error), "named more than once: 'd'")

    def test_not_a_list(self):
        for taskIdsArg in ('dcba', None, {'a', 'b'}, iter(['a'])):
            self.assertRefused(TypeError, self.manager.reorder,
                               'alice', taskIdsArg)
        self.assertRefused(TypeError, self.manager.reorder, 'alice',
                           ['a', 1])
        self.assertRefused(TypeError, self.manager.reorder, None, ['a'])

    def test_keeps_time_stamps_and_stores_only_what_changes(self):
        before = {f.taskId: f.timeStamp for f in self.manager.list('alice')}
        events = self.recordEvents(ITrackModifiedEvent)
        self.manager.reorder('alice', ['a', 'b', 'd'])
        self.assertEqual(events, [('TrackModified', 'd', 'alice'),
                                  ('TrackModified', 'c', 'alice')])
        after = {f.taskId: f.timeStamp for f in self.manager.list('alice')}
        self.assertEqual(after, before)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_same_order_stores_nothing(self):
        before = snapshot(self.storage)
        events = self.recordEvents(ITrackModifiedEvent)
        self.manager.reorder('alice', list('abcd'))
        self.assertEqual(snapshot(self.storage), before)
        self.assertEqual(events, [])


class LoadTest(FavoriteTestCase):
    """isFavorite loads nothing; list loads the user's favorites only."""

    def setUp(self):
        super().setUp()
        for user in ('carol', 'dave', 'erin'):
            for taskId in 'abcdefg':
                self.manager.add(user, taskId)
        self.loads = self.countLoads()

    def test_is_favorite_loads_nothing(self):
        self.assertTrue(self.manager.isFavorite('alice', 'a'))
        self.assertFalse(self.manager.isFavorite('alice', 'g'))
        self.assertFalse(self.manager.isFavorite('nobody', 'a'))
        self.assertEqual(self.loads, [])

    def test_list_loads_only_the_users_favorites(self):
        favorites = self.manager.list('alice')
        self.assertEqual(taskIds(favorites), list('abcd'))
        self.assertEqual(sorted(t.__name__ for t in self.loads),
                         sorted(f.__name__ for f in favorites))
        self.assertEqual({t.userName for t in self.loads}, {'alice'})

    def test_adding_again_loads_one(self):
        self.manager.add('alice', 'a')
        self.assertEqual(len(self.loads), 1)


class ManagerSetupTest(unittest.TestCase):

    def test_storage_of_plain_tracks_is_refused(self):
        with self.assertRaises(TypeError) as cm:
            FavoriteManager(TrackingStorage())
        self.assertIn('Track tracks, not favorites', str(cm.exception))


class LaneTest(unittest.TestCase):
    """Favorites saved by concurrent writers (in id lanes of their own),
    merged into the indexes or not, work the same."""

    def test_favorites_across_lanes(self):
        storage = TrackingStorage(trackFactory=Favorite)
        manager = FavoriteManager(storage)
        for number, taskId in enumerate('abcde'):
            # each save as if by another writer
            asAnotherWriter(storage)
            manager.add('alice', taskId)
            manager.add('bob', taskId)
            if number == 2:
                storage.indexPending()
        self.assertEqual(manager.add('alice', 'c'),
                         manager.list('alice')[2].__name__)
        self.assertTrue(manager.isFavorite('bob', 'e'))
        asAnotherWriter(storage)
        manager.reorder('alice', ['e', 'a'])
        manager.remove('alice', 'b')
        self.assertEqual(taskIds(manager.list('alice')), list('eacd'))
        self.assertEqual(taskIds(manager.list('bob')), list('abcde'))
        self.assertFalse(manager.isFavorite('alice', 'b'))
        self.assertEqual(storage.checkIndexes(), [])


class ZODBTest(unittest.TestCase):

    def test_favorites_survive_reopening(self):
        db = DB(DemoStorage())
        self.addCleanup(db.close)
        conn = db.open()
        conn.root()['favorites'] = storage = TrackingStorage(Favorite)
        manager = FavoriteManager(storage)
        for taskId in 'abc':
            manager.add('alice', taskId)
        transaction.commit()
        manager.reorder('alice', ['c'])
        transaction.commit()
        conn.close()

        conn = db.open()
        manager = FavoriteManager(conn.root()['favorites'])
        self.assertEqual(taskIds(manager.list('alice')), ['c', 'a', 'b'])
        self.assertTrue(manager.isFavorite('alice', 'b'))
        manager.remove('alice', 'b')
        transaction.commit()
        self.assertFalse(manager.isFavorite('alice', 'b'))
        conn.close()


class ConfigurationTest(unittest.TestCase):
    """The sub-package's ZCML, included by the package's, as an
    application loads it."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.storage = TrackingStorage(trackFactory=Favorite)

    def test_manager_is_registered(self):
        manager = IFavoriteManager(self.storage)
        self.assertIsInstance(manager, FavoriteManager)
        manager.add('alice', 'a')
        self.assertTrue(manager.isFavorite('alice', 'a'))

    def test_favorite_security(self):
        checker = getCheckerForInstancesOf(Favorite)
        for name in IReadFavorite:
            self.assertEqual(checker.permission_id(name), VIEW, name)
        self.assertEqual(checker.permission_id('update'), SAVE)
        self.assertEqual(checker.setattr_permission_id('data'), SAVE)

    def test_manager_security(self):
        checker = getCheckerForInstancesOf(FavoriteManager)
        for name in IFavoriteManagerQuery:
            self.assertEqual(checker.permission_id(name), VIEW, name)
        for name in IFavoriteManagerWrite:
            self.assertEqual(checker.permission_id(name), SAVE, name)

    def test_trusted_adapter_of_a_proxied_storage_is_proxied(self):
        manager = IFavoriteManager(ProxyFactory(self.storage))
        self.assertIsNot(removeSecurityProxy(manager), manager)
        self.assertIs(removeSecurityProxy(manager).context, self.storage)


class SecurityTest(unittest.TestCase):
    """Through real security proxies, with the permissions granted on the
    storage itself (as a site grants them locally)."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.addCleanup(setSecurityPolicy,
                        setSecurityPolicy(ZopeSecurityPolicy))
        self.addCleanup(endInteraction)
        self.storage = TrackingStorage(trackFactory=Favorite)
        grants = IPrincipalPermissionManager(self.storage)
        for principalId, permissions in (('alice', (VIEW, SAVE)),
                                         ('reader', (VIEW,))):
            for permission in permissions:
                grants.grantPermissionToPrincipal(permission, principalId)
        FavoriteManager(self.storage).add('alice', 'a')

    def login(self, principalId):
        newInteraction(Participation(Principal(principalId)))
        return IFavoriteManager(ProxyFactory(self.storage))

    def test_user_with_save_keeps_his_favorites(self):
        manager = self.login('alice')
        manager.add('alice', 'b', title='B')
        self.assertEqual(manager.reorder('alice', ['b']), ['b', 'a'])
        self.assertEqual(manager.list('alice')[0].data, {'order': 0,
                                                          'title': 'B'})
        self.assertTrue(manager.remove('alice', 'a'))
        self.assertFalse(manager.isFavorite('alice', 'a'))
        # the storage itself would not let her remove a track
        with self.assertRaises(Unauthorized):
            ProxyFactory(self.storage).removeTrack

    def test_reader_reads_but_cannot_write(self):
        manager = self.login('reader')
        self.assertTrue(manager.isFavorite('alice', 'a'))
        self.assertEqual(manager.list('alice')[0].order, 0)
        for name in ('add', 'remove', 'reorder'):
            with self.assertRaises(Unauthorized):
                getattr(manager, name)
        self.assertTrue(FavoriteManager(self.storage).isFavorite('alice',
                                                                 'a'))

    def test_nobody_reads_nothing(self):
        manager = self.login('nobody')
        with self.assertRaises(Unauthorized):
            manager.isFavorite('alice', 'a')
        with self.assertRaises(Unauthorized):
            manager.list('alice')


def test_suite():
    return unittest.TestSuite([
        docFileSuite('README.txt', package='cybertools.tracking.favorite'),
        unittest.defaultTestLoader.loadTestsFromModule(
            sys.modules[__name__]),
    ])
