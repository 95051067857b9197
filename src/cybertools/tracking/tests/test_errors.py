"""The error log and the error pages, called directly (the demo's tests
reach them over HTTP)."""

import sys
import unittest

import zope.component.testing
from zope.location.interfaces import LocationError
from zope.publisher.browser import TestRequest
from zope.publisher.interfaces import NotFound
from zope.security.interfaces import Unauthorized
from zope.traversing.adapters import DefaultTraversable

from cybertools.tracking.browser.errors import ErrorLog
from cybertools.tracking.browser.errors import ServerErrorPage
from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.namespace import view
from cybertools.tracking.browser.protection import CrossSiteRequest


def excInfo(error):
    try:
        raise error
    except Exception:
        return sys.exc_info()


class ErrorLogTest(unittest.TestCase):

    def test_client_errors_in_one_line_others_with_a_traceback(self):
        log = ErrorLog()
        request = TestRequest()
        with self.assertLogs('cybertools.tracking.errors', 'INFO') as cm:
            for error in (NotFound(object(), 'x'), Unauthorized('x'),
                          CrossSiteRequest('x'), BadFormValue('x')):
                log.raising(excInfo(error), request)
        self.assertEqual([record.levelname for record in cm.records],
                         ['INFO'] * 4)
        self.assertTrue(all(record.exc_info is None
                            for record in cm.records))
        with self.assertLogs('cybertools.tracking.errors', 'INFO') as cm:
            log.raising(excInfo(KeyError('broken')), request)
        [record] = cm.records
        self.assertEqual(record.levelname, 'ERROR')
        self.assertIs(record.exc_info[0], KeyError)


class ErrorPageTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        # page templates traverse their paths with it
        zope.component.provideAdapter(DefaultTraversable, (None,))

    def tearDown(self):
        zope.component.testing.tearDown()

    def test_a_server_error_page(self):
        request = TestRequest()
        page = ServerErrorPage(KeyError('broken'), request)
        text = page()
        self.assertEqual(request.response.getStatus(), 500)
        self.assertIn('<h1 id="error-title">A server error occurred</h1>',
                      text)
        self.assertNotIn('broken', text)      # no details for the client
        self.assertIn('href="http://127.0.0.1/@@tracking.css"', text)


class ViewNamespaceTest(unittest.TestCase):

    def test_an_empty_view_name_is_not_found(self):
        with self.assertRaises(LocationError):
            view(object(), TestRequest()).traverse('', ())
