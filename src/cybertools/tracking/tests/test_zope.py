"""The package in Zope 5/6: its configuration, installing storages in the
root and in a sub-site, the views over HTTP for each kind of user, and
restricted code (Python Scripts)."""

import unittest
from urllib.error import HTTPError
from urllib.parse import urlencode

import transaction
from zope.component import getUtility
from zope.component import queryUtility

from cybertools.tracking.installation import addTrackingStorage
from cybertools.tracking.installation import ensureTrackingStorage
from cybertools.tracking.installation import queryOwnStorage
from cybertools.tracking.installation import removeTrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.testing import basicAuthorization

try:
    from cybertools.tracking.zopetesting import PASSWORD
    from cybertools.tracking.zopetesting import ZOPE_SERVER
except ImportError:     # no Zope in this environment
    ZOPE_SERVER = None


def skipWithoutZope(cls):
    if ZOPE_SERVER is None:
        return unittest.skip('Zope is not installed')(cls)
    cls.layer = ZOPE_SERVER
    return cls


class ZTKConfigurationTest(unittest.TestCase):
    """With Zope installed or not, a ZTK application gets the ZTK
    declarations."""

    def setUp(self):
        import zope.component.testing
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)

    def test_no_zope_feature_in_a_ztk_application(self):
        import zope.component
        import zope.security
        from zope.configuration import xmlconfig
        from zope.security.checker import getCheckerForInstancesOf

        import cybertools.tracking
        from cybertools.tracking.btree import Track
        from cybertools.tracking.metaconfigure import ZOPE_FEATURE
        context = None
        for package in (zope.component, zope.security, cybertools.tracking):
            context = xmlconfig.file('configure.zcml', package,
                                     context=context)
        self.assertFalse(context.hasFeature(ZOPE_FEATURE))
        checker = getCheckerForInstancesOf(Track)
        self.assertEqual(checker.setattr_permission_id('data'),
                         'cybertools.tracking.Save')


@skipWithoutZope
class ZopeConfigurationTest(unittest.TestCase):

    def test_no_warning_at_start_up(self):
        self.assertEqual(self.layer['configurationWarnings'], [])

    def test_the_permissions_are_zope_permissions_with_default_roles(self):
        app = self.layer['app']
        roles = {permission['name']: permission for permission in
                 app.permission_settings()}
        self.assertIn('View tracks', roles)
        self.assertIn('Save tracks', roles)
        self.assertIn('Manage tracking storages', roles)
        self.assertEqual(
            sorted(r['name'] for r in app.rolesOfPermission('View tracks')
                   if r['selected']),
            ['Authenticated', 'Manager'])
        self.assertEqual(
            [r['name'] for r in app.rolesOfPermission(
                'Manage tracking storages') if r['selected']],
            ['Manager'])


@skipWithoutZope
class ZopeInstallationTest(unittest.TestCase):

    def test_root_and_sub_site_have_storages_of_their_own(self):
        app = self.layer['app']
        root = queryOwnStorage(app)
        sub = queryOwnStorage(app['sub'])
        self.assertIsNotNone(root)
        self.assertIsNotNone(sub)
        self.assertIsNot(root, sub)
        self.assertIs(getUtility(ITrackingStorage, context=app['sub']), sub)

    def test_a_folder_is_made_a_site(self):
        app = self.layer['app']
        app.manage_addFolder('plain')
        storage = ensureTrackingStorage(app['plain'], 'favorites')
        self.assertIs(ensureTrackingStorage(app['plain'], 'favorites'),
                      storage)
        self.assertIs(queryUtility(ITrackingStorage, 'favorites',
                                   context=app['plain']), storage)
        # the root's storage is found from below, as utilities are
        self.assertIs(queryUtility(ITrackingStorage, context=app['plain']),
                      queryOwnStorage(app))
        with self.assertRaises(ValueError):
            addTrackingStorage(app['plain'], 'favorites')

    def test_the_storage_keeps_its_place_in_the_site(self):
        app = self.layer['app']
        storage = queryOwnStorage(app['sub'])
        self.assertEqual([getattr(o, '__name__', None) for o in
                          storage.__parent__.__parent__.aq_chain],
                         ['sub', ''])
        self.assertEqual(storage.__parent__.path, ('', 'sub'))

    def test_removing_a_storage(self):
        app = self.layer['app']
        app.manage_addFolder('gone')
        storage = addTrackingStorage(app['gone'])
        self.assertIs(removeTrackingStorage(app['gone']), storage)
        self.assertIsNone(queryOwnStorage(app['gone']))
        self.assertIsNone(removeTrackingStorage(app['gone']))


class HTTPTestCase(unittest.TestCase):

    def url(self, path):
        return 'http://%s:%i%s' % (self.layer['host'], self.layer['port'],
                                   path)

    def open(self, login, path, data=None):
        """The body of the answer, or the HTTP error's code."""
        from urllib.request import Request, urlopen
        request = Request(self.url(path), data=data)
        if login:
            request.add_header('Authorization',
                               basicAuthorization(login, PASSWORD))
        try:
            with urlopen(request, timeout=30) as answer:
                return answer.read().decode()
        except HTTPError as error:
            error.close()
            return error.code

    def script(self, login, path, **args):
        return self.open(login, '%s?%s' % (path, urlencode(args)))

    def forgetObjects(self):
        """Drop the objects cached in memory, as a restart does: the next
        request loads them from the database."""
        self.layer['zodbDB'].cacheMinimize()


@skipWithoutZope
class ZopeViewsTest(HTTPTestCase):

    def setUp(self):
        with self.layer['zodbDB'].transaction() as conn:
            app = conn.root()['Application']
            for site, user in ((app, 'alice'), (app, 'bob'),
                               (app['sub'], 'carol'), (app['sub'], 'alice')):
                queryOwnStorage(site).saveUserTrack('quiz', 0, user,
                                                    {'answer': user})

    def test_everybody_sees_his_own_tracks(self):
        page = self.open('alice', '/++tracking++/tracks.html')
        self.assertIsInstance(page, str)
        self.assertIn('alice', page)
        self.assertNotIn('bob', page)

    def test_a_form_field_is_no_principal(self):
        # Zope's request also gives form fields as attributes
        page = self.open('alice', '/++tracking++/tracks.html?principal=bob')
        self.assertIsInstance(page, str, page)
        self.assertIn('alice', page)
        self.assertNotIn('bob', page)

    def test_a_manager_sees_all_tracks_and_the_runs(self):
        page = self.open('admin', '/++tracking++/tracks.html')
        self.assertIn('alice', page)
        self.assertIn('bob', page)
        self.assertIsInstance(self.open('admin', '/++tracking++/runs.html'),
                              str)

    def test_anonymous_and_ordinary_users_are_refused(self):
        self.assertEqual(self.open(None, '/++tracking++/tracks.html'), 401)
        self.assertIn(self.open('alice', '/++tracking++/runs.html'),
                      (401, 403))

    def test_a_track_page_for_its_user_and_managers(self):
        page = self.open('admin', '/++tracking++/tracks.html')
        self.assertIsInstance(page, str)
        with self.layer['zodbDB'].transaction() as conn:
            storage = queryOwnStorage(conn.root()['Application'])
            [alices] = storage.query(userName='alice')
            [bobs] = storage.query(userName='bob')
            alices, bobs = alices.__name__, bobs.__name__
        self.assertIn('alice', self.open('alice', '/++tracking++/' + alices))
        self.assertIn('alice', self.open('admin', '/++tracking++/' + alices))
        self.assertIn(self.open('alice', '/++tracking++/' + bobs),
                      (401, 403))

    def test_users_above_a_sub_site_keep_their_rights_after_a_restart(self):
        self.forgetObjects()
        page = self.open('admin', '/sub/++tracking++/tracks.html')
        self.assertIn('carol', page)
        self.assertIn('alice', page)
        page = self.open('alice', '/sub/++tracking++/tracks.html')
        self.assertIn('alice', page)
        self.assertNotIn('carol', page)
        # the sub-site's users: only there
        self.assertIn('carol', self.open('carol',
                                         '/sub/++tracking++/tracks.html'))
        self.assertEqual(self.open('carol', '/++tracking++/tracks.html'),
                         401)
        self.assertIn('carol', self.open('dora',
                                         '/sub/++tracking++/tracks.html'))
        self.assertEqual(self.open('dora', '/++tracking++/runs.html'), 401)


@skipWithoutZope
class ZopeRestrictedCodeTest(HTTPTestCase):

    def test_a_script_saves_and_reads_tracks(self):
        for site in ('', '/sub'):
            self.forgetObjects()
            answer = self.script('admin', site + '/saveTrack', task='exam',
                                 user='alice', answer='42')
            self.assertRegex(answer, r'^\d+$')
            self.forgetObjects()
            self.assertEqual(
                self.script('admin', site + '/readTracks', task='exam'),
                'exam 1 alice 42\n1 tracks, run 1 open')

    def test_the_permissions_decide(self):
        # Authenticated users may save and read by default ...
        self.assertRegex(self.script('bob', '/saveTrack', task='essay',
                                     user='bob', answer='yes'), r'^\d+$')
        self.assertIn('bob yes', self.script('bob', '/readTracks',
                                             task='essay'))
        # ... anonymous users neither
        self.assertEqual(self.script(None, '/saveTrack', task='essay',
                                     user='bob', answer='no'), 401)
        self.assertEqual(self.script(None, '/readTracks', task='essay'), 401)

    def test_no_permission_no_tracks(self):
        app = self.layer['app']
        app.manage_permission('View tracks', ['Manager'], acquire=False)
        transaction.commit()
        try:
            self.script('admin', '/saveTrack', task='hidden', user='bob',
                        answer='x')
            self.assertEqual(self.script('bob', '/readTracks',
                                         task='hidden'), 401)
            self.assertIn('bob x', self.script('admin', '/readTracks',
                                               task='hidden'))
        finally:
            app.manage_permission('View tracks', [], acquire=True)
            transaction.commit()
