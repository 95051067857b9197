"""The package's narrative doctests."""

import doctest
import unittest

import zope.component.testing

FLAGS = (doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
         | doctest.REPORT_NDIFF)


def test_suite():
    return unittest.TestSuite([
        doctest.DocFileSuite(
            '../README.txt',
            setUp=zope.component.testing.setUp,
            tearDown=zope.component.testing.tearDown,
            optionflags=FLAGS),
    ])
