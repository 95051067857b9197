"""Times on the command line: UTC dates or seconds since the epoch."""

import calendar
import math
import re
import time

from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.validation import LATEST_TIME

DAY = 86400
MICROSECOND = 1e-6

DATE_HELP = ('YYYY-MM-DD[ HH:MM[:SS]] in UTC, or seconds since the epoch')


_DATE = re.compile(r'(\d{4})-(\d\d)-(\d\d)'
                   r'(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?Z?$')
_EPOCH = re.compile(r'\d+(\.\d*)?$')


def parseTime(text, option, end=False):
    """Seconds since the epoch for a date in UTC or a number of seconds.

    With ``end`` the last microsecond of what the text names: a date is
    the whole day, a time to the minute the whole minute.
    """
    text = text.strip()
    if _EPOCH.match(text):
        value = float(text)
    else:
        match = _DATE.match(text)
        if match is None:
            raise CommandError('%s: %r is not a time: use %s'
                               % (option, text, DATE_HELP))
        parts = [int(part) for part in match.groups(default='0')]
        if not 1 <= parts[1] <= 12 or parts[3] > 23 or parts[4] > 59 \
                or parts[5] > 59 or not 1 <= parts[2] <= (
                    calendar.monthrange(parts[0], parts[1])[1]):
            raise CommandError('%s: %r is not a valid date and time'
                               % (option, text))
        value = float(calendar.timegm(tuple(parts)))
        if end:
            unit = (DAY if match.group(4) is None else
                    60 if match.group(6) is None else 1)
            # near the year 10000 floats are coarser than a microsecond
            value = min(value + unit - MICROSECOND,
                        math.nextafter(LATEST_TIME, 0))
    if not 0 <= value < LATEST_TIME:
        raise CommandError('%s: %r is out of range (1970 to 9999)'
                           % (option, text))
    return value


def formatTime(timeStamp):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(timeStamp))


def dayOf(timeStamp):
    return time.strftime('%Y-%m-%d', time.gmtime(timeStamp))
