"""The narrative of Zope 5/6 and Plone (zope.txt), run in a Zope
application."""

import doctest
import unittest

from cybertools.tracking.testing import DOCTEST_FLAGS

try:
    from cybertools.tracking.zopetesting import ZOPE_INTEGRATION
except ImportError:     # no Zope in this environment
    ZOPE_INTEGRATION = None


def setUp(test):
    test.globs['app'] = ZOPE_INTEGRATION['app']


def test_suite():
    if ZOPE_INTEGRATION is None:
        return unittest.TestSuite()
    suite = doctest.DocFileSuite(
        'zope.txt', package='cybertools.tracking', setUp=setUp,
        optionflags=DOCTEST_FLAGS)
    suite.layer = ZOPE_INTEGRATION
    return suite
