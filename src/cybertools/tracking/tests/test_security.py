"""The class security of classes.zcml, through real security proxies.

Each test logs in a principal with some of the package's permissions under
``ZopeSecurityPolicy`` and uses the storage, its tracks, runs and query
results through ``ProxyFactory``, as untrusted code (a view, a page
template) does. The storage itself is created and inspected unproxied.
"""

import unittest

import transaction

import zope.annotation
import zope.component
import zope.component.testing
import zope.lifecycleevent
import zope.security
import zope.securitypolicy
from zope.schema import getFields
from zope.security.checker import CheckerPublic
from zope.security.checker import ProxyFactory
from zope.security.checker import getCheckerForInstancesOf
from zope.security.interfaces import ForbiddenAttribute
from zope.security.interfaces import Unauthorized
from zope.security.management import endInteraction
from zope.security.management import newInteraction
from zope.security.management import setSecurityPolicy
from zope.security.proxy import removeSecurityProxy
from zope.securitypolicy.principalpermission import \
    principalPermissionManager
from zope.securitypolicy.zopepolicy import ZopeSecurityPolicy

from cybertools.tracking.records import decodeRecord
from cybertools.tracking.btree import Run
from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import IReadTrack
from cybertools.tracking.interfaces import IRun
from cybertools.tracking.interfaces import ITrackingStorageManage
from cybertools.tracking.interfaces import ITrackingStorageQuery
from cybertools.tracking.interfaces import ITrackingStorageWrite
from cybertools.tracking.interfaces import IWriteTrack
from cybertools.tracking.results import LazyResult
from cybertools.tracking.testing import Participation
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import loadSecureConfiguration

VIEW = 'cybertools.tracking.View'
SAVE = 'cybertools.tracking.Save'
MANAGE = 'cybertools.tracking.Manage'

# What a proxy raises for a name: Unauthorized for a declared name the
# principal lacks the permission for, ForbiddenAttribute for an undeclared one.
REFUSED = (Unauthorized, ForbiddenAttribute)


class Folder:
    """Where a storage is installed."""

    __parent__ = __name__ = None


def writableFields(schema):
    """The names of the fields a set_schema declaration covers."""
    return sorted(name for name, field in getFields(schema).items()
                  if not field.readonly)


class SecurityTestCase(unittest.TestCase):
    """A storage with four tracks in three runs, and helpers to log in."""

    def setUp(self):
        zope.component.testing.setUp()
        loadSecureConfiguration()
        self.oldPolicy = setSecurityPolicy(ZopeSecurityPolicy)
        self.storage = storage = TrackingStorage()
        storage.saveUserTrack('task1', 0, 'alice', {'answer': 1},
                              timeStamp=1000.0)                      # run 1
        storage.saveUserTrack('task1', 0, 'bob', {'answer': 2},
                              timeStamp=1100.0)
        storage.saveUserTrack('task2', 0, 'alice', {'answer': [1, 2]},
                              timeStamp=1200.0)                      # run 2
        storage.stopRun('task1')
        storage.saveUserTrack('task1', 0, 'alice', {'answer': 3},
                              timeStamp=1300.0)                      # run 3

    def tearDown(self):
        endInteraction()
        setSecurityPolicy(self.oldPolicy)
        zope.component.testing.tearDown()

    # logging in

    def login(self, *permissions):
        """Start an interaction of a principal with just these permissions."""
        principalId = 'zope.with.' + '.'.join(
            [p.rsplit('.', 1)[1] for p in permissions] or ['nothing'])
        for permission in permissions:
            # check=False: there is no authentication utility to look the
            # test principal up in
            principalPermissionManager.grantPermissionToPrincipal(
                permission, principalId, check=False)
        newInteraction(Participation(Principal(principalId)))
        return ProxyFactory(self.storage)

    # what the storage holds

    def state(self):
        """Everything stored about the tracks and runs, read unproxied."""
        storage = self.storage
        return (len(storage), list(storage),
                [(t.metadata, t.data) for t in storage.values()],
                [(r.id, r.taskId, r.end, r.stopped, r.finished)
                 for r in storage.getRuns()],
                storage.getRun('task1').id)

    def assertIndexesAgree(self):
        self.assertEqual(self.storage.checkIndexes(), [])

    # proxies

    def assertProxied(self, obj):
        self.assertIsNot(removeSecurityProxy(obj), obj,
                         '%r is not security-proxied' % (obj,))

    def assertNamesRefused(self, proxy, names):
        for name in sorted(names):
            with self.subTest(name=name):
                with self.assertRaises(REFUSED):
                    getattr(proxy, name)

    def assertNamesReadable(self, proxy, names):
        for name in sorted(names):
            with self.subTest(name=name):
                getattr(proxy, name)

    def assertSettingRefused(self, proxy, names):
        for name in names:
            with self.subTest(name=name):
                with self.assertRaises(REFUSED):
                    setattr(proxy, name, getattr(removeSecurityProxy(proxy),
                                                 name))


class WithoutPermissionTests(SecurityTestCase):
    """A principal without any tracking permission can't use the storage."""

    def setUp(self):
        super().setUp()
        self.before = self.state()
        self.proxy = self.login()

    def test_every_storage_name_is_refused(self):
        """Query, write and manage API alike: nothing is open."""
        for interface in (ITrackingStorageQuery, ITrackingStorageWrite,
                          ITrackingStorageManage):
            self.assertNamesRefused(self.proxy, interface.names(all=True))
        self.assertEqual(self.state(), self.before)
        self.assertIndexesAgree()

    def test_container_operations_are_refused(self):
        """The protocol slots are checked like the names they stand for."""
        proxy = self.proxy
        with self.assertRaises(REFUSED):
            len(proxy)
        with self.assertRaises(REFUSED):
            '0000001' in proxy
        with self.assertRaises(REFUSED):
            iter(proxy)
        with self.assertRaises(REFUSED):
            proxy['0000001']
        with self.assertRaises(REFUSED):
            del proxy['0000001']
        self.assertEqual(self.state(), self.before)
        self.assertIndexesAgree()

    def test_track_can_be_neither_read_nor_changed(self):
        """A track handed out by trusted code is still closed to him."""
        track = ProxyFactory(self.storage['0000001'])
        self.assertNamesRefused(track, IReadTrack.names(all=True))
        self.assertNamesRefused(track, IWriteTrack.names(all=True))
        self.assertSettingRefused(track, writableFields(IReadTrack))
        with self.assertRaises(REFUSED):
            track.data = {}
        self.assertEqual(self.state(), self.before)
        self.assertIndexesAgree()

    def test_run_cannot_be_read(self):
        run = ProxyFactory(self.storage.getRun(runId=1))
        self.assertNamesRefused(run, IRun.names(all=True))
        self.assertEqual(self.state(), self.before)


class ViewPermissionTests(SecurityTestCase):
    """View opens the query API, and only that."""

    def setUp(self):
        super().setUp()
        self.before = self.state()
        self.proxy = self.login(VIEW)

    def assertReadableTrack(self, track):
        self.assertProxied(track)
        self.assertNamesReadable(track, IReadTrack.names(all=True))

    def assertReadableRun(self, run):
        self.assertProxied(run)
        self.assertNamesReadable(run, IRun.names(all=True))

    def test_query_methods_work(self):
        proxy = self.proxy
        self.assertEqual([t.__name__ for t in proxy.query(taskId='task1')],
                         ['0000001', '0000002', '0000004'])
        self.assertEqual(len(proxy.getUserTracks('task1', 1, 'alice')), 1)
        self.assertEqual(proxy.getLastUserTrack('task1', 0, 'alice').data,
                         {'answer': 3})
        self.assertEqual(proxy.getUserNames('task1'), ['alice', 'bob'])
        self.assertEqual(proxy.getTaskIds(), ['task1', 'task2'])
        self.assertEqual(proxy.getRun('task1').id, 3)
        self.assertEqual([r.id for r in proxy.getRuns()], [1, 2, 3])
        self.assertEqual([r.id for r in proxy.getRuns('task1')], [1, 3])

    def test_container_operations_work(self):
        proxy = self.proxy
        self.assertEqual(len(proxy), 4)
        self.assertIn('0000001', proxy)
        self.assertEqual(list(proxy),
                         ['0000001', '0000002', '0000003', '0000004'])
        self.assertEqual(proxy['0000003'].data, {'answer': [1, 2]})
        self.assertEqual(proxy.get('0000009'), None)

    def test_returned_tracks_are_proxied_and_readable(self):
        """What the storage gives out is protected by its own checker."""
        proxy = self.proxy
        self.assertReadableTrack(proxy['0000001'])
        self.assertReadableTrack(proxy.getLastUserTrack('task1', 0, 'alice'))
        for track in proxy.getUserTracks('task1', 1, 'alice'):
            self.assertReadableTrack(track)
        for track in proxy.values():
            self.assertReadableTrack(track)

    def test_query_result_is_proxied_and_usable(self):
        """Iteration, indexing, slicing and reversed() of a proxied result."""
        result = self.proxy.query()
        self.assertProxied(result)
        self.assertEqual(len(result), 4)
        tracks = list(result)
        for track in tracks:
            self.assertReadableTrack(track)
        self.assertReadableTrack(result[-1])
        part = result[1:3]
        self.assertProxied(part)
        self.assertEqual([t.__name__ for t in part], ['0000002', '0000003'])
        backwards = list(reversed(result))
        for track in backwards:
            self.assertReadableTrack(track)
        self.assertEqual([t.__name__ for t in backwards],
                         ['0000004', '0000003', '0000002', '0000001'])

    def test_returned_runs_are_proxied_and_readable(self):
        proxy = self.proxy
        self.assertReadableRun(proxy.getRun('task1'))
        self.assertReadableRun(proxy.getRun(runId=1))
        for run in proxy.getRuns():
            self.assertReadableRun(run)
        runs = proxy.getRuns('task1')
        self.assertProxied(runs)
        for run in reversed(runs):
            self.assertReadableRun(run)

    def test_write_and_manage_api_is_refused(self):
        proxy = self.proxy
        self.assertNamesRefused(proxy, ITrackingStorageWrite.names(all=True))
        self.assertNamesRefused(proxy, ITrackingStorageManage.names(all=True))
        with self.assertRaises(Unauthorized):
            proxy.saveUserTrack('task1', 0, 'carol', {})
        with self.assertRaises(Unauthorized):
            proxy.startRun('task3')
        with self.assertRaises(Unauthorized):
            del proxy['0000001']
        self.assertEqual(self.state(), self.before)
        self.assertIndexesAgree()

    def test_track_cannot_be_changed(self):
        track = self.proxy['0000001']
        with self.assertRaises(Unauthorized):
            track.data = {'answer': 99}
        self.assertSettingRefused(track, writableFields(IReadTrack))
        with self.assertRaises(Unauthorized):
            track.update({'answer': 99})
        self.assertEqual(self.state(), self.before)


class SavePermissionTests(SecurityTestCase):
    """Save adds the write API: saving, updating, runs; not removing."""

    def setUp(self):
        super().setUp()
        self.proxy = self.login(VIEW, SAVE)

    def test_saveUserTrack_works(self):
        trackId = self.proxy.saveUserTrack('task1', 0, 'carol', {'answer': 5})
        self.assertEqual(trackId, '0000005')
        self.assertEqual(self.storage[trackId].data, {'answer': 5})
        self.assertEqual(self.storage[trackId].runId, 3)
        self.assertEqual(len(self.storage), 5)
        self.assertIndexesAgree()

    def test_updateTrack_works_with_proxied_track(self):
        """A view gets its track from the proxied storage and passes it
        back: the storage must accept the proxy."""
        track = self.proxy['0000001']
        self.assertEqual(self.proxy.updateTrack(track, {'extra': 'x'}),
                         '0000001')
        self.assertEqual(self.storage['0000001'].data,
                         {'answer': 1, 'extra': 'x'})
        self.assertEqual(track.data, {'answer': 1, 'extra': 'x'})
        self.assertIndexesAgree()

    def test_track_update_works_through_proxy(self):
        track = self.proxy['0000002']
        track.update({'answer': 20}, overwrite=True)
        self.assertEqual(self.storage['0000002'].data, {'answer': 20})
        self.assertIndexesAgree()

    def test_startRun_and_stopRun_work(self):
        runId = self.proxy.startRun('task2')
        self.assertEqual(runId, 4)
        self.assertEqual(self.storage.getRun('task2').id, 4)
        self.assertEqual(self.proxy.stopRun('task2'), 4)
        self.assertIsNone(self.storage.getRun('task2'))
        self.assertTrue(self.storage.getRun(runId=4).finished)

    def test_setting_track_data_is_allowed(self):
        """set_schema: the track may be changed; the change is stored (at
        once: the storage is in no database; in one, when the transaction
        commits, or at once with modified(), next test)."""
        track = self.proxy['0000001']
        track.data = {'answer': 10}
        self.assertEqual(track.data, {'answer': 10})
        self.assertEqual(decodeRecord(self.storage._records[1])[4],
                         {'answer': 10})
        transaction.commit()
        self.assertEqual(decodeRecord(self.storage._records[1])[4],
                         {'answer': 10})
        self.assertIndexesAgree()

    def test_modified_proxied_track_is_stored(self):
        """How a changed working copy is stored: modified() makes the
        subscriber call reindexTrack with the proxied track."""
        track = self.proxy['0000001']
        track.data = {'answer': 10}
        zope.lifecycleevent.modified(track)
        self.assertEqual(self.storage['0000001'].data, {'answer': 10})
        self.assertIndexesAgree()

    def test_remove_is_refused(self):
        before = self.state()
        proxy = self.proxy
        self.assertNamesRefused(proxy, ITrackingStorageManage.names(all=True))
        with self.assertRaises(Unauthorized):
            proxy.removeTrack(proxy['0000001'])
        with self.assertRaises(Unauthorized):
            del proxy['0000001']
        self.assertEqual(self.state(), before)
        self.assertIndexesAgree()


class ManagePermissionTests(SecurityTestCase):
    """Manage adds removing tracks and maintaining the indexes."""

    def setUp(self):
        super().setUp()
        self.proxy = self.login(VIEW, SAVE, MANAGE)

    def test_removeTrack_works_with_proxied_track(self):
        self.proxy.removeTrack(self.proxy['0000001'])
        self.assertEqual(list(self.storage),
                         ['0000002', '0000003', '0000004'])
        self.assertIndexesAgree()

    def test_delitem_works(self):
        del self.proxy['0000002']
        self.assertEqual(list(self.storage),
                         ['0000001', '0000003', '0000004'])
        self.assertEqual(self.storage.getUserNames('task1'), ['alice'])
        self.assertIndexesAgree()

    def test_index_maintenance_works(self):
        self.proxy.reindexTracks()
        self.assertEqual(self.proxy.checkIndexes(), [])
        self.assertEqual(len(self.storage), 4)


class PublicLocationTests(SecurityTestCase):
    """Where the storage lives is no secret: URLs of its pages work for
    everybody allowed to see them."""

    def setUp(self):
        super().setUp()
        self.site = self.storage.__parent__ = Folder()
        self.storage.__name__ = 'tracking'

    def test_parent_and_name_are_readable_by_everybody(self):
        proxy = self.login()
        self.assertIs(removeSecurityProxy(proxy.__parent__), self.site)
        self.assertEqual(proxy.__name__, 'tracking')

    def test_parent_and_name_are_declared_public(self):
        """Declared, not just left to zope.security's defaults."""
        permissions = getCheckerForInstancesOf(TrackingStorage).get_permissions
        self.assertIs(permissions['__parent__'], CheckerPublic)
        self.assertIs(permissions['__name__'], CheckerPublic)


class ConfigurationTests(SecurityTestCase):

    def test_checkers_are_registered(self):
        for cls in (TrackingStorage, Track, Run, LazyResult):
            with self.subTest(cls=cls.__name__):
                self.assertIsNotNone(getCheckerForInstancesOf(cls))

    def test_grants_are_cleaned_up_by_component_teardown(self):
        """The global grants of these tests don't leak into others."""
        grants = principalPermissionManager.getPrincipalsAndPermissions
        self.login(VIEW)
        self.assertEqual([grant[:2] for grant in grants()],
                         [(VIEW, 'zope.with.View')])
        zope.component.testing.tearDown()
        self.assertEqual(grants(), [])
        # what tearDown() cleans up once more
        zope.component.testing.setUp()
        loadSecureConfiguration()
