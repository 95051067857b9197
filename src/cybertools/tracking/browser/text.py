"""Showing stored text that may not be valid Unicode.

Older versions stored names and data with lone surrogates (half of a
UTF-16 pair); such text cannot be encoded as UTF-8, so a page or a download
containing it would fail. The views show it escaped instead (``\\ud800``)
and say so.
"""

import re

SURROGATE = re.compile('[\ud800-\udfff]')


def hasSurrogates(value):
    """Whether a value (text, or a mapping or list of values) holds a lone
    surrogate anywhere, keys included."""
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(hasSurrogates(key) or hasSurrogates(item)
                   for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(hasSurrogates(item) for item in value)
    return False


def escapeSurrogates(text):
    """The text with each lone surrogate written as ``\\udxxx``."""
    return SURROGATE.sub(lambda match: '\\u%04x' % ord(match.group()), text)


def cleanValue(value):
    """A copy of a value with every lone surrogate in its text escaped
    (see ``escapeSurrogates``)."""
    if isinstance(value, str):
        return escapeSurrogates(value)
    if isinstance(value, dict):
        return {cleanValue(key): cleanValue(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [cleanValue(item) for item in value]
    return value


class ShownText:
    """Collects whether any text a view shows had to be escaped."""

    def __init__(self):
        self.escaped = False

    def __call__(self, value):
        """``value`` as text to show, escaped where needed."""
        text = value if isinstance(value, str) else str(value)
        if SURROGATE.search(text) is not None:
            self.escaped = True
            return escapeSurrogates(text)
        return text

    NOTE = ('Some values are not valid Unicode (lone surrogates, stored by '
            'an older version); they are shown escaped as \\udxxx.')
