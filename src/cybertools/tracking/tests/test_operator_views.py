"""The views an operator uses, over HTTP against the demo (issue 13).

Runs with their users and filters, downloads of what a filter shows, user
titles, navigation, error pages in the same layout, and the activity
picture from 1 to 366 days. The server is the one of the hardening tests
(one start for both modules).
"""

import csv
import io
import json
import time
import xml.etree.ElementTree as ElementTree
from urllib.error import HTTPError
from urllib.request import Request
from urllib.request import urlopen

from cybertools.tracking.testing import basicAuthorization
from cybertools.tracking.tests.test_functional import tableRows
from cybertools.tracking.tests.test_functional import trackRows
from cybertools.tracking.tests.test_web_hardening import HardeningTestCase

SVG = '{http://www.w3.org/2000/svg}'


class RunListingTest(HardeningTestCase):

    def runs(self, query):
        return tableRows(self.page('manager', '/++tracking++/runs.html?'
                                   + query), 'runs')

    def test_users_state_and_end(self):
        self.workThroughQuiz('alice', ['b', 'c', 'a'])
        self.start('bob', 'quiz')
        rows = self.runs('task=quiz')
        alices = [row for row in rows if row[2] == 'Alice']
        bobs = [row for row in rows if row[2] == 'Bob']
        self.assertEqual(alices[0][5], 'finished')
        self.assertRegex(alices[0][4], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertEqual(bobs[0][5], 'open')
        self.assertEqual(bobs[0][4], '')        # no end for an open run

    def test_filters_by_user_and_state(self):
        self.start('bob', 'reading')
        rows = self.runs('user=demo.bob&task=reading')
        self.assertTrue(rows)
        self.assertEqual({row[2] for row in rows}, {'Bob'})
        self.assertEqual({row[1] for row in rows}, {'reading'})
        open_ = self.runs('state=open')
        self.assertTrue(open_)
        self.assertEqual({row[5] for row in open_}, {'open'})
        stopped = self.runs('state=stopped&user=demo.bob')
        self.assertEqual({row[5] for row in stopped} - {'stopped'}, set())
        self.assertEqual(self.runs('user=nobody.at.all'), [])


class DownloadTest(HardeningTestCase):

    def test_csv_and_json_hold_what_the_filter_shows(self):
        for i in range(23):
            status, answer = self.saveTrack(
                'alice', {'taskId': 'download', 'data': {'i': i}})
            self.assertEqual(status, 201)
        listing = self.open('manager',
                            '/++tracking++/tracks.html?task=download')
        shown = [row[0] for row in trackRows(listing)]
        listing.getLink('Older').click()
        shown += [row[0] for row in trackRows(listing)]
        self.assertEqual(len(shown), 23)

        listing.open(self.server.url
                     + '/++tracking++/tracks.html?task=download')
        listing.getLink('CSV').click()
        self.assertEqual(listing.headers['Content-Type'],
                         'text/csv; charset=utf-8')
        self.assertIn('attachment', listing.headers['Content-Disposition'])
        rows = list(csv.DictReader(io.StringIO(listing.contents)))
        self.assertEqual([row['id'] for row in rows], shown[::-1])
        self.assertEqual(json.loads(rows[0]['data']),
                         {'i': 0, 'posted': True})
        self.assertEqual({row['userName'] for row in rows}, {'demo.alice'})

        records = json.loads(self.page(
            'manager', '/++tracking++/tracks.json?task=download'))
        self.assertEqual([record['id'] for record in records], shown[::-1])
        self.assertEqual(records[-1]['data'], {'i': 22, 'posted': True})

    def test_cells_that_look_like_formulas_are_defused(self):
        for taskId in ('=HYPERLINK("http://x","y")', '+1', '-1', '@SUM(1)',
                       '\tx', '\rx'):
            status, answer = self.saveTrack(
                'bob', {'taskId': taskId, 'data': {}})
            self.assertEqual(status, 201, answer)
        text = self.page('manager', '/++tracking++/tracks.csv?user=demo.bob')
        tasks = {row['taskId'] for row in csv.DictReader(io.StringIO(text))}
        self.assertTrue({"'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-1",
                         "'@SUM(1)", "'\tx", "'\rx"} <= tasks, tasks)
        # JSON keeps the values as they are
        records = json.loads(self.page(
            'manager', '/++tracking++/tracks.json?user=demo.bob'))
        self.assertIn('=HYPERLINK("http://x","y")',
                      {record['taskId'] for record in records})

    def test_a_learner_downloads_his_own_tracks_and_bad_filters_get_400(self):
        self.saveTrack('bob', {'taskId': 'mine', 'data': {}})
        self.saveTrack('alice', {'taskId': 'mine', 'data': {}})
        records = json.loads(self.page(
            'alice', '/++tracking++/tracks.json?task=mine&user=demo.bob'))
        self.assertEqual({record['userName'] for record in records},
                         {'demo.alice'})
        self.page('alice', '/++tracking++/tracks.csv?run=x', 400)
        self.page('alice', '/++tracking++/tracks.json?from=yesterday', 400)
        self.page(None, '/++tracking++/tracks.csv', 401)


class UsersAndNavigationTest(HardeningTestCase):

    def test_titles_instead_of_ids(self):
        self.saveTrack('alice', {'taskId': 'titled', 'data': {}})
        page = self.page('manager', '/++tracking++/tracks.html?task=titled')
        self.assertIn('data-user="demo.alice" title="demo.alice">Alice<',
                      page)
        # an id the authentication does not know is shown as it is
        page = self.page('manager', '/++tracking++/tracks.html?user=eve*')
        self.assertIn('>eve\\ud800<', page)

    def test_navigation_and_log_out(self):
        manager = self.page('manager', '/++tracking++/tracks.html')
        for link in ('nav-start', 'nav-tracks', 'nav-runs', 'nav-logout'):
            self.assertIn('id="%s"' % link, manager)
        self.assertIn('/@@tracking.css"', manager)
        learner = self.page('alice', '/quiz')
        self.assertIn('id="nav-tracks"', learner)
        self.assertNotIn('id="nav-runs"', learner)
        anonymous = self.page(None, '/')
        self.assertIn('id="nav-login"', anonymous)
        self.assertNotIn('id="nav-tracks"', anonymous)

        status, contentType, body = self.request('GET', '/@@tracking.css')
        self.assertEqual(status, 200)
        self.assertTrue(contentType.startswith('text/css'), contentType)
        self.assertIn(b'nav {', body)
        request = Request(self.server.url + '/@@logout')
        request.add_header('Authorization',
                           basicAuthorization('alice', 'alicepw'))
        with self.assertRaises(HTTPError) as cm:
            urlopen(request, timeout=30)
        with cm.exception as error:
            self.assertEqual(error.code, 401)
            self.assertIn('basic realm="Zope"',
                          error.headers['WWW-Authenticate'])
            self.assertIn('You are logged out', error.read().decode())

    def test_error_pages_in_the_layout(self):
        for login, path, status, title in (
                ('alice', '/no-such-page', 404, 'Not found'),
                ('alice', '/++tracking++/runs.html', 403, 'Not allowed'),
                (None, '/quiz', 401, 'Please log in'),
                ('alice', '/++tracking++/9999999', 404, 'Not found')):
            with self.subTest(path=path, login=login):
                page = self.page(login, path, status)
                self.assertIn('<h1 id="error-title">%s</h1>' % title, page)
                self.assertIn('id="nav-start"', page)
                self.assertIn('/@@tracking.css"', page)
                self.assertNotIn('A server error occurred', page)


class ActivityRangeTest(HardeningTestCase):

    def picture(self, query):
        svg = ElementTree.fromstring(self.page(
            'manager', '/@@activity.svg?' + query))
        bars = [rect for rect in svg.iter(SVG + 'rect')
                if rect.get('class') == 'bar']
        labels = [text.text for text in svg.iter(SVG + 'text')
                  if text.get('class') == 'label']
        return svg, bars, labels

    def test_days_weeks_and_months(self):
        self.saveTrack('alice', {'taskId': 'ranged', 'data': {}})
        today = time.strftime('%Y-%m-%d', time.gmtime())
        for days, unit, low, high in ((1, 'day', 1, 1), (14, 'day', 14, 14),
                                      (60, 'week', 9, 10),
                                      (366, 'month', 12, 13)):
            with self.subTest(days=days):
                svg, bars, labels = self.picture('task=ranged&days=%i'
                                                 % days)
                self.assertTrue(low <= len(bars) <= high, len(bars))
                self.assertLessEqual(len(labels), 12)
                self.assertIn('Tracks per %s' % unit,
                              ElementTree.tostring(svg).decode())
                self.assertEqual(int(bars[-1].get('data-count')), 1)
                self.assertEqual(sum(int(bar.get('data-count'))
                                     for bar in bars), 1)
                if unit == 'day':
                    self.assertEqual(bars[-1].get('data-day'), today)

    def test_an_unknown_task_is_not_found(self):
        self.page('manager', '/@@activity.svg?task=no-such-task', 404)
        # the demo's own tasks have a picture before anybody worked on them
        self.page('manager', '/@@activity.svg?task=reading')
        # a name ending in * is a name, not a prefix
        self.page('manager', '/@@activity.svg?task=quiz*', 404)
