"""Downloads of what a track listing shows: ``tracks.csv`` and
``tracks.json`` take the filter of ``tracks.html`` (the same query string)
and return every matching track, oldest first.

The body is streamed: the request only works out the criteria (with the
user's permissions) and the publisher's database connection is closed
before the body is sent, so the body reads the tracks through a
connection of its own, a batch at a time, and closes it at the end (or
when the client goes away).

CSV cells are made safe for spreadsheets: a cell that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so
that no spreadsheet runs it as a formula. Text with lone surrogates
(stored by an older version) is written escaped (``\\ud800``), in both
formats.
"""

import csv
import io
import json

import transaction
from zope.interface import implementer
from zope.publisher.browser import BrowserView
from zope.publisher.interfaces.http import IResult
from zope.security import checkPermission
from zope.security.checker import NoProxy
from zope.security.checker import defineChecker
from zope.security.proxy import removeSecurityProxy

from cybertools.tracking.browser.principal import currentPrincipalId
from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.text import cleanValue
from cybertools.tracking.browser.views import MANAGE
from cybertools.tracking.browser.views import queryTracks
from cybertools.tracking.browser.views import showTime
from cybertools.tracking.browser.views import trackCriteria

COLUMNS = ('id', 'time', 'taskId', 'runId', 'userName', 'timeStamp', 'data')
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')
BATCH = 500


def spreadsheetSafe(cell):
    """A CSV cell that no spreadsheet takes for a formula."""
    if cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def trackRecord(track):
    """A track as a plain dict, text escaped where needed."""
    return {'id': track.__name__,
            'time': showTime(track.timeStamp),
            'taskId': cleanValue(track.taskId),
            'runId': track.runId,
            'userName': cleanValue(track.userName),
            'timeStamp': track.timeStamp,
            'data': cleanValue(dict(track.data))}


def csvLines(records):
    yield ','.join(COLUMNS) + '\r\n'
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for record in records:
        record = dict(record, data=json.dumps(record['data'], sort_keys=True,
                                              ensure_ascii=False))
        writer.writerow([spreadsheetSafe(str(record[name]))
                         for name in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def jsonLines(records):
    separator = '[\n'
    for record in records:
        yield separator + json.dumps(record, sort_keys=True,
                                     ensure_ascii=False)
        separator = ',\n'
    yield '[]\n' if separator == '[\n' else '\n]\n'


@implementer(IResult)
class TrackStream:
    """The body of a download: the tracks matching ``criteria`` in the
    storage with ``oid`` of ``db``, encoded by ``format`` (a function of
    an iterable of records to an iterable of text)."""

    def __init__(self, db, oid, criteria, format):
        self.db = db
        self.oid = oid
        self.criteria = criteria
        self.format = format
        self.chunks = None
        self.connection = None

    def __iter__(self):
        return self._chunks()

    def _chunks(self):
        self.connection = self.db.open(
            transaction_manager=transaction.TransactionManager())
        try:
            storage = self.connection.get(self.oid)
            result = queryTracks(storage, self.criteria)
            pending = []
            for text in self.format(trackRecord(track) for track in result):
                pending.append(text)
                if len(pending) >= BATCH:
                    yield ''.join(pending).encode('utf-8')
                    pending = []
                    # what was sent need not stay in memory
                    self.connection.cacheGC()
            if pending:
                yield ''.join(pending).encode('utf-8')
        finally:
            self.close()

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# the publisher must not proxy the body it hands to the server: the stream
# holds no more than the criteria the view checked
defineChecker(TrackStream, NoProxy)


class TrackDownload(BrowserView):
    """The tracks that ``tracks.html`` with the same filter shows."""

    contentType = None
    extension = None
    format = None

    def __call__(self):
        response = self.request.response
        storage = removeSecurityProxy(self.context)
        try:
            criteria = trackCriteria(
                self.context, self.request.form,
                checkPermission(MANAGE, self.context),
                currentPrincipalId(self.request))
            # refuse a bad filter now, not half way through the body
            len(queryTracks(self.context, criteria))
        except (TypeError, ValueError) as error:
            raise BadFormValue(str(error))
        response.setHeader('Content-Type', self.contentType)
        response.setHeader('Content-Disposition',
                           'attachment; filename="tracks.%s"'
                           % self.extension)
        response.setHeader('Cache-Control', 'no-store')
        return TrackStream(storage._p_jar.db(), storage._p_oid, criteria,
                           type(self).format)


class CSVDownload(TrackDownload):
    contentType = 'text/csv; charset=utf-8'
    extension = 'csv'
    format = csvLines


class JSONDownload(TrackDownload):
    contentType = 'application/json'
    extension = 'json'
    format = jsonLines
