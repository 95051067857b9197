"""Checks of the arguments a storage accepts.

Each check raises TypeError or ValueError with a message naming the
argument, so that a refused call is refused before anything is changed.
"""

import math
from collections.abc import Mapping

from zope.security.proxy import removeSecurityProxy

# 10000-01-01 UTC: later times have no four-digit year to show them with.
LATEST_TIME = 253402300800


def checkName(value, argument):
    """A task id or user name: a non-empty string."""
    if not isinstance(value, str):
        raise TypeError('%s must be a string, not %s'
                        % (argument, type(value).__name__))
    if not value:
        raise ValueError('%s must not be empty' % argument)
    return value


def checkRunId(value):
    """A run id argument: an int >= 0 (0 = the current run)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError('runId must be an int, not %s' % type(value).__name__)
    if value < 0:
        raise ValueError('runId must not be negative: %r' % value)
    return value


def checkTime(value, argument):
    """A point in time: seconds since the epoch, an int or float between
    1970 and the year 10000; returned as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError('%s must be seconds since the epoch (int or float), '
                        'not %s' % (argument, type(value).__name__))
    if not 0 <= value < LATEST_TIME:
        raise ValueError('%s must be between 0 (1970) and %i (the year '
                         '10000): %r' % (argument, LATEST_TIME, value))
    return float(value)


def checkData(data):
    """Return a private copy of track data, refusing what JSON can't hold.

    The data must be a mapping with string keys; values may be str, int,
    float (finite), bool, None and lists, tuples and dicts of these. Tuples
    become lists, so that what is stored is what an export gives back.
    """
    # data read through a security proxy is itself proxied (and so are the
    # lists and dicts in it); the copy made here is plain, so the proxies go
    data = removeSecurityProxy(data)
    if not isinstance(data, Mapping):
        raise TypeError('data must be a mapping, not %s'
                        % type(data).__name__)
    return _copyJSON(data, 'data')


def _copyJSON(value, path):
    value = removeSecurityProxy(value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError('%s: %r cannot be exported to JSON'
                             % (path, value))
        return value
    if isinstance(value, Mapping):
        copy = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError('%s: keys must be strings, not %s (%r)'
                                % (path, type(key).__name__, key))
            copy[key] = _copyJSON(item, '%s[%r]' % (path, key))
        return copy
    if isinstance(value, (list, tuple)):
        return [_copyJSON(item, '%s[%i]' % (path, i))
                for i, item in enumerate(value)]
    raise TypeError('%s: %s values cannot be exported to JSON'
                    % (path, type(value).__name__))


def indexKeyKind(value):
    """The kind of an index value: values of one kind sort together.

    Strings and numbers cannot be compared with each other, so an index
    holds values of one kind only.
    """
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (int, float)):
        # bools are numbers too: True is indexed (and found) as 1
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return 'number'
    return None
