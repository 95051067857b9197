"""A task's activity, counted from the storage's indexes and drawn as SVG.

Two pictures side by side: the task's tracks per period (UTC) as bars, and
its users by the state of their latest run (open, finished, stopped).
Counting loads no tracks: a period's count is the length of a time-range
query; a user's state needs his latest track, one per user.

The periods are days for up to a month, weeks (from Monday) for up to
four months, and calendar months beyond, so that the picture stays
readable from 1 to 366 days; the first period may begin before the range
and is counted only from its start.
"""

import calendar
import time
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr

from cybertools.tracking.btree import Exact
from cybertools.tracking.browser.text import escapeSurrogates

DAY = 86400
# the last microsecond of a period: query() includes both ends
LAST = 0.000001

STATES = ('open', 'finished', 'stopped')
STATE_COLOURS = {'open': '#e8a33d', 'finished': '#3a9d5d',
                 'stopped': '#9a9a9a'}
# at most this many labels under the bars
LABELS = 12


def periodUnit(days):
    """'day', 'week' or 'month': the bars of a picture of ``days`` days."""
    if days <= 31:
        return 'day'
    if days <= 122:
        return 'week'
    return 'month'


def periods(days, now=None):
    """[(start, end)] of the periods covering the last ``days`` UTC days
    (today included), oldest first; ``end`` is the start of the next."""
    now = time.time() if now is None else now
    today = now - now % DAY
    first = today - (days - 1) * DAY
    unit = periodUnit(days)
    starts = []
    if unit == 'day':
        starts = [first + i * DAY for i in range(days)]
    elif unit == 'week':
        weekday = time.gmtime(first).tm_wday      # Monday is 0
        start = first - weekday * DAY
        while start <= today:
            starts.append(start)
            start += 7 * DAY
    else:
        year, month = time.gmtime(first)[:2]
        while True:
            start = calendar.timegm((year, month, 1, 0, 0, 0))
            if start > today:
                break
            starts.append(start)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    ends = starts[1:] + [today + DAY]
    return [(max(start, first), end) for start, end in zip(starts, ends)]


def tracksPerPeriod(storage, taskId, days=14, now=None):
    """(unit, [(start, end, number of tracks)]) for the last ``days``
    days; see ``periods``."""
    counts = [(start, end, len(storage.query(
        taskId=Exact(taskId), timeFrom=start, timeTo=end - LAST)))
        for start, end in periods(days, now)]
    return periodUnit(days), counts


def tracksPerDay(storage, taskId, days=14, now=None):
    """[(start of day, number of tracks)] for the last ``days`` UTC days,
    oldest first, today last."""
    now = time.time() if now is None else now
    today = now - now % DAY
    return [(start, len(storage.query(taskId=Exact(taskId), timeFrom=start,
                                      timeTo=start + DAY - LAST)))
            for start in (today - back * DAY
                          for back in range(days - 1, -1, -1))]


def usersPerRunState(storage, taskId):
    """{state: number of users} by the state of each user's latest run of
    the task."""
    counts = dict.fromkeys(STATES, 0)
    for userName in storage.getUserNames(taskId):
        latest = storage.query(taskId=Exact(taskId),
                               userName=Exact(userName))[-1]
        run = storage.getRun(runId=latest.runId)
        if run is not None:
            counts[run.state] += 1
    return counts


def _element(name, text='', **attributes):
    attrs = ''.join(' %s=%s' % (key.rstrip('_').replace('_', '-'),
                                quoteattr(str(value)))
                    for key, value in attributes.items())
    return '<%s%s>%s</%s>' % (name, attrs, text, name)


def _date(timeStamp):
    return time.strftime('%Y-%m-%d', time.gmtime(timeStamp))


def _label(unit, start, end):
    """The text under a bar, and the bar's description."""
    if unit == 'day':
        return _date(start)[5:], _date(start)
    if unit == 'week':
        return (_date(start)[5:],
                '%s to %s' % (_date(start), _date(end - DAY)))
    return (time.strftime('%b %Y', time.gmtime(start)),
            '%s to %s' % (_date(start), _date(end - DAY)))


def renderActivity(title, unit, buckets, perState):
    """The SVG document (text) for ``tracksPerPeriod`` and
    ``usersPerRunState`` results.

    Period bars are ``rect`` elements of class ``bar`` and state bars of
    class ``state``, each with ``data-count`` and a ``title`` giving the
    number; a bar has its first day in ``data-day``.
    """
    title = escapeSurrogates(title)
    width, height = 660, 250
    top, base = 40, 200             # the bars stand on y=base
    left, right = 40, 440           # the period chart
    stateLeft, stateWidth = 500, 120
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%i" height="%i" '
        'viewBox="0 0 %i %i" role="img" aria-label=%s font-family='
        '"sans-serif" font-size="11">' % (
            width, height, width, height, quoteattr('Activity: ' + title)),
        _element('title', escape('Activity: ' + title)),
        '<rect width="100%" height="100%" fill="#fff"/>',
        _element('text', escape(title), x=left, y=20, font_size=15,
                 font_weight='bold'),
        _element('text', 'Tracks per %s (UTC)' % unit, x=left, y=top - 6),
    ]
    highest = max([count for start, end, count in buckets] + [1])
    slot = (right - left) / max(len(buckets), 1)
    every = -(-len(buckets) // LABELS)          # label every n-th bar
    for i, (start, end, count) in enumerate(buckets):
        barHeight = (base - top - 15) * count / highest
        x = left + i * slot
        label, description = _label(unit, start, end)
        parts.append(_element(
            'rect', _element('title', '%s: %i tracks' % (description, count)),
            class_='bar', x='%.1f' % (x + slot * 0.15),
            y='%.1f' % (base - barHeight), width='%.1f' % (slot * 0.7),
            height='%.1f' % barHeight, fill='#4a7fc1',
            data_day=_date(start), data_count=count))
        if count and every == 1:
            parts.append(_element('text', str(count),
                                  x='%.1f' % (x + slot / 2),
                                  y='%.1f' % (base - barHeight - 3),
                                  text_anchor='middle'))
        if (len(buckets) - 1 - i) % every == 0:
            parts.append(_element('text', label, x='%.1f' % (x + slot / 2),
                                  y=base + 14, text_anchor='middle',
                                  fill='#555', class_='label'))
    parts.append('<line x1="%i" y1="%i" x2="%i" y2="%i" stroke="#333"/>'
                 % (left, base, right, base))
    parts.append(_element('text', '%s to %s, highest %i' % (
        _date(buckets[0][0]), _date(buckets[-1][1] - DAY), highest),
        x=left, y=base + 32, fill='#555'))

    parts.append(_element('text', 'Users by their latest run',
                          x=stateLeft, y=top - 6))
    mostUsers = max(list(perState.values()) + [1])
    for i, state in enumerate(STATES):
        count = perState.get(state, 0)
        y = top + 10 + i * 40
        parts.append(_element('text', state, x=stateLeft, y=y + 9))
        parts.append(_element(
            'rect', _element('title', '%s: %i users' % (state, count)),
            class_='state', x=stateLeft, y=y + 14,
            width='%.1f' % (stateWidth * count / mostUsers), height=14,
            fill=STATE_COLOURS[state], data_state=state, data_count=count))
        parts.append(_element('text', str(count),
                              x='%.1f' % (stateLeft + 4
                                          + stateWidth * count / mostUsers),
                              y=y + 25))
    parts.append('</svg>')
    return '\n'.join(parts) + '\n'
