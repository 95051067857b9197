"""The stored form of a track: a record of plain values.

A record is the list ``[taskId, runId, userName, timeStamp, data]``,
followed by a dict of the values of further metadata attributes when the
track class has any (``metadata_attributes`` beyond the four standard
ones). It is stored as UTF-8 JSON: a format that can carry plain values
only, so reading a record never imports or runs code, and that any other
program can read. The values are checked before (``validation``): exact
types, valid Unicode, 64-bit integers, finite floats, nesting within
``validation.MAX_DEPTH`` (far below orjson's own limit).

Storages of the first layout kept records as pickles of tuples; these are
still read (with an unpickler that refuses every class) until
``upgrade()`` rewrites them.
"""

import io
import json
import json.scanner
import pickle

import orjson

PICKLE_START = b'\x80'

# the standard library's C scanner, for what orjson refuses to read
_scan = json.scanner.make_scanner(json.JSONDecoder())


def encodeRecord(record):
    """The stored form of a checked record: compact UTF-8 JSON. orjson
    writes it in C, three times as fast as the standard library's encoder
    (ten times but for the copy below), straight to bytes; records written
    by either read alike.

    The bytes orjson gives keep the memory of its whole output buffer
    (4 kB in all for a record of 100 bytes: 100,000 records held 400 MB),
    so the record is a copy of them."""
    return bytes(memoryview(orjson.dumps(record)))


def decodeRecord(raw):
    """A stored record as a list (see the module's docstring); ValueError
    for one that is not (a damaged record)."""
    if raw[:1] == PICKLE_START:
        return list(_PlainUnpickler(io.BytesIO(raw)).load())
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # what orjson refuses and the standard library reads: lone
        # surrogates, escaped, as versions before the checks could store
        record = _scanned(raw)
    if type(record) is not list:
        raise ValueError('a stored record that is neither a JSON list nor a '
                         'pickle of plain values (damaged?): %r' % raw[:80])
    return record


def _scanned(raw):
    """The JSON value of a record as the standard library reads it, None
    where it reads none."""
    try:
        text = raw.decode('utf-8')
        value, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError):
        return None
    return None if text[end:].strip() else value


def decodeRecords(raws):
    """Stored records as lists, as ``decodeRecord`` gives each, in one
    loop: where one is not read by orjson, each is read as there."""
    loads = orjson.loads
    try:
        records = [loads(raw) for raw in raws]
    except orjson.JSONDecodeError:
        return [decodeRecord(raw) for raw in raws]
    if not all(type(record) is list for record in records):
        return [decodeRecord(raw) for raw in raws]
    return records


class _PlainUnpickler(pickle.Unpickler):
    """Reads pickles of plain values only."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            'a stored record refers to %s.%s: records hold plain values '
            'only' % (module, name))
