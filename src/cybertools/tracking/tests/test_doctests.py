"""The package's narrative doctests, and the example of the top-level
README where the package runs from a checkout."""

import doctest
import os
import unittest

import zope.component.testing

FLAGS = (doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
         | doctest.REPORT_NDIFF)

HERE = os.path.dirname(__file__)
PROJECT_README = os.path.join(HERE, '..', '..', '..', '..', 'README.txt')


def docFileSuite(path, **kw):
    return doctest.DocFileSuite(
        path,
        setUp=zope.component.testing.setUp,
        tearDown=zope.component.testing.tearDown,
        optionflags=FLAGS, **kw)


def test_suite():
    suite = unittest.TestSuite([docFileSuite('../README.txt'),
                                docFileSuite('../integration.txt')])
    if os.path.exists(PROJECT_README):
        suite.addTest(docFileSuite(os.path.abspath(PROJECT_README),
                                   module_relative=False))
    return suite
