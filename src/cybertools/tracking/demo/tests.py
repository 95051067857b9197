"""The demo application, served by waitress in a subprocess.

zope.testbrowser and plain HTTP requests work through the tasks, the JSON
endpoint and the activity picture; a real browser (headless Chromium driven
by Selenium) does what a person would, when Debian's ``chromium`` and
``chromium-driver`` and the ``selenium`` package are installed.
"""

import json
import os
import shutil
import tempfile
import time
import unittest
import xml.etree.ElementTree as ElementTree
from urllib.error import HTTPError
from urllib.request import Request
from urllib.request import urlopen

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.demo import activity
from cybertools.tracking.demo.activity import DAY
from cybertools.tracking.testing import ServerTestCase
from cybertools.tracking.testing import basicAuthorization
from cybertools.tracking.demo.testing import DemoLayer
from cybertools.tracking.demo.users import LOGINS
from cybertools.tracking.tests.test_functional import tableRows
from cybertools.tracking.tests.test_functional import trackRows

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

SVG = '{http://www.w3.org/2000/svg}'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
CHROMIUM_ARGS = ('--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--window-size=1100,900')


def browserMissing():
    """Why the real browser test cannot run, or None."""
    if webdriver is None:
        return 'needs the selenium package (pip install selenium)'
    missing = [path for path in (CHROMIUM, CHROMEDRIVER)
               if not os.access(path, os.X_OK)]
    if missing:
        return ("needs Debian's chromium and chromium-driver (apt-get "
                'install -y chromium chromium-driver): %s not found'
                % ', '.join(missing))
    return None


def replaced(page):
    """A wait condition: the root element of a page is gone. While Chrome
    tears the old document down, it may answer that the element is in no
    document rather than stale (selenium's ``staleness_of`` raises that)."""
    def gone(driver):
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if 'does not belong to the document' in str(error):
                return True
            raise
        return False
    return gone


class DemoTestCase(ServerTestCase):

    layer = DemoLayer

    def request(self, method, path, body=None, login=None,
                contentType='application/json'):
        """(status, content type, body) of a plain HTTP request."""
        request = Request(self.server.url + path, method=method, data=body)
        if body is not None:
            request.add_header('Content-Type', contentType)
        if login:
            request.add_header('Authorization',
                               basicAuthorization(login, login + 'pw'))
        try:
            with urlopen(request, timeout=30) as response:
                return (response.status, response.headers['Content-Type'],
                        response.read())
        except HTTPError as error:
            with error:
                return (error.code, error.headers['Content-Type'],
                        error.read())

    def saveTrack(self, login, track):
        """POST a track to @@save-track: (status, answer)."""
        body = track if isinstance(track, bytes) else json.dumps(track)
        status, contentType, answer = self.request(
            'POST', '/@@save-track', body.encode() if isinstance(body, str)
            else body, login)
        if status in (201, 400, 403, 409):
            self.assertEqual(contentType, 'application/json')
            return status, json.loads(answer)
        return status, answer

    def start(self, login, task):
        """Open a task and start it (stopping the user's open run first,
        if a test before left one)."""
        browser = self.open(login, '/' + task)
        if 'Stop this task' in browser.contents:
            browser.getControl('Stop this task').click()
        browser.getControl('Start').click()
        return browser

    def workThroughQuiz(self, login, answers):
        browser = self.start(login, 'quiz')
        for number, answer in enumerate(answers, 1):
            self.assertIn('Step %i of 3' % number, browser.contents)
            browser.getControl(name='answer').value = [answer]
            browser.getControl(
                'Answer and finish' if number == len(answers)
                else 'Answer').click()
        return browser


class DemoApplicationTest(DemoTestCase):

    def test_the_server_prints_the_logins_that_work(self):
        printed = ''.join(self.server.output)
        self.assertIn('Serving the cybertools.tracking demo on %s/'
                      % self.server.url, printed)
        for login, password, role in LOGINS:
            with self.subTest(login=login):
                self.assertIn('%s / %s' % (login, password), printed)
                browser = self.open(login, '/@@login')
                self.assertEqual(browser.url, self.server.url + '/')
                self.assertIn('Logged in as', browser.contents)
                if role == 'manager':
                    self.open(login, '/++tracking++/runs.html')
                else:
                    self.assertRefused(login, '/++tracking++/runs.html')

    def test_anonymous_users_see_the_start_page_only(self):
        browser = self.open(None, '/')
        self.assertIn('Not logged in', browser.contents)
        self.assertEqual([row[0] for row in tableRows(browser.contents,
                                                      'users')],
                         [login for login, password, role in LOGINS])
        for path in ('/@@login', '/quiz', '/reading',
                     '/++tracking++/tracks.html',
                     '/@@activity.svg?task=quiz'):
            with self.subTest(path=path):
                self.assertRefused(None, path)

    def test_working_through_the_quiz(self):
        browser = self.workThroughQuiz('alice', ['b', 'a', 'a'])
        self.assertIn('You finished the quiz: 2 of 3 answers correct.',
                      browser.contents)
        browser.open(self.server.url + '/')
        row = [row for row in tableRows(browser.contents, 'tasks')
               if row[0] == 'A short quiz'][0]
        self.assertEqual(row[2], 'finished: 2 of 3 correct')

        # the manager sees the tracks of alice's run, and the run finished
        manager = self.open('manager', '/++tracking++/tracks.html'
                                       '?task=quiz&user=demo.alice')
        rows = trackRows(manager)
        runId = rows[0][2]
        data = [json.loads(row[4]) for row in rows if row[2] == runId]
        self.assertEqual(data[::-1], [
            {'step': 'start'},
            {'step': 'q1', 'answer': 'b', 'correct': True},
            {'step': 'q2', 'answer': 'a', 'correct': False},
            {'step': 'q3', 'answer': 'a', 'correct': True}])
        manager.open(self.server.url + '/++tracking++/runs.html?task=quiz')
        run = [row for row in tableRows(manager.contents, 'runs')
               if row[0] == runId][0]
        self.assertEqual(run[2], 'Alice')
        self.assertEqual(run[5], 'finished')
        self.assertEqual(run[6], '4')

        # alice sees her own tracks
        mine = trackRows(self.open('alice', '/++tracking++/tracks.html'))
        self.assertEqual({row[3] for row in mine}, {'demo.alice'})

    def test_every_user_works_in_a_run_of_his_own(self):
        alice = self.start('alice', 'quiz')
        bob = self.start('bob', 'quiz')
        alice.getControl(name='answer').value = ['b']
        alice.getControl('Answer').click()
        # bob's start did not take alice's run over
        self.assertIn('Step 2', alice.contents)
        self.assertIn('Step 1', bob.contents)
        alice.getControl('Stop this task').click()
        self.assertIn('You stopped this task.', alice.contents)
        bob.reload()
        self.assertIn('Step 1', bob.contents)

    def test_invalid_and_stale_steps(self):
        browser = self.start('bob', 'quiz')
        browser.raiseHttpErrors = False
        browser.getControl('Answer').click()        # no answer chosen
        self.assertEqual(browser.headers['status'], '400 Bad Request')
        self.assertIn('Choose one of the answers.', browser.contents)
        browser.getControl(name='answer').value = ['b']
        browser.getControl('Answer').click()
        self.assertIn('Step 2', browser.contents)
        # the first question's form again: nothing changes
        token = browser.getControl(name='_csrf', index=0).value
        status = self.request(
            'POST', '/quiz', ('action=step&step=q1&answer=a&_csrf=%s'
                              % token).encode(), 'bob',
            'application/x-www-form-urlencoded')[0]
        self.assertEqual(status, 200)       # redirected to the page
        browser.reload()
        self.assertIn('Step 2', browser.contents)
        browser.getControl('Stop this task').click()

    def test_reading_task(self):
        browser = self.start('bob', 'reading')
        for title in ('Tracks', 'Runs', 'Queries'):
            self.assertIn('<h2>%s</h2>' % title, browser.contents)
            button = 'Done' if title == 'Queries' else 'Done, next page'
            browser.getControl(button).click()
        self.assertIn('You finished this task.', browser.contents)
        tracks = trackRows(self.open(
            'bob', '/++tracking++/tracks.html?task=reading'))
        runId = tracks[0][2]
        steps = [json.loads(row[4])['step'] for row in tracks
                 if row[2] == runId]
        self.assertEqual(steps, ['p3', 'p2', 'p1', 'start'])


class SaveTrackTest(DemoTestCase):

    def test_saving_a_track_of_the_logged_in_user(self):
        status, answer = self.saveTrack(
            'alice', {'taskId': 'script', 'data': {'clicks': 3}})
        self.assertEqual(status, 201)
        trackId = answer['trackId']
        browser = self.open('alice', '/++tracking++/' + trackId)
        values = [row[0] for row in tableRows(browser.contents, 'metadata')]
        self.assertEqual(values[1], 'script')
        self.assertEqual(values[3], 'Alice (demo.alice)')
        self.assertIn('clicks', browser.contents)

    def test_into_a_given_run(self):
        status, answer = self.saveTrack(
            'bob', {'taskId': 'script-run', 'data': {}})
        rows = trackRows(self.open(
            'bob', '/++tracking++/tracks.html?task=script-run'))
        runId = int(rows[0][2])
        status, answer = self.saveTrack(
            'bob', {'taskId': 'script-run', 'runId': runId,
                    'data': {'n': 2}})
        self.assertEqual(status, 201)
        rows = trackRows(self.open(
            'bob', '/++tracking++/tracks.html?task=script-run'))
        self.assertEqual(rows[0][0], answer['trackId'])
        self.assertEqual(int(rows[0][2]), runId)

    def test_malformed_bodies_get_400(self):
        cases = [
            (b'not json', 'the body is not JSON'),
            (b'[1, 2]', 'the body must be a JSON object'),
            ({'data': {}}, 'taskId is missing'),
            ({'taskId': 'x'}, 'data is missing'),
            ({'taskId': 'x', 'data': {}, 'userName': 'eve'},
             'unknown keys: userName'),
            ({'taskId': '', 'data': {}}, 'taskId must not be empty'),
            ({'taskId': 7, 'data': {}}, 'taskId must be a string'),
            ({'taskId': 'x', 'data': [1]}, 'data must be a mapping'),
            (b'{"taskId": "x", "data": {"v": NaN}}', 'JSON'),
            ({'taskId': 'x', 'runId': 'one', 'data': {}},
             'runId must be an int'),
        ]
        for body, message in cases:
            with self.subTest(body=body):
                status, answer = self.saveTrack('alice', body)
                self.assertEqual(status, 400)
                self.assertIn(message, answer['error'])
        # nothing was saved
        rows = trackRows(self.open('manager',
                                   '/++tracking++/tracks.html?task=x'))
        self.assertEqual(rows, [])

    def test_other_methods_and_content_types(self):
        status, contentType, body = self.request(
            'POST', '/@@save-track', b'taskId=x&data=y', 'alice',
            'application/x-www-form-urlencoded')
        self.assertEqual(status, 415)
        self.assertIn('application/json', json.loads(body)['error'])
        status, contentType, body = self.request(
            'GET', '/@@save-track', login='alice')
        self.assertEqual(status, 405)

    def test_without_login_401(self):
        status, answer = self.saveTrack(
            None, {'taskId': 'script', 'data': {}})
        self.assertEqual(status, 401)


class ActivityPictureTest(DemoTestCase):

    def picture(self, taskId, login='manager'):
        browser = self.open(login, '/@@activity.svg?task=' + taskId)
        self.assertEqual(browser.headers['Content-Type'], 'image/svg+xml')
        return ElementTree.fromstring(browser.contents)

    def test_tracks_per_day_and_users_per_run_state(self):
        for login in ('alice', 'bob', 'alice'):
            status, answer = self.saveTrack(
                login, {'taskId': 'pictured', 'data': {}})
            self.assertEqual(status, 201)
        svg = self.picture('pictured')
        self.assertEqual(svg.tag, SVG + 'svg')
        bars = [rect for rect in svg.iter(SVG + 'rect')
                if rect.get('class') == 'bar']
        self.assertEqual(len(bars), 14)
        today = time.strftime('%Y-%m-%d', time.gmtime())
        self.assertEqual(bars[-1].get('data-day'), today)
        self.assertEqual([int(bar.get('data-count')) for bar in bars],
                         [0] * 13 + [3])
        self.assertGreater(float(bars[-1].get('height')), 0)
        states = {rect.get('data-state'): int(rect.get('data-count'))
                  for rect in svg.iter(SVG + 'rect')
                  if rect.get('class') == 'state'}
        self.assertEqual(states, {'open': 2, 'finished': 0, 'stopped': 0})

    def test_a_finished_quiz_counts_as_finished(self):
        self.workThroughQuiz('bob', ['b', 'c', 'a'])
        svg = self.picture('quiz')
        states = {rect.get('data-state'): int(rect.get('data-count'))
                  for rect in svg.iter(SVG + 'rect')
                  if rect.get('class') == 'state'}
        self.assertGreaterEqual(states['finished'], 1)

    def test_only_managers_and_a_task_needed(self):
        self.assertRefused('alice', '/@@activity.svg?task=quiz')
        browser = self.server.browser('manager')
        browser.raiseHttpErrors = False
        for query in ('', '?task=', '?task=quiz&days=x', '?task=quiz&days=0'):
            with self.subTest(query=query):
                browser.open(self.server.url + '/@@activity.svg' + query)
                self.assertEqual(browser.headers['status'],
                                 '400 Bad Request')


class ActivityCountTest(unittest.TestCase):
    """Counting by day and by run state, on a storage of our own."""

    def test_days_are_utc_days_with_both_ends(self):
        storage = TrackingStorage()
        day = 1700006400.0                  # 2023-11-15 00:00 UTC
        for timeStamp in (day - 0.000001, day, day + 3600,
                          day + DAY - 0.000001, day + DAY):
            storage.saveUserTrack('t', 0, 'u', {}, timeStamp=timeStamp)
        counts = activity.tracksPerDay(storage, 't', days=3,
                                       now=day + DAY + 60)
        self.assertEqual(counts, [(day - DAY, 1), (day, 3), (day + DAY, 1)])

    def test_users_by_the_state_of_their_latest_run(self):
        storage = TrackingStorage()
        for userName, finish in (('a', True), ('b', False), ('c', None)):
            runId = storage.startRun('t')
            storage.saveUserTrack('t', runId, userName, {})
            if finish is not None:
                storage.stopRun('t', runId, finish=finish)
        # d's latest track is in c's open run, his first in a's
        storage.saveUserTrack('t', 1, 'd', {}, timeStamp=1700000000)
        storage.saveUserTrack('t', 3, 'd', {})
        self.assertEqual(activity.usersPerRunState(storage, 't'),
                         {'open': 2, 'finished': 1, 'stopped': 1})
        self.assertEqual(activity.usersPerRunState(storage, 'none'),
                         {'open': 0, 'finished': 0, 'stopped': 0})


class ChromiumTestCase(DemoTestCase):
    """Tests with headless Chromium browsers (one profile each)."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix='tracking-browser-')
        self.drivers = []

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()
        shutil.rmtree(self.directory)

    def chromium(self, login):
        """A browser of its own (a fresh profile), logged in as ``login``
        (HTTP basic authentication with the credentials in the URL)."""
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in CHROMIUM_ARGS:
            options.add_argument(argument)
        options.add_argument('--user-data-dir=' + tempfile.mkdtemp(
            prefix='profile-', dir=self.directory))
        service = Service(executable_path=CHROMEDRIVER, log_output=
                          os.path.join(self.directory, 'chromedriver.log'))
        driver = webdriver.Chrome(service=service, options=options)
        self.drivers.append(driver)
        driver.implicitly_wait(10)
        driver.get(self.server.url.replace(
            'http://', 'http://%s:%spw@' % (login, login)) + '/@@login')
        self.assertIn('Logged in as',
                      driver.find_element(By.ID, 'principal').text)
        return driver

    def follow(self, driver, by, value):
        """Click an element that loads another page; wait for that page."""
        page = driver.find_element(By.TAG_NAME, 'html')
        driver.find_element(by, value).click()
        WebDriverWait(driver, 10).until(replaced(page))
        # the next page has replaced the old one; let it finish loading, so
        # that no element is found in a document about to go
        WebDriverWait(driver, 10).until(lambda driver: driver.execute_script(
            'return document.readyState') == 'complete')

    def textOf(self, driver, by, value):
        """The text of an element, read again while Chromium swaps
        documents under it (it reports a node of the former document)."""
        from selenium.common.exceptions import WebDriverException
        return WebDriverWait(driver, 10, ignored_exceptions=(
            WebDriverException,)).until(
                lambda driver: driver.find_element(by, value).text)

    def screenshot(self, driver, name):
        """Save a screenshot; return its bytes. With the environment
        variable TRACKING_SCREENSHOTS naming a directory, keep a copy
        there."""
        path = os.path.join(self.directory, name)
        self.assertTrue(driver.save_screenshot(path))
        with open(path, 'rb') as f:
            png = f.read()
        keep = os.environ.get('TRACKING_SCREENSHOTS')
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(path, keep)
        return png


@unittest.skipIf(browserMissing(), browserMissing())
class RealBrowserTest(ChromiumTestCase):
    """Headless Chromium, driven by Selenium, works through the quiz."""

    def test_a_person_works_through_the_quiz(self):
        alice = self.chromium('alice')
        self.follow(alice, By.LINK_TEXT, 'A short quiz')
        self.follow(alice, By.ID, 'start')
        for number, answer in enumerate(['b', 'c', 'a'], 1):
            self.assertEqual('Step %i of 3' % number,
                             self.textOf(alice, By.CLASS_NAME, 'progress'))
            alice.find_element(
                By.CSS_SELECTOR, 'input[name=answer][value=%s]' % answer
            ).click()
            self.follow(alice, By.ID, 'next')
        self.assertEqual(self.textOf(alice, By.ID, 'result'),
                         'You finished the quiz: 3 of 3 answers correct.')

        # a page script saves a track through the JSON endpoint
        alice.get(self.server.url + '/reading')
        self.follow(alice, By.ID, 'start')
        alice.find_element(By.CSS_SELECTOR, '[data-helpful=yes]').click()
        status = WebDriverWait(alice, 10).until(
            lambda driver: driver.find_element(
                By.ID, 'feedback-status').text)
        self.assertRegex(status, r'^Thank you \(track \d{7}\)\.$')
        self.follow(alice, By.ID, 'next')
        self.assertIn('Step 2 of 3',
                      alice.find_element(By.CLASS_NAME, 'progress').text)

        # the manager sees alice's tracks, and the activity pictures
        manager = self.chromium('manager')
        manager.get(self.server.url
                    + '/++tracking++/tracks.html?user=demo.alice')
        rows = manager.find_elements(By.CSS_SELECTOR, '#tracks tbody tr')
        texts = [row.text for row in rows]
        self.assertTrue(any('"helpful": true' in text for text in texts))
        self.assertTrue(any('"answer": "c"' in text for text in texts))
        png = self.screenshot(manager, 'tracks.png')
        self.assertTrue(png.startswith(PNG_MAGIC))
        self.assertGreater(len(png), 1000)

        manager.get(self.server.url + '/')
        pictures = manager.find_elements(By.CSS_SELECTOR, '#activity img')
        self.assertEqual(len(pictures), 2)
        WebDriverWait(manager, 10).until(lambda driver: driver.execute_script(
            'return Array.from(document.images).every('
            'function (image) { return image.complete; })'))
        widths = manager.execute_script(
            'return Array.from(document.images).map('
            'function (image) { return image.naturalWidth; })')
        self.assertEqual(widths, [660, 660])
        png = self.screenshot(manager, 'start.png')
        self.assertTrue(png.startswith(PNG_MAGIC))
