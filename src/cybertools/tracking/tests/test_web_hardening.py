"""Hostile requests to the demo application, over HTTP (issue 11).

One demo server runs for all of them, on a database with records an older
version stored with lone surrogates (``demo.testing.PLANTED``): no page may
break on them. The rest knocks on every door a browser or a script can
reach: form values that are no text, bodies nested too deeply, forms
posted from another site, tracks saved into other users' runs, and
addresses that used to end in a server error.
"""

import http.server
import json
import os
import re
import threading
import unittest
import xml.etree.ElementTree as ElementTree
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler
from urllib.request import Request
from urllib.request import build_opener
from urllib.request import urlopen

from cybertools.tracking.demo.testing import PlantedDemoLayer
from cybertools.tracking.demo.tests import ChromiumTestCase
from cybertools.tracking.demo.tests import DemoTestCase
from cybertools.tracking.demo.tests import browserMissing
from cybertools.tracking.testing import basicAuthorization
from cybertools.tracking.tests.test_functional import tableRows
from cybertools.tracking.tests.test_functional import trackRows

NOTE = 'not valid Unicode'


class NoRedirect(HTTPRedirectHandler):
    """Shows a redirect instead of following it."""

    def redirect_request(self, *args):
        return None


class HardeningTestCase(DemoTestCase):

    layer = PlantedDemoLayer

    def page(self, login, path, status=200):
        """The text of a page, checking its status."""
        code, contentType, body = self.request('GET', path, login=login)
        self.assertEqual(code, status, body[:500])
        return body.decode('utf-8')

    def formPost(self, login, path, fields, headers=()):
        """(status, body) of a form POST."""
        return self.post(login, path, urlencode(fields).encode(),
                         'application/x-www-form-urlencoded', headers)

    def post(self, login, path, body, contentType, headers=()):
        """(status, body) of a POST, redirects not followed."""
        request = Request(self.server.url + path, data=body, method='POST')
        request.add_header('Content-Type', contentType)
        request.add_header('Authorization',
                           basicAuthorization(login, login + 'pw'))
        for name, value in headers:
            request.add_header(name, value)
        try:
            with build_opener(NoRedirect).open(request,
                                               timeout=30) as response:
                return response.status, response.read().decode()
        except HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def token(self, login, task='quiz'):
        """The form token on a task page of the user."""
        match = re.search(r'name="_csrf" value="([0-9a-f]+)"',
                          self.page(login, '/' + task))
        return match.group(1)

    def quizState(self, login):
        row = [row for row in tableRows(self.page(login, '/'), 'tasks')
               if row[0] == 'A short quiz'][0]
        return row[2]

    def serverLog(self):
        with open(os.path.join(self.layer.directory, 'server.log')) as f:
            return f.read()


class StoredSurrogatesTest(HardeningTestCase):
    """Finding 1: records with lone surrogates break no page."""

    def assertEscaped(self, text):
        self.assertIn('\\ud800', text)
        self.assertIn(NOTE, text)

    def test_the_listings_and_the_track_page_show_them_escaped(self):
        # the planted tracks are the oldest
        tracks = self.page('manager',
                           '/++tracking++/tracks.html?to=2023-11-30')
        self.assertEscaped(tracks)
        self.assertIn('odd\\ud800task', tracks)
        self.assertIn('note\\udc00', tracks)
        self.assertEscaped(self.page(
            'manager', '/++tracking++/runs.html?user=eve*'))
        for trackId in self.layer.planted:
            with self.subTest(trackId=trackId):
                self.assertEscaped(self.page(
                    'manager', '/++tracking++/' + trackId))

    def test_their_user_sees_them_too(self):
        # alice owns the first planted track
        self.assertEscaped(self.page(
            'alice', '/++tracking++/tracks.html?to=2023-11-30'))
        self.assertEscaped(self.page(
            'alice', '/++tracking++/' + self.layer.planted[0]))
        self.assertEscaped(self.page(
            'alice', '/++tracking++/tracks.html?task=odd*'))

    def test_the_demo_pages_and_the_activity_picture_work(self):
        for login in ('alice', 'manager'):
            for path in ('/', '/quiz', '/reading'):
                with self.subTest(login=login, path=path):
                    self.page(login, path)
        svg = ElementTree.fromstring(self.page(
            'manager', '/@@activity.svg?task=quiz'))
        states = {rect.get('data-state'): int(rect.get('data-count'))
                  for rect in svg.iter('{http://www.w3.org/2000/svg}rect')
                  if rect.get('class') == 'state'}
        self.assertGreaterEqual(states['open'], 1)      # eve's run

    def test_downloads_write_them_escaped(self):
        csvText = self.page('manager', '/++tracking++/tracks.csv')
        self.assertIn('odd\\ud800task', csvText)
        records = json.loads(self.page('manager',
                                       '/++tracking++/tracks.json'))
        planted = [record for record in records
                   if record['id'] in self.layer.planted]
        self.assertEqual([record['taskId'] for record in planted],
                         ['odd\\ud800task', 'quiz'])
        self.assertEqual(planted[1]['userName'], 'eve\\ud800')
        self.assertEqual(planted[0]['data'], {'note\\udc00': 'half \\ud800 pair'})


class SaveTrackInputTest(HardeningTestCase):
    """Findings 1 and 2 at the JSON endpoint: 400 with a message."""

    def test_refused_bodies(self):
        deep = '[' * 30000 + ']' * 30000
        cases = [
            (b'{"taskId": "x\\ud800", "data": {}}', 'not valid Unicode'),
            (b'{"taskId": "x", "data": {"a\\udc00": 1}}', 'not valid Unicode'),
            (('{"taskId": "x", "data": {"v": %s}}' % deep).encode(),
             'nested too deeply'),
            (('{"taskId": "x", "data": {"v": %s1%s}}'
              % ('[' * 60, ']' * 60)).encode(), 'nest'),
            (b'{"taskId": "x", "data": {"v": 18446744073709551616}}',
             '64'),
            (json.dumps({'taskId': 'x' * 1001, 'data': {}}).encode(),
             '1000'),
        ]
        for body, message in cases:
            with self.subTest(body=body[:60]):
                status, answer = self.saveTrack('alice', body)
                self.assertEqual(status, 400, answer)
                self.assertIn(message, answer['error'])
        # nothing was saved, and no run was started for these
        self.assertEqual(trackRows(self.open(
            'manager', '/++tracking++/tracks.html?task=x')), [])
        self.assertNotIn('Traceback', self.serverLog())


class CrossSiteTest(HardeningTestCase):
    """Finding 3: forms and the JSON endpoint refuse other sites, and no
    page may be framed."""

    def test_a_task_form_without_the_token_changes_nothing(self):
        browser = self.start('bob', 'quiz')
        self.assertIn('Step 1 of 3', browser.contents)
        token = self.token('bob')
        for fields, headers in (
                ({'action': 'stop'}, ()),
                ({'action': 'stop', '_csrf': 'f' * 64}, ()),
                ({'action': 'stop', '_csrf': self.token('alice')}, ()),
                ({'action': 'stop', '_csrf:list': token}, ()),
                ({'action': 'stop', '_csrf': token},
                 (('Origin', 'http://127.0.0.1:1'),)),
                ({'action': 'stop', '_csrf': token},
                 (('Sec-Fetch-Site', 'same-site'),))):
            with self.subTest(fields=fields, headers=headers):
                status, body = self.formPost('bob', '/quiz', fields, headers)
                self.assertEqual(status, 403)
                self.assertIn('nothing was changed', body)
                self.assertEqual(self.quizState('bob'),
                                 'in progress: step 1 of 3')
        # with the token of the page, from the page's own origin
        status, body = self.formPost(
            'bob', '/quiz', {'action': 'stop', '_csrf': token},
            (('Origin', self.server.url),))
        self.assertEqual(status, 303)
        self.assertEqual(self.quizState('bob'), 'stopped')

    def test_the_json_endpoint_refuses_other_sites(self):
        body = json.dumps({'taskId': 'cross', 'data': {}}).encode()
        for headers in ((('Origin', 'http://evil.example'),),
                        (('Sec-Fetch-Site', 'cross-site'),),
                        (('Origin', 'null'),)):
            with self.subTest(headers=headers):
                status, answer = self.post('alice', '/@@save-track', body,
                                           'application/json', headers)
                self.assertEqual(status, 403)
                self.assertIn('another site', json.loads(answer)['error'])
        status, answer = self.post(
            'alice', '/@@save-track', body, 'application/json',
            (('Origin', self.server.url), ('Sec-Fetch-Site', 'same-origin')))
        self.assertEqual(status, 201)

    def test_no_page_may_be_framed(self):
        for login, path in ((None, '/'), ('alice', '/quiz'),
                            ('alice', '/++tracking++/tracks.html'),
                            ('manager', '/@@activity.svg?task=quiz'),
                            ('alice', '/no-such-page'),
                            (None, '/quiz')):
            with self.subTest(path=path, login=login):
                request = Request(self.server.url + path)
                if login:
                    request.add_header('Authorization', basicAuthorization(
                        login, login + 'pw'))
                try:
                    response = urlopen(request, timeout=30)
                except HTTPError as error:
                    response = error
                with response:
                    self.assertEqual(response.headers['X-Frame-Options'],
                                     'DENY')
                    self.assertEqual(
                        response.headers['Content-Security-Policy'],
                        "frame-ancestors 'none'")


class OwnRunsTest(HardeningTestCase):
    """Finding 4: @@save-track saves only into the user's own open run of
    the same task; posted data counts for no score."""

    def runOf(self, login, task='quiz'):
        browser = self.start(login, task)
        return int(re.search(r'data-run="(\d+)"', browser.contents).group(1))

    def test_only_into_an_open_run_of_ones_own(self):
        alicesRun = self.runOf('alice')
        readingRun = self.runOf('alice', 'reading')
        cases = [
            ('bob', 'quiz', alicesRun, 'is not yours'),
            ('alice', 'reading', alicesRun, 'a run of another task'),
            ('alice', 'quiz', readingRun, 'a run of another task'),
            ('alice', 'quiz', 999999, 'there is no run 999999'),
        ]
        for login, task, runId, message in cases:
            with self.subTest(login=login, task=task, runId=runId):
                status, answer = self.saveTrack(
                    login, {'taskId': task, 'runId': runId,
                            'data': {'step': 'stop'}})
                self.assertEqual(status, 409)
                self.assertIn(message, answer['error'])
        status, answer = self.saveTrack(
            'alice', {'taskId': 'quiz', 'runId': alicesRun,
                      'data': {'helpful': True}})
        self.assertEqual(status, 201)
        # a finished run takes nothing more
        self.workThroughQuiz('alice', ['b', 'c', 'a'])
        finished = int([row for row in tableRows(self.page(
            'manager', '/++tracking++/runs.html?task=quiz&user=demo.alice'),
            'runs')][0][0])
        status, answer = self.saveTrack(
            'alice', {'taskId': 'quiz', 'runId': finished, 'data': {}})
        self.assertEqual(status, 409)
        self.assertIn('is finished', answer['error'])

    def test_posted_tracks_count_for_no_score_or_step(self):
        runId = self.runOf('bob')
        for step in ('q1', 'q2', 'q3'):
            status, answer = self.saveTrack(
                'bob', {'taskId': 'quiz', 'runId': runId,
                        'data': {'step': step, 'answer': 'x',
                                 'correct': True, 'posted': False}})
            self.assertEqual(status, 201)
        self.assertEqual(self.quizState('bob'), 'in progress: step 1 of 3')
        rows = trackRows(self.open(
            'manager', '/++tracking++/tracks.html?run=%i' % runId))
        posted = [json.loads(row[4]) for row in rows
                  if 'correct' in json.loads(row[4])]
        self.assertEqual([data['posted'] for data in posted], [True] * 3)
        browser = self.workThroughQuiz('bob', ['a', 'a', 'b'])
        self.assertIn('0 of 3 answers correct', browser.contents)

    def test_without_a_run_a_user_gets_a_run_of_his_own(self):
        status, first = self.saveTrack('alice',
                                       {'taskId': 'notes', 'data': {}})
        self.assertEqual(status, 201)
        status, second = self.saveTrack('bob', {'taskId': 'notes', 'data': {}})
        self.assertEqual(status, 201)
        status, third = self.saveTrack('bob', {'taskId': 'notes', 'data': {}})
        rows = {row[0]: row for row in trackRows(self.open(
            'manager', '/++tracking++/tracks.html?task=notes'))}
        self.assertNotEqual(rows[first['trackId']][2],
                            rows[second['trackId']][2])
        self.assertEqual(rows[second['trackId']][2],
                         rows[third['trackId']][2])


class NoServerErrorsTest(HardeningTestCase):
    """Finding 8: what used to answer 500."""

    def test_client_errors_are_client_errors(self):
        cases = [
            ('manager', '/++tracking++/tracks.html?start:float=inf', 400),
            ('manager', '/++tracking++/tracks.html?task=a&task=b', 400),
            ('manager', '/++tracking++/tracks.html?task:list=a', 400),
            ('manager', '/++tracking++/tracks.html?task.x:record=a', 400),
            ('manager', '/++tracking++/runs.html?state:list=open', 400),
            ('manager', '/++tracking++/runs.html?state=gone', 400),
            ('manager', '/++tracking++/tracks.csv?user:list=x', 400),
            ('manager', '/@@activity.svg?task=quiz&days:float=inf', 400),
            ('manager', '/@@activity.svg?task=quiz&days=367', 400),
            ('manager', '/@@activity.svg?task:list=quiz', 400),
            (None, '/++attribute++__class__', 404),
            (None, '/@@/x', 404),
            (None, '/@@', 404),
            (None, '/++etc++site', 404),
            ('manager', '/++etc++site', 404),
            (None, '/no-such-page', 404),
            (None, '/++tracking++/tracks.html', 401),
        ]
        for login, path, status in cases:
            with self.subTest(login=login, path=path):
                self.page(login, path, status)
        status, body = self.formPost('alice', '/quiz', {
            'action': 'start', '_csrf': self.token('alice')})
        status, body = self.formPost('alice', '/quiz', {
            'action': 'step', 'step': 'q1', 'answer:list': 'b',
            '_csrf': self.token('alice')})
        self.assertEqual(status, 400)
        self.assertIn('Choose one of the answers.', body)
        status, body = self.formPost('alice', '/quiz', {
            'action:list': 'stop', '_csrf': self.token('alice')})
        self.assertEqual(status, 400)

    def test_each_error_is_logged_once_and_the_icon_exists(self):
        status, contentType, icon = self.request('GET', '/favicon.ico')
        self.assertEqual((status, contentType), (200, 'image/x-icon'))
        self.assertTrue(icon.startswith(b'\0\0\1\0'))
        before = self.serverLog()
        self.page(None, '/no-such-page-%i' % len(before), 404)
        log = self.serverLog()[len(before):]
        self.assertEqual(len([line for line in log.splitlines()
                              if 'no-such-page' in line]), 1, log)
        self.assertNotIn('Traceback', log)


class OtherSite:
    """A page of another origin (a port of its own on 127.0.0.1) that
    posts a form to the demo as soon as it loads."""

    def __init__(self, target):
        page = ('<!DOCTYPE html><html><body><h1>Win a prize</h1>'
                '<form id="attack" method="post" action="%s/quiz">'
                '<input type="hidden" name="action" value="stop"></form>'
                '<script>document.getElementById("attack").submit();'
                '</script></body></html>' % target).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Type', 'text/html')
                self.send_header('Content-Length', str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        # threads: a connection the browser opens ahead and leaves idle
        # must not hold up the next request or the shutdown
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%i/' % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@unittest.skipIf(browserMissing(), browserMissing())
class RealBrowserHardeningTest(ChromiumTestCase, HardeningTestCase):
    """Headless Chromium: another site's form is refused, and the stored
    surrogates leave every page working (screenshots of them all)."""

    layer = PlantedDemoLayer

    def test_a_form_posted_from_another_site_is_refused(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        alice = self.chromium('alice')
        alice.get(self.server.url + '/quiz')
        alice.implicitly_wait(0)
        if alice.find_elements(By.ID, 'stop'):
            self.follow(alice, By.ID, 'stop')
        alice.implicitly_wait(10)
        self.follow(alice, By.ID, 'start')
        self.assertEqual(self.quizState('alice'), 'in progress: step 1 of 3')
        other = OtherSite(self.server.url)
        try:
            alice.get(other.url)
            WebDriverWait(alice, 10).until(
                lambda driver: driver.current_url.startswith(self.server.url))
            self.assertEqual(alice.find_element(By.ID, 'error-title').text,
                             'Refused')
            self.screenshot(alice, 'cross-site.png')
        finally:
            other.stop()
        self.assertEqual(self.quizState('alice'), 'in progress: step 1 of 3')
        # the page's own form still works
        alice.get(self.server.url + '/quiz')
        self.follow(alice, By.ID, 'stop')
        self.assertEqual(self.quizState('alice'), 'stopped')

    def test_every_page_works_with_the_stored_surrogates(self):
        from selenium.webdriver.common.by import By
        manager = self.chromium('manager')
        alice = self.chromium('alice')
        pages = [
            (manager, '/++tracking++/tracks.html?to=2023-11-30', 'tracks',
             True),
            (manager, '/++tracking++/runs.html?user=eve*', 'runs', True),
            (manager, '/++tracking++/' + self.layer.planted[0], 'track',
             True),
            (alice, '/++tracking++/tracks.html?to=2023-11-30',
             'tracks-alice', True),
            (manager, '/', 'start', False),
            (alice, '/quiz', 'quiz', False),
            (alice, '/no-such-page', 'not-found', False),
            (alice, '/++tracking++/runs.html', 'forbidden', False),
        ]
        for driver, path, name, escaped in pages:
            with self.subTest(path=path):
                driver.get(self.server.url + path)
                self.assertNotIn('server error', driver.title.lower())
                self.assertTrue(driver.find_element(By.ID, 'nav-start'))
                # no waiting for an element that should not be there
                driver.implicitly_wait(0)
                notes = driver.find_elements(By.ID, 'escaped')
                driver.implicitly_wait(10)
                self.assertEqual(bool(notes), escaped)
                if escaped:
                    self.assertIn('\\ud800', driver.find_element(
                        By.TAG_NAME, 'main').text)
                self.screenshot(driver, 'planted-%s.png' % name)
        for days in (1, 60, 366):
            manager.get(self.server.url
                        + '/@@activity.svg?task=quiz&days=%i' % days)
            self.assertEqual(len(manager.find_elements(
                By.CSS_SELECTOR, 'rect.state')), 3)
            self.screenshot(manager, 'planted-activity-%i.png' % days)
