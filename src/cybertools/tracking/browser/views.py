"""Views of a tracking storage: its tracks, one track, its runs.

Listings show one page at a time, newest first: they take a slice of the
lazy query result, so only the tracks shown are loaded. Text that an older
version stored with lone surrogates is shown escaped (see text.py), and
the page says so.
"""

import calendar
import json
import time
from urllib.parse import urlencode

from zope.browserpage import ViewPageTemplateFile
from zope.publisher.browser import BrowserView
from zope.security import checkPermission
from zope.security.proxy import removeSecurityProxy
from zope.security.interfaces import Unauthorized

from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.forms import formInteger
from cybertools.tracking.browser.forms import formText
from cybertools.tracking.browser.layout import LayoutMixin
from cybertools.tracking.browser.principals import principalTitle
from cybertools.tracking.browser.text import ShownText
from cybertools.tracking.browser.text import escapeSurrogates
from cybertools.tracking.browser.text import hasSurrogates
from cybertools.tracking.btree import Exact
from cybertools.tracking.browser.principal import currentPrincipalId

MANAGE = 'cybertools.tracking.Manage'
METADATA = ('taskId', 'runId', 'userName', 'timeStamp')

TIME_FORMATS = ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M',
                '%Y-%m-%d')

# a run's users column reads at most this many of its tracks
RUN_USERS_READ = 1000


def showTime(timeStamp):
    """A time stamp as the views show it (UTC)."""
    if timeStamp is None:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(timeStamp))


def showData(data):
    """Track data (or a part of it) as JSON text, lone surrogates escaped.

    The caller has read ``data`` through its security proxy already; the
    values inside are plain JSON values, so the proxy may go.
    """
    return escapeSurrogates(json.dumps(removeSecurityProxy(data),
                                       sort_keys=True, ensure_ascii=False))


def parseTime(text, endOfDay=False):
    """Seconds since the epoch for a date (and time) in UTC.

    A date alone means its first second, or with ``endOfDay`` its last.
    """
    for format in TIME_FORMATS:
        try:
            parsed = time.strptime(text, format)
        except ValueError:
            continue
        seconds = calendar.timegm(parsed)
        if endOfDay and format == '%Y-%m-%d':
            seconds += 86399.999999
        return seconds
    raise ValueError('%r is not a date (YYYY-MM-DD, optionally with HH:MM)'
                     % text)


def trackCriteria(storage, form, isManager, principalId):
    """The query criteria of a track filter form (tracks.html and its
    downloads): task, user (managers only; others see their own tracks),
    run, from, to, and one field per data index (``data.NAME``)."""
    criteria = {}
    task = formText(form, 'task')
    if task:
        criteria['taskId'] = task
    user = formText(form, 'user')
    if not isManager:
        criteria['userName'] = Exact(principalId)
    elif user:
        criteria['userName'] = user
    run = formText(form, 'run')
    if run:
        try:
            criteria['runId'] = int(run)
        except ValueError:
            raise BadFormValue('run must be a number: %r' % run)
    start = formText(form, 'from')
    if start:
        criteria['timeFrom'] = parseTime(start)
    end = formText(form, 'to')
    if end:
        criteria['timeTo'] = parseTime(end, endOfDay=True)
    for name in dataIndexes(storage):
        value = formText(form, 'data.' + name)
        if value:
            criteria[name] = value
    return criteria


def dataIndexes(storage):
    """The names of the storage's indexes on data fields."""
    return [name for name in storage.indexAttributes if name not in METADATA]


def queryTracks(storage, criteria):
    """``storage.query(**criteria)``; a data field value that the index
    holds as numbers is looked up as a number."""
    try:
        return storage.query(**criteria)
    except TypeError:
        numbers = dict(criteria)
        for name in dataIndexes(storage):
            value = numbers.get(name)
            if isinstance(value, str):
                try:
                    numbers[name] = int(value)
                except ValueError:
                    try:
                        numbers[name] = float(value)
                    except ValueError:
                        pass
        if numbers == criteria:
            raise
        return storage.query(**numbers)


class PagedListing(LayoutMixin, BrowserView):
    """A page of a lazy result, newest first, with links to other pages."""

    batchSize = 20
    filterNames = ()

    def __call__(self):
        self.update()
        self.tableRows = list(self.rows())
        return self.template()

    @property
    def isManager(self):
        return checkPermission(MANAGE, self.context)

    @property
    def principalId(self):
        return currentPrincipalId(self.request)

    def update(self):
        form = self.request.form
        self.shownText = ShownText()
        self.error = None
        self.filters = {name: '' for name in self.filterNames}
        try:
            self.filters = {name: formText(form, name)
                            for name in self.filterNames}
            start = formInteger(form, 'start', 0, 0, 2 ** 62)
            result = self.result()
        except (TypeError, ValueError) as error:
            self.error = str(error)
            self.request.response.setStatus(400)
            result, start = [], 0
        self.total = len(result)
        self.start = min(start, max(self.total - 1, 0))
        # newest first: page n counts back from the end of the result
        stop = self.total - self.start
        self.items = list(reversed(
            result[max(stop - self.batchSize, 0):stop]))

    def query(self, start=None):
        """The filters (and ``start``) as a query string."""
        query = {name: value for name, value in self.filters.items() if value}
        if start:
            query['start'] = start
        return urlencode(query)

    def pageUrl(self, start):
        return '%s?%s' % (self.__name__, self.query(start))

    @property
    def newerUrl(self):
        if self.start > 0:
            return self.pageUrl(max(self.start - self.batchSize, 0))

    @property
    def olderUrl(self):
        if self.start + self.batchSize < self.total:
            return self.pageUrl(self.start + self.batchSize)

    @property
    def shown(self):
        """'first to last of total', counting from the newest."""
        if not self.items:
            return ''
        return '%i to %i of %i' % (self.start + 1,
                                   self.start + len(self.items), self.total)

    def showUser(self, userName):
        """(title, id) of a user, escaped for the page."""
        show = self.shownText
        return show(principalTitle(userName)), show(userName)


class TrackListing(PagedListing):
    """The tracks of a storage; ordinary users see only their own."""

    template = ViewPageTemplateFile('tracks.pt')
    filterNames = ('task', 'user', 'run', 'from', 'to')

    def update(self):
        self.dataFields = dataIndexes(self.context)
        self.filterNames = (type(self).filterNames
                            + tuple('data.' + name
                                    for name in self.dataFields))
        super().update()

    def result(self):
        return queryTracks(self.context, self.criteria())

    def criteria(self):
        return trackCriteria(self.context, self.request.form,
                             self.isManager, self.principalId)

    def downloadUrl(self, format):
        query = self.query()
        return 'tracks.%s%s' % (format, '?' + query if query else '')

    def rows(self):
        show = self.shownText
        for track in self.items:
            title, userName = self.showUser(track.userName)
            if hasSurrogates(removeSecurityProxy(track.data)):
                show.escaped = True
            yield {'id': track.__name__,
                   'time': showTime(track.timeStamp),
                   'taskId': show(track.taskId),
                   'runId': track.runId,
                   'userName': userName,
                   'userTitle': title,
                   'data': showData(track.data)}


class TrackView(LayoutMixin, BrowserView):
    """One track: its metadata and data. Only its user or a manager may
    see it."""

    template = ViewPageTemplateFile('track.pt')

    def __call__(self):
        track = self.context
        if (track.userName != currentPrincipalId(self.request)
                and not checkPermission(MANAGE, track.__parent__)):
            raise Unauthorized('track %s' % track.__name__)
        self.shownText = ShownText()
        self._metadata = self._readMetadata()
        self._data = self._readData()
        return self.template()

    def _readMetadata(self):
        track, show = self.context, self.shownText
        user = show(track.userName)
        title = show(principalTitle(track.userName))
        return [('Id', track.__name__), ('Task', show(track.taskId)),
                ('Run', track.runId),
                ('User', user if title == user else '%s (%s)' % (title, user)),
                ('Time (UTC)', showTime(track.timeStamp))]

    def _readData(self):
        show = self.shownText
        data = removeSecurityProxy(self.context.data)
        if hasSurrogates(data):
            show.escaped = True
        return [(show(key), showData(value))
                for key, value in sorted(data.items())]

    def metadata(self):
        return self._metadata

    def data(self):
        return self._data


RUN_STATES = ('open', 'finished', 'stopped')


class RunListing(PagedListing):
    """The runs of a storage, newest first, by task, user and state."""

    template = ViewPageTemplateFile('runs.pt')
    filterNames = ('task', 'user', 'state')
    states = RUN_STATES

    def result(self):
        filters = self.filters
        storage = self.context
        state = filters['state']
        if state and state not in RUN_STATES:
            raise BadFormValue('state must be one of %s: %r'
                               % (', '.join(RUN_STATES), state))
        task = filters['task'] or None
        if filters['user']:
            # the runs a user worked in are those of his tracks: this reads
            # them all (a manager's page; a user has a handful per run)
            criteria = {'userName': filters['user']}
            if task:
                criteria['taskId'] = task
            runIds = sorted({track.runId
                             for track in storage.query(**criteria)})
            runs = [storage.getRun(runId=runId) for runId in runIds]
            runs = [run for run in runs if run is not None]
        else:
            runs = storage.getRuns(task)
        if state:
            runs = [run for run in runs if run.state == state]
        return runs

    def rows(self):
        show = self.shownText
        storage = self.context
        for run in self.items:
            tracks = storage.query(runId=run.id)
            users = sorted({track.userName
                            for track in tracks[-RUN_USERS_READ:]})
            yield {'id': run.id,
                   'taskId': show(run.taskId or ''),
                   'users': [dict(zip(('title', 'id'), self.showUser(user)))
                             for user in users],
                   'moreUsers': len(tracks) > RUN_USERS_READ,
                   'start': showTime(run.start),
                   'end': showTime(run.stopped) if run.state != 'open'
                   else '',
                   'state': run.state,
                   'tracks': len(tracks)}
