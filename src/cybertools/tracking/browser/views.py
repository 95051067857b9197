"""Views of a tracking storage: its tracks, one track, its runs.

Listings show one page at a time, newest first: they take a slice of the
lazy query result, so only the tracks shown are loaded.
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

from cybertools.tracking.browser.principal import currentPrincipalId

MANAGE = 'cybertools.tracking.Manage'

TIME_FORMATS = ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M',
                '%Y-%m-%d')


def showTime(timeStamp):
    """A time stamp as the views show it (UTC)."""
    if timeStamp is None:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(timeStamp))


def showData(data):
    """Track data (or a part of it) as JSON text.

    The caller has read ``data`` through its security proxy already; the
    values inside are plain JSON values, so the proxy may go.
    """
    return json.dumps(removeSecurityProxy(data), sort_keys=True)


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


class PagedListing(BrowserView):
    """A page of a lazy result, newest first, with links to other pages."""

    batchSize = 20
    filterNames = ()

    def __call__(self):
        self.update()
        return self.template()

    @property
    def isManager(self):
        return checkPermission(MANAGE, self.context)

    @property
    def principalId(self):
        return currentPrincipalId(self.request)

    def update(self):
        form = self.request.form
        self.filters = {name: str(form.get(name, '')).strip()
                        for name in self.filterNames}
        self.error = None
        try:
            result = self.result()
        except (TypeError, ValueError) as error:
            self.error = str(error)
            self.request.response.setStatus(400)
            result = []
        self.total = len(result)
        try:
            start = int(form.get('start', 0))
        except ValueError:
            start = 0
        self.start = min(max(start, 0), max(self.total - 1, 0))
        # newest first: page n counts back from the end of the result
        stop = self.total - self.start
        self.items = list(reversed(
            result[max(stop - self.batchSize, 0):stop]))

    def pageUrl(self, start):
        query = {name: value for name, value in self.filters.items() if value}
        if start:
            query['start'] = start
        return '%s?%s' % (self.__name__, urlencode(query))

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


class TrackListing(PagedListing):
    """The tracks of a storage; ordinary users see only their own."""

    template = ViewPageTemplateFile('tracks.pt')
    filterNames = ('task', 'user', 'run', 'from', 'to')

    def result(self):
        return self.context.query(**self.criteria())

    def criteria(self):
        filters = self.filters
        criteria = {}
        if filters['task']:
            criteria['taskId'] = filters['task']
        if not self.isManager:
            criteria['userName'] = self.principalId
        elif filters['user']:
            criteria['userName'] = filters['user']
        if filters['run']:
            try:
                criteria['runId'] = int(filters['run'])
            except ValueError:
                raise ValueError('run must be a number: %r' % filters['run'])
        if filters['from']:
            criteria['timeFrom'] = parseTime(filters['from'])
        if filters['to']:
            criteria['timeTo'] = parseTime(filters['to'], endOfDay=True)
        return criteria

    def rows(self):
        for track in self.items:
            yield {'id': track.__name__,
                   'time': showTime(track.timeStamp),
                   'taskId': track.taskId,
                   'runId': track.runId,
                   'userName': track.userName,
                   'data': showData(track.data)}


class TrackView(BrowserView):
    """One track: its metadata and data. Only its user or a manager may
    see it."""

    template = ViewPageTemplateFile('track.pt')

    def __call__(self):
        track = self.context
        if (track.userName != currentPrincipalId(self.request)
                and not checkPermission(MANAGE, track.__parent__)):
            raise Unauthorized('track %s' % track.__name__)
        return self.template()

    def metadata(self):
        track = self.context
        return [('Id', track.__name__), ('Task', track.taskId),
                ('Run', track.runId), ('User', track.userName),
                ('Time (UTC)', showTime(track.timeStamp))]

    def data(self):
        data = removeSecurityProxy(self.context.data)
        return [(key, showData(value)) for key, value in sorted(data.items())]


class RunListing(PagedListing):
    """The runs of a storage, newest first."""

    template = ViewPageTemplateFile('runs.pt')
    filterNames = ('task',)

    def result(self):
        return self.context.getRuns(self.filters['task'] or None)

    def rows(self):
        for run in self.items:
            yield {'id': run.id,
                   'taskId': run.taskId or '',
                   'start': showTime(run.start),
                   'end': showTime(run.end),
                   'state': run.state,
                   'tracks': len(self.context.query(runId=run.id))}
