"""A task's activity, counted from the storage's indexes and drawn as SVG.

Two pictures side by side: the task's tracks per day (UTC) as bars, and
its users by the state of their latest run (open, finished, stopped).
Counting loads no tracks: a day's count is the length of a time-range
query; a user's state needs his latest track, one per user.
"""

import time
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr


DAY = 86400
# the last microsecond of a day: query() includes both ends
LAST_OF_DAY = DAY - 0.000001

STATES = ('open', 'finished', 'stopped')
STATE_COLOURS = {'open': '#e8a33d', 'finished': '#3a9d5d',
                 'stopped': '#9a9a9a'}


def tracksPerDay(storage, taskId, days=14, now=None):
    """[(start of day, number of tracks)] for the last ``days`` UTC days,
    oldest first, today last."""
    now = time.time() if now is None else now
    today = now - now % DAY
    counts = []
    for back in range(days - 1, -1, -1):
        start = today - back * DAY
        counts.append((start, len(storage.query(
            taskId=taskId, timeFrom=start, timeTo=start + LAST_OF_DAY))))
    return counts


def usersPerRunState(storage, taskId):
    """{state: number of users} by the state of each user's latest run of
    the task."""
    counts = dict.fromkeys(STATES, 0)
    for userName in storage.getUserNames(taskId):
        latest = storage.query(taskId=taskId, userName=userName)[-1]
        counts[storage.getRun(runId=latest.runId).state] += 1
    return counts


def _element(name, text='', **attributes):
    attrs = ''.join(' %s=%s' % (key.rstrip('_').replace('_', '-'),
                                quoteattr(str(value)))
                    for key, value in attributes.items())
    return '<%s%s>%s</%s>' % (name, attrs, text, name)


def renderActivity(title, perDay, perState):
    """The SVG document (text) for ``tracksPerDay`` and
    ``usersPerRunState`` results.

    Day bars are ``rect`` elements of class ``bar`` and state bars of class
    ``state``, each with ``data-count`` and a ``title`` giving the number.
    """
    width, height = 660, 250
    top, base = 40, 200             # the bars stand on y=base
    left, right = 40, 440           # the day chart
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
        _element('text', 'Tracks per day (UTC)', x=left, y=top - 6),
    ]
    highest = max([count for day, count in perDay] + [1])
    slot = (right - left) / max(len(perDay), 1)
    for i, (day, count) in enumerate(perDay):
        barHeight = (base - top - 15) * count / highest
        x = left + i * slot
        date = time.strftime('%Y-%m-%d', time.gmtime(day))
        parts.append(_element(
            'rect', _element('title', '%s: %i tracks' % (date, count)),
            class_='bar', x='%.1f' % (x + slot * 0.15),
            y='%.1f' % (base - barHeight), width='%.1f' % (slot * 0.7),
            height='%.1f' % barHeight, fill='#4a7fc1',
            data_day=date, data_count=count))
        if count:
            parts.append(_element('text', str(count),
                                  x='%.1f' % (x + slot / 2),
                                  y='%.1f' % (base - barHeight - 3),
                                  text_anchor='middle'))
        parts.append(_element('text', date[8:], x='%.1f' % (x + slot / 2),
                              y=base + 14, text_anchor='middle',
                              fill='#555'))
    first = time.strftime('%Y-%m-%d', time.gmtime(perDay[0][0]))
    last = time.strftime('%Y-%m-%d', time.gmtime(perDay[-1][0]))
    parts.append('<line x1="%i" y1="%i" x2="%i" y2="%i" stroke="#333"/>'
                 % (left, base, right, base))
    parts.append(_element('text', '%s to %s' % (first, last), x=left,
                          y=base + 32, fill='#555'))

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
