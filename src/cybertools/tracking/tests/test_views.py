"""The listing views: what they show, and that a page loads only the
tracks it shows; their helpers for form values, escaping, CSV cells and the
activity picture's periods."""

import time
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
from cybertools.tracking.browser.download import spreadsheetSafe
from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.forms import formInteger
from cybertools.tracking.browser.forms import formText
from cybertools.tracking.browser.text import ShownText
from cybertools.tracking.browser.text import cleanValue
from cybertools.tracking.browser.text import escapeSurrogates
from cybertools.tracking.browser.text import hasSurrogates
from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.demo.activity import DAY
from cybertools.tracking.demo.activity import periodUnit
from cybertools.tracking.demo.activity import periods
from cybertools.tracking.demo.activity import tracksPerPeriod
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
        endInteraction()
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


class StepTrack(Track):
    """A track type with indexes on two data fields."""

    index_attributes = Track.metadata_attributes + ('step', 'score')


class DataSearchTest(ListingTestCase):

    def setUp(self):
        super().setUp()
        self.storage = TrackingStorage(trackFactory=StepTrack)
        for i, step in enumerate(['q1', 'q2', 'q1', 'q10']):
            self.storage.saveUserTrack('quiz', 0, 'user1',
                                       {'step': step, 'score': i},
                                       timeStamp=1700000000 + i)

    def test_the_data_indexes_are_search_fields(self):
        view = self.view(TrackListing, **{'data.step': 'q1'})
        view.update()
        self.assertEqual(view.dataFields, ['step', 'score'])
        self.assertIsNone(view.error)
        self.assertEqual([t.data['score'] for t in view.items], [2, 0])
        self.assertEqual(view.downloadUrl('csv'), 'tracks.csv?data.step=q1')

    def test_prefixes_and_numbers(self):
        view = self.view(TrackListing, **{'data.step': 'q1*'})
        view.update()
        self.assertEqual([t.data['score'] for t in view.items], [3, 2, 0])
        view = self.view(TrackListing, **{'data.score': '1'})
        view.update()
        self.assertIsNone(view.error)
        self.assertEqual([t.data['step'] for t in view.items], ['q2'])
        view = self.view(TrackListing, **{'data.score': 'many'})
        view.update()
        self.assertEqual(view.request.response.getStatus(), 400)

    def test_a_storage_without_data_indexes_has_no_search_fields(self):
        self.storage = TrackingStorage()
        view = self.view(TrackListing, **{'data.step': 'q1'})
        view.update()
        self.assertEqual(view.dataFields, [])
        self.assertNotIn('data.step', view.filters)


class FormValueTest(unittest.TestCase):

    def test_text_only(self):
        self.assertEqual(formText({'a': ' x '}, 'a'), 'x')
        self.assertEqual(formText({}, 'a'), '')
        for value, message in ((['x', 'y'], 'given twice'),
                               (float('inf'), 'not a float'),
                               ('x' * 1001, 'at most 1000')):
            with self.subTest(value=value):
                with self.assertRaises(BadFormValue) as cm:
                    formText({'a': value}, 'a')
                self.assertIn(message, str(cm.exception))

    def test_whole_numbers_in_a_range(self):
        self.assertEqual(formInteger({}, 'n', 14, 1, 366), 14)
        self.assertEqual(formInteger({'n': '366'}, 'n', 14, 1, 366), 366)
        for value in ('0', '367', 'x', '1e3'):
            with self.subTest(value=value):
                with self.assertRaises(BadFormValue):
                    formInteger({'n': value}, 'n', 14, 1, 366)


class EscapingTest(unittest.TestCase):

    def test_lone_surrogates_are_escaped(self):
        self.assertEqual(escapeSurrogates('a\ud800b\udfff'),
                         'a\\ud800b\\udfff')
        self.assertEqual(escapeSurrogates('caf\xe9 \U0001f600'),
                         'caf\xe9 \U0001f600')
        self.assertTrue(hasSurrogates({'k': ['x', {'\udc00': 1}]}))
        self.assertFalse(hasSurrogates({'k': ['x', 1.5, None]}))
        self.assertEqual(cleanValue({'k\ud800': ['\udc00']}),
                         {'k\\ud800': ['\\udc00']})
        show = ShownText()
        self.assertEqual(show('plain'), 'plain')
        self.assertFalse(show.escaped)
        self.assertEqual(show('x\ud800'), 'x\\ud800')
        self.assertTrue(show.escaped)

    def test_spreadsheet_safe_cells(self):
        for cell in ('=1+1', '+1', '-1', '@A1', '\tx', '\rx'):
            self.assertEqual(spreadsheetSafe(cell), "'" + cell)
        for cell in ('1', 'quiz', '', ' =1', "{\"a\": 1}"):
            self.assertEqual(spreadsheetSafe(cell), cell)


class PeriodTest(unittest.TestCase):

    now = 1700006400.0 + 3600          # 2023-11-15 01:00 UTC, a Wednesday

    def test_days_weeks_and_months(self):
        day = periods(1, self.now)
        self.assertEqual(day, [(1700006400.0, 1700006400.0 + DAY)])
        self.assertEqual(len(periods(31, self.now)), 31)
        weeks = periods(60, self.now)
        self.assertEqual(periodUnit(60), 'week')
        # the first period starts with the range, the others on Mondays
        self.assertEqual(weeks[0][0], 1700006400.0 - 59 * DAY)
        for start, end in weeks[1:]:
            self.assertEqual(time.gmtime(start).tm_wday, 0)
        months = periods(366, self.now)
        self.assertEqual(len(months), 13)
        self.assertEqual(time.gmtime(months[1][0])[1:3], (12, 1))
        self.assertEqual(months[-1][1], 1700006400.0 + DAY)
        # the periods cover the range without gaps or overlaps
        for found in (weeks, months):
            for (start, end), (nextStart, nextEnd) in zip(found, found[1:]):
                self.assertEqual(end, nextStart)

    def test_counts_per_period(self):
        storage = TrackingStorage()
        for days in (0, 1, 8, 40, 400):
            storage.saveUserTrack('t', 0, 'u', {},
                                  timeStamp=self.now - days * DAY)
        unit, counts = tracksPerPeriod(storage, 't', 366, self.now)
        self.assertEqual(unit, 'month')
        self.assertEqual(sum(count for start, end, count in counts), 4)
        self.assertEqual(counts[-1][2], 3)          # November 2023
        unit, counts = tracksPerPeriod(storage, 't', 1, self.now)
        self.assertEqual(counts[0][2], 1)


class TrackStreamTest(unittest.TestCase):
    """A download reads the tracks through a connection of its own, a
    batch at a time, and closes it."""

    def test_streamed_in_batches_on_its_own_connection(self):
        import transaction
        from ZODB import DB
        from ZODB.DemoStorage import DemoStorage
        from cybertools.tracking.browser.download import BATCH
        from cybertools.tracking.browser.download import TrackStream
        from cybertools.tracking.browser.download import csvLines
        db = DB(DemoStorage())
        self.addCleanup(db.close)
        with db.transaction() as connection:
            storage = connection.root()['tracks'] = TrackingStorage()
            for i in range(BATCH * 2 + 1):
                storage.saveUserTrack('=t', 0, 'u', {'i': i},
                                      timeStamp=1700000000 + i)
        oid = storage._p_oid
        transaction.abort()
        stream = TrackStream(db, oid, {'taskId': '=t'}, csvLines)
        chunks = iter(stream)
        first = next(chunks)
        self.assertIsNotNone(stream.connection)
        rest = list(chunks)
        self.assertIsNone(stream.connection)        # closed at the end
        self.assertEqual(len(rest), 2)
        lines = b''.join([first] + rest).decode().splitlines()
        self.assertEqual(len(lines), BATCH * 2 + 2)     # with the header
        self.assertTrue(lines[1].startswith("0000001,2023-11-14 22:13:20,'=t,"))
        # a client that goes away closes the connection too
        stream = TrackStream(db, oid, {'taskId': '=t'}, csvLines)
        chunks = iter(stream)
        next(chunks)
        chunks.close()
        self.assertIsNone(stream.connection)
