"""Checks of the arguments a storage accepts.

Each check raises TypeError or ValueError with a message naming the
argument, so that a refused call is refused before anything is changed.

What a storage keeps are plain values: exact ``str``, ``int``, ``float``,
``bool`` and ``None``, and lists and dicts of these. Subclasses of these
types are converted to the type itself (so that nothing stored needs a
class to be read), strings must be valid Unicode (no lone surrogates:
they cannot be encoded, so they would break every page and export that
shows them), integers must fit in 64 bits and data may nest at most
``MAX_DEPTH`` levels deep.

A subclass is converted before it is checked, by the base type's own
methods: what the subclass says of itself (its comparisons, ``__float__``
or ``__index__``) is never asked, so that a number that claims to be in
range is checked for what it is.
"""

import math
from collections.abc import Mapping

from zope.security.proxy import removeSecurityProxy

# 10000-01-01 UTC: later times have no four-digit year to show them with.
LATEST_TIME = 253402300800

# The longest task id or user name, in characters.
MAX_NAME_LENGTH = 1000

# How deep lists and dicts may nest in a track's data (the data mapping
# itself is level 1).
MAX_DEPTH = 50

# Integers a record can hold: signed 64 bits, as JSON readers elsewhere
# (and the 64-bit BTrees of the indexes) take them.
MIN_INT = -2 ** 63
MAX_INT = 2 ** 63 - 1


def checkName(value, argument):
    """A task id or user name: a non-empty string of at most
    MAX_NAME_LENGTH characters; returned as an exact str."""
    if type(value) is str and 0 < len(value) <= MAX_NAME_LENGTH and \
            value.isascii():
        return value    # the common case, at once
    if not isinstance(value, str):
        raise TypeError('%s must be a string, not %s'
                        % (argument, type(value).__name__))
    if not value:
        raise ValueError('%s must not be empty' % argument)
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError('%s is longer than %i characters'
                         % (argument, MAX_NAME_LENGTH))
    return checkString(value, argument)


def checkString(value, where):
    """An exact str with the text of ``value`` (a str), refusing lone
    surrogates."""
    if type(value) is not str:
        value = str.__str__(value)
    try:
        value.encode('utf-8')
    except UnicodeEncodeError as error:
        raise ValueError('%s: %r is not valid Unicode (a lone surrogate at '
                         'position %i)' % (where, _shorten(value),
                                           error.start)) from None
    return value


def checkRunId(value):
    """A run id argument: an int >= 0 (0 = the current run)."""
    if type(value) is int and 0 <= value <= MAX_INT:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError('runId must be an int, not %s' % type(value).__name__)
    value = int.__index__(value)
    if value < 0:
        raise ValueError('runId must not be negative: %r' % value)
    if value > MAX_INT:
        raise ValueError('runId must fit in 64 bits: %r' % value)
    return value


def checkTime(value, argument):
    """A point in time: seconds since the epoch, an int or float between
    1970 and the year 10000; returned as a float."""
    if type(value) is float and 0 <= value < LATEST_TIME:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError('%s must be seconds since the epoch (int or float), '
                        'not %s' % (argument, type(value).__name__))
    value = float.__float__(value) if isinstance(value, float) else \
        int.__index__(value)
    if not 0 <= value < LATEST_TIME:
        raise ValueError('%s must be between 0 (1970) and %i (the year '
                         '10000): %r' % (argument, LATEST_TIME, value))
    return float(value)


def checkData(data):
    """Return a private copy of track data made of plain values only,
    refusing what JSON can't hold.

    The data must be a mapping with string keys; values may be str, int,
    float (finite), bool, None and lists, tuples and dicts of these. Tuples
    become lists and subclasses their base type, so that what is stored is
    what an export gives back.
    """
    if type(data) is dict:
        try:
            return _copyExact(data, 1)
        except (_NotExact, UnicodeEncodeError):
            pass    # the full check below tells what is wrong, or converts
    # data read through a security proxy is itself proxied (and so are the
    # lists and dicts in it); the copy made here is plain, so the proxies go
    data = removeSecurityProxy(data)
    if not isinstance(data, Mapping):
        raise TypeError('data must be a mapping, not %s'
                        % type(data).__name__)
    return _copyPlain(data, 'data', 1)


def checkValue(value, where):
    """A private plain copy of a value put into track data (a list or dict
    of a track's data, or one of their items), as checkData makes it; its
    nesting is counted from the value itself (the whole data is checked
    again when the track is stored)."""
    try:
        if type(value) in (dict, list, tuple):
            return _copyExact(value, 1)
        return _exactItem(value, 1)
    except (_NotExact, UnicodeEncodeError):
        pass
    return _copyPlain(value, where, 1)


def checkKey(key, where):
    """A key put into a dict of track data, as an exact str."""
    if type(key) is str and key.isascii():
        return key
    key = removeSecurityProxy(key)
    if not isinstance(key, str):
        raise TypeError('%s: keys must be strings, not %s (%r)'
                        % (where, type(key).__name__, key))
    return checkString(key, '%s: key' % where)


class _NotExact(Exception):
    """Data that _copyExact leaves to _copyPlain."""


def _copyExact(value, depth):
    """What _copyPlain does, for data of the exact plain types only (nearly
    all that comes): it raises _NotExact (or UnicodeEncodeError) for
    anything else, and _copyPlain then checks it naming where it is."""
    if depth > MAX_DEPTH:
        raise _NotExact
    if type(value) is dict:
        copy = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotExact
            if not key.isascii():
                key.encode('utf-8')
            kind = type(item)
            # (the commonest values at once, the others by _exactItem)
            if kind is str and item.isascii() or kind is bool or \
                    kind is int and MIN_INT <= item <= MAX_INT or \
                    item is None:
                copy[key] = item
            else:
                copy[key] = _exactItem(item, depth)
        return copy
    return [_exactItem(item, depth) for item in value]


def _exactItem(item, depth):
    kind = type(item)
    if kind is str:
        if not item.isascii():
            item.encode('utf-8')
    elif kind is int:
        if not MIN_INT <= item <= MAX_INT:
            raise _NotExact
    elif kind is float:
        if item - item != 0.0:      # inf or nan
            raise _NotExact
    elif kind is dict or kind is list or kind is tuple:
        return _copyExact(item, depth + 1)
    elif item is not None and kind is not bool:
        raise _NotExact
    return item


def _copyPlain(value, path, depth):
    value = removeSecurityProxy(value)
    kind = type(value)
    # the exact types first: they are nearly all of what comes
    if kind is str:
        return checkString(value, path)
    if value is None or kind is bool:
        return value
    if kind is int or (kind is not bool and isinstance(value, int)):
        value = int.__index__(value)
        if not MIN_INT <= value <= MAX_INT:
            raise ValueError('%s: %r does not fit in 64 bits'
                             % (path, value))
        return value
    if isinstance(value, float):
        value = float.__float__(value)
        if not math.isfinite(value):
            raise ValueError('%s: %r cannot be exported to JSON'
                             % (path, value))
        return value
    if isinstance(value, str):
        return checkString(value, path)
    if isinstance(value, (Mapping, list, tuple)):
        if depth > MAX_DEPTH:
            raise ValueError('%s: data nests deeper than %i levels'
                             % (path, MAX_DEPTH))
        if isinstance(value, Mapping):
            copy = {}
            for key, item in value.items():
                key = checkKey(key, path)
                if key in copy:
                    # (keys of a str subclass equal to others as strings)
                    raise ValueError('%s: the key %r comes twice'
                                     % (path, _shorten(key)))
                copy[key] = _copyPlain(item, '%s[%r]' % (path, key),
                                       depth + 1)
            return copy
        return [_copyPlain(item, '%s[%i]' % (path, i), depth + 1)
                for i, item in enumerate(value)]
    raise TypeError('%s: %s values cannot be exported to JSON'
                    % (path, kind.__name__))


def _shorten(text, length=40):
    return text if len(text) <= length else text[:length] + '...'


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
