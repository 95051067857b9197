"""The package's narrative doctests, and the example of the top-level
README where the package runs from a checkout."""

import os
import unittest

from cybertools.tracking.testing import docFileSuite

HERE = os.path.dirname(__file__)
PROJECT_README = os.path.join(HERE, '..', '..', '..', '..', 'README.txt')


def test_suite():
    suite = unittest.TestSuite([
        docFileSuite('README.txt', 'integration.txt',
                     package='cybertools.tracking')])
    if os.path.exists(PROJECT_README):
        suite.addTest(docFileSuite(os.path.abspath(PROJECT_README),
                                   package=None, module_relative=False))
    return suite
