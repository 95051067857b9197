"""The original's views (browser.TrackView, browser.TrackingStorageView):
their attributes, the pages they render, that they go through the
storage's security, and the storage view in the test application."""

import unittest

import zope.component
import zope.component.testing
from zope.configuration import xmlconfig
from zope.interface import Interface
from zope.publisher.browser import TestRequest
from zope.publisher.interfaces.browser import IDefaultBrowserLayer
from zope.security.checker import ProxyFactory
from zope.security.interfaces import Forbidden
from zope.security.interfaces import Unauthorized
from zope.security.management import endInteraction
from zope.security.management import newInteraction

from cybertools.tracking.browser import TrackView
from cybertools.tracking.browser import TrackingStorageView
from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.testing import Participation
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import ServerTestCase
from cybertools.tracking.testing import loadSecureConfiguration
from cybertools.tracking.tests.test_compat import setTimeZone
from cybertools.tracking.tests.test_functional import ApplicationLayer
from cybertools.tracking.tests.test_functional import tableRows

T0 = 1700000000


class Message(Track):
    """A track type with a metadata attribute of its own (kept out of a
    storage here: the view only reads ``metadata``)."""

    metadata_attributes = Track.metadata_attributes + ('state',)
    typeName = 'Message'


class LinkedTrackView(TrackView):
    """An application's view of its tracks, as loops writes them."""

    @property
    def taskTitle(self):
        return 'Task %s' % self.task

    taskUrl = 'http://example.com/task'


class ViewTestCase(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        xmlconfig.string("""
            <configure xmlns="http://namespaces.zope.org/zope">
              <include package="zope.component" />
              <include package="zope.traversing" />
            </configure>""")
        setTimeZone(self, 'Europe/Berlin')
        self.storage = TrackingStorage()
        for i in range(5):
            self.storage.saveUserTrack('task%i' % (i % 2), 0, 'user%i' % i,
                                       {'i': i}, timeStamp=T0 + 60 * i)


class TrackViewTest(ViewTestCase):

    def test_attributes(self):
        view = TrackView(self.storage['0000002'], TestRequest())
        self.assertEqual(view.id, '0000002')
        self.assertEqual((view.task, view.taskTitle, view.taskUrl),
                         ('task1', 'task1', None))
        self.assertEqual((view.user, view.userTitle, view.userUrl),
                         ('user1', 'user1', None))
        self.assertEqual(view.run, 2)
        # local time, to the minute
        self.assertEqual(view.timeStamp, '2023-11-14 23:14')
        self.assertEqual(view.additionalMetadataFields, [])
        self.assertEqual(view.metadata['userName'], 'user1')
        self.assertEqual(view.getMetadataTarget('taskId'),
                         {'title': 'task1', 'url': None, 'obj': 'task1'})

    def test_additional_metadata(self):
        message = Message('task', 1, 'alice', {})
        message.state = 'new'
        message.__name__ = '0000007'
        view = TrackView(message, TestRequest())
        self.assertEqual(view.additionalMetadataFields, ['state'])
        self.assertEqual(view.getMetadataTarget('state')['title'], 'new')

    def test_page(self):
        html = TrackView(self.storage['0000001'], TestRequest())()
        self.assertIn('<h1>Track 0000001</h1>', html)
        self.assertIn('<td>2023-11-14 23:13</td>', html)
        self.assertIn("{'i': 0}", html)

    def test_subclass_titles_and_links(self):
        html = LinkedTrackView(self.storage['0000001'], TestRequest())()
        self.assertIn('<a href="http://example.com/task">Task task0</a>',
                      html)

    def test_values_are_escaped(self):
        name = self.storage.saveUserTrack(
            '<script>alert(1)</script>', 0, '"><b>x</b>', {'k': '<i>'})
        html = TrackView(self.storage[name], TestRequest())()
        self.assertNotIn('<script>', html)
        self.assertNotIn('<b>x', html)
        self.assertNotIn('<i>', html)
        self.assertIn('&lt;script&gt;', html)


class TrackingStorageViewTest(ViewTestCase):

    def test_newest_first(self):
        view = TrackingStorageView(self.storage, TestRequest())
        self.assertEqual([v.id for v in view.getTracks()],
                         ['0000005', '0000004', '0000003', '0000002',
                          '0000001'])
        self.assertTrue(all(type(v) is TrackView for v in view.getTracks()))

    def test_a_page_of_tracks(self):
        view = TrackingStorageView(self.storage, TestRequest())
        view.batchSize = 2
        self.assertEqual([v.id for v in view.getTracks()],
                         ['0000005', '0000004'])

    def test_registered_track_views(self):
        zope.component.provideAdapter(
            LinkedTrackView, (ITrack, IDefaultBrowserLayer), Interface,
            name='index.html')
        view = TrackingStorageView(self.storage, TestRequest())
        views = list(view.getTracks())
        self.assertTrue(all(type(v) is LinkedTrackView for v in views))
        self.assertIn('Task task0', view())

    def test_other_registered_views_are_not_used(self):
        class Other:
            def __init__(self, context, request):
                pass

        zope.component.provideAdapter(
            Other, (ITrack, IDefaultBrowserLayer), Interface,
            name='index.html')
        view = TrackingStorageView(self.storage, TestRequest())
        self.assertTrue(all(type(v) is TrackView for v in view.getTracks()))

    def test_page(self):
        html = TrackingStorageView(self.storage, TestRequest())()
        self.assertEqual(html.count('<tr>'), 6)
        self.assertLess(html.index('0000005'), html.index('0000001'))
        self.assertIn('<td>user3</td>', html)


class SecurityTest(unittest.TestCase):
    """The storage view reads the storage through its security proxy."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.addCleanup(endInteraction)
        self.storage = TrackingStorage()
        self.storage.saveUserTrack('t', 0, 'alice', {})

    def test_without_the_view_permission(self):
        newInteraction(Participation(Principal('nobody')))
        view = TrackingStorageView(ProxyFactory(self.storage), TestRequest())
        with self.assertRaises((Unauthorized, Forbidden)):
            list(view.getTracks())


class OriginalViewsInTheApplicationTest(ServerTestCase):
    """The storage view as an application registers it (see
    tests/app/configure.zcml), over HTTP."""

    layer = ApplicationLayer

    def test_managers_see_the_newest_tracks(self):
        names = []
        for login in ('alice', 'bob'):
            browser = self.open(login, '/@@work?task=original&n=%s' % login)
            names.append(browser.contents.split()[1])
        browser = self.open('mgr', '/++tracking++/original.html')
        rows = tableRows(browser.contents, 'tracks')
        self.assertEqual([row[0] for row in rows][:2], names[::-1])
        self.assertEqual([rows[0][1], rows[0][3]], ['original', 'zope.bob'])
        self.assertTrue(rows[0][2].isdigit())
        self.assertRegex(rows[0][4], r'^\d{4}-\d\d-\d\d \d\d:\d\d$')

    def test_others_are_refused(self):
        for login in ('alice', 'nobody', None):
            with self.subTest(login=login):
                self.assertRefused(login, '/++tracking++/original.html')
