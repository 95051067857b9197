"""The tracking storage in a real ZTK application.

The test application (``tests/app``) runs in its own process, served by
waitress on a loopback port with its data in a FileStorage; zope.testbrowser
talks to it over HTTP. At start-up the application installs the storage as
a local utility; its ``@@work`` view looks the utility up and saves a track
per request; the package's views show the tracks to whoever may see them.
"""

import shutil
import sys
import tempfile
from html.parser import HTMLParser

from cybertools.tracking.testing import ServerProcess
from cybertools.tracking.testing import ServerTestCase


class TableParser(HTMLParser):
    """The texts of the cells of the table with a given id, row by row; a
    cell naming a user (``data-user``) gives the user's id, not the title
    it shows."""

    def __init__(self, tableId):
        super().__init__()
        self.tableId = tableId
        self.inTable = False
        self.rows = []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag == 'table' and dict(attrs).get('id') == self.tableId:
            self.inTable = True
        elif self.inTable and tag == 'tr':
            self.rows.append([])
        elif self.inTable and tag == 'td':
            self.cell = ''
            self.user = dict(attrs).get('data-user')

    def handle_endtag(self, tag):
        if tag == 'table':
            self.inTable = False
        elif tag == 'td' and self.cell is not None:
            self.rows[-1].append(self.cell.strip() if self.user is None
                                 else self.user)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def tableRows(html, tableId):
    parser = TableParser(tableId)
    parser.feed(html)
    return [row for row in parser.rows if row]


def trackRows(browser):
    """(id, task, run, user, data) of the tracks shown on a listing page."""
    return [(row[0], row[2], row[3], row[4], row[5])
            for row in tableRows(browser.contents, 'tracks')]


def startApplication(layer):
    layer.directory = tempfile.mkdtemp(prefix='tracking-app-')
    layer.server = ServerProcess(
        [sys.executable, '-m', 'cybertools.tracking.tests.app.server',
         layer.directory],
        layer.directory, urlPattern=r'serving on (\d+)')
    layer.server.start()


def stopApplication(layer):
    layer.server.stop()
    shutil.rmtree(layer.directory)


class ApplicationLayer:
    """A test layer: the application runs while the layer's tests run."""

    setUp = classmethod(startApplication)
    tearDown = classmethod(stopApplication)


class RestartLayer:
    """An application of its own, to be restarted by its test."""

    setUp = classmethod(startApplication)
    tearDown = classmethod(stopApplication)


class ApplicationTestCase(ServerTestCase):

    layer = ApplicationLayer

    def work(self, login, task, **data):
        query = '&'.join('%s=%s' % item for item in sorted(data.items()))
        browser = self.open(login, '/@@work?task=%s&%s' % (task, query))
        self.assertTrue(browser.contents.startswith('saved '))
        return browser.contents.split()[1]


class TrackingApplicationTest(ApplicationTestCase):

    def test_requests_save_tracks_through_the_local_utility(self):
        first = self.work('alice', 'quiz', step='1', answer='b')
        second = self.work('alice', 'quiz', step='2', answer='c')
        self.assertLess(first, second)
        browser = self.open('alice', '/++tracking++/tracks.html?task=quiz')
        rows = trackRows(browser)
        # newest first
        self.assertEqual([row[0] for row in rows][:2], [second, first])
        self.assertEqual(rows[0][3], 'zope.alice')
        self.assertEqual(rows[0][4], '{"answer": "c", "step": "2"}')

    def test_subscribers_of_the_application_receive_the_events(self):
        trackId = self.work('bob', 'events', step='1')
        self.open('bob', '/@@finish?task=events')
        events = self.open(None, '/@@events').contents.splitlines()
        self.assertIn('added %s events zope.bob' % trackId, events)
        runEvents = [line for line in events if ' run ' in line]
        started = [line for line in runEvents
                   if line.startswith('RunStartedEvent')]
        stopped = [line for line in runEvents
                   if line.startswith('RunStoppedEvent')]
        self.assertTrue(started)
        self.assertTrue(stopped)

    def test_ordinary_users_see_only_their_own_tracks(self):
        self.work('alice', 'private', note='mine')
        bobsTrack = self.work('bob', 'private', note='his')
        rows = trackRows(self.open('alice', '/++tracking++/tracks.html'))
        self.assertTrue(rows)
        self.assertEqual({row[3] for row in rows}, {'zope.alice'})
        # filtering by another user does not help
        rows = trackRows(self.open(
            'alice', '/++tracking++/tracks.html?user=zope.bob'))
        self.assertEqual({row[3] for row in rows}, {'zope.alice'})
        # nor does the track's own URL
        self.assertRefused('alice', '/++tracking++/' + bobsTrack)

    def test_the_manage_permission_shows_all_tracks_and_runs(self):
        self.work('alice', 'shared', n='1')
        self.work('bob', 'shared', n='2')
        rows = trackRows(self.open(
            'mgr', '/++tracking++/tracks.html?task=shared'))
        self.assertEqual({row[3] for row in rows}, {'zope.alice', 'zope.bob'})
        browser = self.open('mgr', '/++tracking++/runs.html?task=shared')
        runs = tableRows(browser.contents, 'runs')
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0][1], 'shared')
        self.assertEqual(runs[0][2], 'Alice, Bob')
        self.assertEqual(runs[0][6], '2')      # tracks in the run
        trackId = rows[0][0]
        browser = self.open('mgr', '/++tracking++/' + trackId)
        self.assertIn('zope.bob', browser.contents)

    def test_track_view(self):
        trackId = self.work('alice', 'view', answer='<b>bold</b>')
        browser = self.open('alice', '/++tracking++/%s' % trackId)
        self.assertIn('Track %s' % trackId, browser.contents)
        values = [row[0] for row in tableRows(browser.contents, 'metadata')]
        self.assertEqual(values[0], trackId)
        self.assertEqual(values[1], 'view')
        self.assertEqual(values[3], 'Alice (zope.alice)')
        # text is escaped, never markup
        self.assertIn('&lt;b&gt;bold&lt;/b&gt;', browser.contents)
        self.assertNotIn('<b>bold</b>', browser.contents)

    def test_paging_newest_first(self):
        ids = [self.work('alice', 'paging', n=str(i)) for i in range(25)]
        browser = self.open('alice', '/++tracking++/tracks.html?task=paging')
        firstPage = [row[0] for row in trackRows(browser)]
        self.assertEqual(firstPage, ids[::-1][:20])
        browser.getLink('Older').click()
        self.assertEqual([row[0] for row in trackRows(browser)],
                         ids[::-1][20:])
        self.assertIn('21 to 25 of 25', browser.contents)
        browser.getLink('Newer').click()
        self.assertEqual([row[0] for row in trackRows(browser)], firstPage)

    def test_bad_filter_gives_a_message(self):
        browser = self.server.browser('alice')
        browser.raiseHttpErrors = False
        browser.open(self.server.url + '/++tracking++/tracks.html?run=x')
        self.assertEqual(browser.headers['status'], '400 Bad Request')
        self.assertIn("run must be a number: 'x'", browser.contents)

    def test_users_without_permissions_are_refused(self):
        for login in ('nobody', None):
            with self.subTest(login=login):
                self.assertRefused(login, '/@@work?task=quiz&answer=a')
                self.assertRefused(login, '/++tracking++/tracks.html')
                self.assertRefused(login, '/++tracking++/runs.html')
                self.assertRefused(login, '/++tracking++/0000001')
        # runs are a manager's list
        self.assertRefused('alice', '/++tracking++/runs.html')


class RestartTest(ApplicationTestCase):

    layer = RestartLayer

    def test_tracks_are_still_there_after_a_restart(self):
        saved = [self.work('alice', 'restart', n=str(i)) for i in range(3)]
        before = trackRows(self.open('mgr', '/++tracking++/tracks.html'))
        self.server.stop()
        self.server.start()
        after = trackRows(self.open('mgr', '/++tracking++/tracks.html'))
        self.assertEqual(after, before)
        self.assertEqual([row[0] for row in after], saved[::-1])
        # the start-up subscriber found the storage and added no other one
        self.assertEqual(self.work('bob', 'restart', n='3'), '0000004')
