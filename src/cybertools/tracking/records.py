"""The stored form of a track: a record of plain values.

A record is the list ``[taskId, runId, userName, timeStamp, data]``,
followed by a dict of the values of further metadata attributes when the
track class has any (``metadata_attributes`` beyond the four standard
ones). It is stored as UTF-8 JSON: a format that can carry plain values
only, so reading a record never imports or runs code, and that any other
program can read. The values are checked before (``validation``): exact
types, valid Unicode, 64-bit integers, finite floats.

Storages of the first layout kept records as pickles of tuples; these are
still read (with an unpickler that refuses every class) until
``upgrade()`` rewrites them.
"""

import io
import json
import json.encoder
import json.scanner
import pickle

_encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False,
                            allow_nan=False, separators=(',', ':'))
# the C scanner straight away: the decoder's own decode() costs as much
# again for the short texts records are
_scan = json.scanner.make_scanner(json.JSONDecoder())

PICKLE_START = b'\x80'


def _makeEncode():
    """The C encoder of _encoder, made once (JSONEncoder.encode makes it
    anew for every record); _encoder.encode where it cannot be had."""
    make = json.encoder.c_make_encoder
    if make is None:
        return _encoder.encode
    try:
        encode = make(None, _encoder.default, json.encoder.encode_basestring,
                      None, ':', ',', False, False, False)
    except TypeError:   # another Python's arguments
        return _encoder.encode
    sample = ['t\xe9', 1, 'u"', 1.5, {'a': [None, True, -2 ** 63]}]
    if ''.join(encode(sample, 0)) != _encoder.encode(sample):
        return _encoder.encode
    return lambda record: ''.join(encode(record, 0))


_encode = _makeEncode()


def encodeRecord(record):
    return _encode(record).encode('utf-8')


def decodeRecord(raw):
    """A stored record as a list (see the module's docstring)."""
    if raw[:1] == PICKLE_START:
        return list(_PlainUnpickler(io.BytesIO(raw)).load())
    record, end = _scan(raw.decode('utf-8'), 0)
    return record


class _PlainUnpickler(pickle.Unpickler):
    """Reads pickles of plain values only."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            'a stored record refers to %s.%s: records hold plain values '
            'only' % (module, name))
