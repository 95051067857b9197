"""Installing storages into a site: the functions, the start-up
subscriber and the ``++tracking++`` namespace."""

import unittest

import zope.component.testing
import zope.site
from ZODB import DB
from ZODB.MappingStorage import MappingStorage
from zope.processlifetime import DatabaseOpenedWithRoot
from zope.configuration import xmlconfig
from zope.location.interfaces import LocationError
from zope.site.folder import rootFolder
from zope.site.site import LocalSiteManager

from cybertools.tracking.notify.base import Notification
from cybertools.tracking.installation import ROOT_NAME
from cybertools.tracking.installation import addTrackingStorage
from cybertools.tracking.installation import ensureTrackingStorage
from cybertools.tracking.installation import removeTrackingStorage
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.startup import installTrackingStorage
from cybertools.tracking.testing import loadSecureConfiguration
from cybertools.tracking.traversal import TrackingNamespace


def makeSite():
    site = rootFolder()
    site.setSiteManager(LocalSiteManager(site))
    return site


class InstallationTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        # the lookup of a site's components from its content
        xmlconfig.file('configure.zcml', zope.site)
        self.site = makeSite()

    def test_named_storages_with_their_options(self):
        storage = addTrackingStorage(self.site, 'shared',
                                     trackFactory=Notification)
        self.assertIs(storage.trackFactory, Notification)
        self.assertIs(ensureTrackingStorage(self.site, 'shared'), storage)
        self.assertIs(self.site.getSiteManager().getUtility(
            ITrackingStorage, 'shared'), storage)

    def test_a_folder_name_in_use_is_refused(self):
        self.site.getSiteManager()['default']['tracking'] = rootFolder()
        with self.assertRaises(ValueError):
            addTrackingStorage(self.site)
        self.assertIsNone(self.site.getSiteManager().queryUtility(
            ITrackingStorage))

    def test_a_sub_site_gets_a_storage_of_its_own(self):
        root = addTrackingStorage(self.site)
        self.site['sub'] = sub = rootFolder()
        sub.setSiteManager(LocalSiteManager(sub))
        own = ensureTrackingStorage(sub)
        self.assertIsNot(own, root)
        self.assertIs(zope.component.queryUtility(
            ITrackingStorage, context=sub), own)

    def test_removing_a_storage(self):
        storage = addTrackingStorage(self.site, 'gone')
        self.assertIs(removeTrackingStorage(self.site, 'gone'), storage)
        self.assertIsNone(self.site.getSiteManager().queryUtility(
            ITrackingStorage, 'gone'))
        self.assertNotIn('tracking-gone',
                         self.site.getSiteManager()['default'])
        self.assertIsNone(removeTrackingStorage(self.site, 'gone'))

    def test_new_storages_from_the_factory(self):
        from zope.component import createObject
        self.assertIsInstance(
            createObject('cybertools.tracking.TrackingStorage'),
            TrackingStorage)

    def test_the_namespace_finds_the_storages_of_the_site(self):
        storage = addTrackingStorage(self.site)
        favorites = addTrackingStorage(self.site, 'favorites')
        namespace = TrackingNamespace(self.site, None)
        self.assertIs(namespace.traverse('', []), storage)
        self.assertIs(namespace.traverse('favorites', []), favorites)
        with self.assertRaises(LocationError):
            namespace.traverse('nothing', [])


class StartupTest(unittest.TestCase):
    """The subscriber to IDatabaseOpenedWithRoot."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.db = DB(MappingStorage())
        self.addCleanup(self.db.close)

    def storages(self):
        with self.db.transaction() as conn:
            site = conn.root().get(ROOT_NAME)
            if site is None:
                return None
            return [name for name in site.getSiteManager()['default']]

    def test_adds_the_storage_once(self):
        with self.db.transaction() as conn:
            conn.root()[ROOT_NAME] = makeSite()
        installTrackingStorage(DatabaseOpenedWithRoot(self.db))
        self.assertEqual(self.storages(), ['tracking'])
        lastTransaction = self.db.lastTransaction()
        installTrackingStorage(DatabaseOpenedWithRoot(self.db))
        self.assertEqual(self.storages(), ['tracking'])
        # nothing to add, nothing committed
        self.assertEqual(self.db.lastTransaction(), lastTransaction)

    def test_a_database_without_root_folder_is_left_alone(self):
        installTrackingStorage(DatabaseOpenedWithRoot(self.db))
        self.assertIsNone(self.storages())

    def test_a_failure_commits_nothing(self):
        with self.db.transaction() as conn:
            site = conn.root()[ROOT_NAME] = makeSite()
            site.getSiteManager()['default']['tracking'] = rootFolder()
        lastTransaction = self.db.lastTransaction()
        # logged: the server starts all the same
        with self.assertLogs('cybertools.tracking', 'ERROR') as logged:
            installTrackingStorage(DatabaseOpenedWithRoot(self.db))
        self.assertIn('could not add a tracking storage',
                      logged.output[0])
        self.assertIn('ValueError', logged.output[0])
        self.assertEqual(self.db.lastTransaction(), lastTransaction)
