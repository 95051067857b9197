"""Test layers for Plone 6 (plone.app.testing): a portal with the add-on's
configuration, and a WSGI server on 127.0.0.1 over it. The profile is
installed by the tests (installing it is what they check)."""

from plone.app.testing import PLONE_FIXTURE
from plone.app.testing import FunctionalTesting
from plone.app.testing import PloneSandboxLayer
from zope.configuration import xmlconfig

import cybertools.tracking
from cybertools.tracking.zopetesting import LoopbackWSGIServer


class TrackingPloneFixture(PloneSandboxLayer):

    defaultBases = (PLONE_FIXTURE,)

    def setUpZope(self, app, configurationContext):
        xmlconfig.file('configure.zcml', cybertools.tracking,
                       context=configurationContext)
        xmlconfig.file('saving.zcml', cybertools.tracking.tests,
                       context=configurationContext)


PLONE_FIXTURE_TRACKING = TrackingPloneFixture()


PLONE_SERVER_FIXTURE = LoopbackWSGIServer(
    bases=(PLONE_FIXTURE_TRACKING,), name='TrackingPloneWSGIServer')

PLONE_SERVER = FunctionalTesting(
    bases=(PLONE_SERVER_FIXTURE,), name='TrackingPlone:Functional')
