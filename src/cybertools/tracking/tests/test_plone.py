"""The add-on in Plone 6: installing and uninstalling the profile, the
views for the portal's roles, and saving from a view with plone.protect's
token."""

import unittest
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler
from urllib.request import Request
from urllib.request import build_opener

import transaction

from cybertools.tracking.installation import queryOwnStorage
from cybertools.tracking.testing import basicAuthorization

try:
    from plone.app.testing import SITE_OWNER_NAME
    from plone.app.testing import SITE_OWNER_PASSWORD
    from plone.app.testing import TEST_USER_ID
    from plone.app.testing import TEST_USER_NAME
    from plone.app.testing import TEST_USER_PASSWORD
    from plone.app.testing import login
    from plone.base.utils import get_installer

    from cybertools.tracking.plonetesting import PLONE_SERVER
except ImportError:     # no Plone in this environment
    PLONE_SERVER = None

PRODUCT = 'cybertools.tracking'


class NoRedirects(HTTPRedirectHandler):

    def redirect_request(self, *args):
        return None


def skipWithoutPlone(cls):
    if PLONE_SERVER is None:
        return unittest.skip('Plone is not installed')(cls)
    cls.layer = PLONE_SERVER
    return cls


@skipWithoutPlone
class PloneTest(unittest.TestCase):

    def setUp(self):
        self.portal = self.layer['portal']
        self.installer = get_installer(self.portal, self.layer['request'])
        self.installer.install_product(PRODUCT)
        transaction.commit()

    def open(self, path, login=None, password=None, data=None):
        """The answer's code and body (redirects are not followed: Plone
        sends anonymous users to its login form)."""
        request = Request(self.portal.absolute_url().replace(
            'http://nohost', 'http://%s:%i' % (self.layer['host'],
                                               self.layer['port'])) + path,
            data=data)
        if login:
            request.add_header('Authorization',
                               basicAuthorization(login, password))
        try:
            with build_opener(NoRedirects).open(request, timeout=60) as r:
                return r.status, r.read().decode()
        except HTTPError as error:
            error.close()
            return error.code, ''

    def test_install_and_uninstall(self):
        storage = queryOwnStorage(self.portal)
        self.assertIsNotNone(storage)
        self.assertTrue(self.installer.is_product_installed(PRODUCT))
        self.installer.uninstall_product(PRODUCT)
        self.assertIsNone(queryOwnStorage(self.portal))
        self.assertFalse(self.installer.is_product_installed(PRODUCT))
        # only the default profile is offered
        from cybertools.tracking.plone import HiddenProfiles
        self.assertEqual(HiddenProfiles().getNonInstallableProfiles(),
                         [PRODUCT + ':uninstall'])

    def test_the_views_for_the_portal_roles(self):
        storage = queryOwnStorage(self.portal)
        storage.saveUserTrack('quiz', 0, TEST_USER_ID, {'answer': 'mine'})
        storage.saveUserTrack('quiz', 0, 'somebody', {'answer': 'theirs'})
        transaction.commit()
        status, page = self.open('/++tracking++/tracks.html',
                                 TEST_USER_NAME, TEST_USER_PASSWORD)
        self.assertEqual(status, 200)
        self.assertIn('mine', page)
        self.assertNotIn('theirs', page)
        status, page = self.open('/++tracking++/tracks.html',
                                 SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        self.assertEqual(status, 200)
        self.assertIn('theirs', page)
        self.assertEqual(self.open('/++tracking++/runs.html',
                                   SITE_OWNER_NAME, SITE_OWNER_PASSWORD)[0],
                         200)
        self.assertIn(self.open('/++tracking++/runs.html', TEST_USER_NAME,
                                TEST_USER_PASSWORD)[0], (302, 401, 403))
        status, page = self.open('/++tracking++/tracks.html')
        self.assertIn(status, (302, 401))
        self.assertNotIn('mine', page)

    def test_saving_from_a_view_with_the_token(self):
        from plone.protect.authenticator import createToken
        login(self.portal, TEST_USER_NAME)
        token = createToken()
        refused = self.open('/@@save-answer', TEST_USER_NAME,
                            TEST_USER_PASSWORD,
                            data=urlencode({'answer': 'no'}).encode())
        self.assertEqual(refused[0], 403)
        status, trackId = self.open(
            '/@@save-answer', TEST_USER_NAME, TEST_USER_PASSWORD,
            data=urlencode({'answer': 'yes',
                            '_authenticator': token}).encode())
        self.assertEqual(status, 200)
        transaction.begin()
        storage = queryOwnStorage(self.portal)
        self.assertEqual([(t.userName, t.data) for t in storage.query()],
                         [(TEST_USER_ID, {'answer': 'yes'})])
