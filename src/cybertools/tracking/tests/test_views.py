"""The listing views: what they show, and that a page loads only the
tracks it shows."""

import unittest

import zope.component.testing
from zope.publisher.browser import TestRequest
from zope.security.management import endInteraction
from zope.security.management import newInteraction
from zope.security.management import setSecurityPolicy
from zope.security.simplepolicies import PermissiveSecurityPolicy

from cybertools.tracking.browser.views import RunListing
from cybertools.tracking.browser.views import TrackListing
from cybertools.tracking.browser.views import parseTime
from cybertools.tracking.browser.views import showTime
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import recordLoads


class ListingTestCase(unittest.TestCase):
    """Views called by a principal who may do everything."""

    def setUp(self):
        zope.component.testing.setUp()
        self.oldPolicy = setSecurityPolicy(PermissiveSecurityPolicy)
        self.storage = TrackingStorage()
        for i in range(45):
            self.storage.saveUserTrack('task%i' % (i % 3), 0, 'user%i' % (i % 5),
                                       {'i': i}, timeStamp=1700000000 + i)

    def tearDown(self):
        endInteraction()
        setSecurityPolicy(self.oldPolicy)
        zope.component.testing.tearDown()

    def view(self, cls, **form):
        request = TestRequest(form=form)
        request.setPrincipal(Principal('user1'))
        newInteraction(request)
        view = cls(self.storage, request)
        view.__name__ = 'tracks.html'
        return view

    def countLoads(self):
        """Record the tracks the storage loads from here on."""
        return recordLoads(self, self.storage)

class TrackListingTest(ListingTestCase):

    def test_a_page_loads_only_the_tracks_it_shows(self):
        loads = self.countLoads()
        view = self.view(TrackListing, start='20')
        view.update()
        self.assertEqual(view.total, 45)
        self.assertEqual(len(loads), 20)
        self.assertEqual([t.data['i'] for t in view.items],
                         list(range(24, 4, -1)))

    def test_filters(self):
        view = self.view(TrackListing, task='task1', user='user1',
                         **{'from': '2023-11-14 22:13:30', 'to': '2023-11-14'})
        view.update()
        self.assertIsNone(view.error)
        self.assertEqual([t.data['i'] for t in view.items], [31, 16])

    def test_links_to_other_pages_keep_the_filters(self):
        view = self.view(TrackListing, task='task*')
        view.update()
        self.assertIsNone(view.newerUrl)
        self.assertEqual(view.olderUrl, 'tracks.html?task=task%2A&start=20')
        self.assertEqual(view.shown, '1 to 20 of 45')

    def test_bad_filters_give_a_message_and_400(self):
        for form, message in (({'run': 'x'}, "run must be a number: 'x'"),
                              ({'from': 'yesterday'}, "'yesterday' is not"),
                              ({'from': '2024-02-01', 'to': '2024-01-01'},
                               'is later than timeTo')):
            with self.subTest(form=form):
                view = self.view(TrackListing, **form)
                view.update()
                self.assertIn(message, view.error)
                self.assertEqual(view.request.response.getStatus(), 400)
                self.assertEqual(view.items, [])
                endInteraction()

    def test_start_out_of_range_shows_the_last_page(self):
        view = self.view(TrackListing, start='1000')
        view.update()
        self.assertEqual([t.data['i'] for t in view.items], [0])


class RunListingTest(ListingTestCase):

    def test_runs_newest_first_with_their_track_counts(self):
        view = self.view(RunListing)
        view.update()
        rows = list(view.rows())
        self.assertEqual([(row['id'], row['taskId'], row['tracks'])
                          for row in rows],
                         [(3, 'task2', 15), (2, 'task1', 15), (1, 'task0', 15)])
        self.assertEqual(rows[0]['state'], 'open')


class TimeTest(unittest.TestCase):

    def test_parse_and_show(self):
        self.assertEqual(parseTime('2023-11-14 22:13:20'), 1700000000)
        self.assertEqual(parseTime('2023-11-14T22:13'), 1699999980)
        self.assertEqual(showTime(parseTime('2023-11-14', endOfDay=True)),
                         '2023-11-14 23:59:59')
        self.assertEqual(showTime(None), '')
