"""What the storage refuses of what comes in, and what it makes of
subclasses: checked for what they are, not for what they say."""

import math
import unittest

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.validation import MAX_DEPTH
from cybertools.tracking.validation import checkData
from cybertools.tracking.validation import checkRunId
from cybertools.tracking.validation import checkTime


class Liar(int):
    """An int that claims to be within every range."""

    def __le__(self, other):
        return True

    def __ge__(self, other):
        return True

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False


class NaNTime(float):
    """A float that gives another number when converted."""

    def __float__(self):
        return math.nan


class OtherInt(int):

    def __float__(self):
        return 1e300

    def __index__(self):
        return -5


class Key(str):
    """A str subclass whose instances never equal the same text."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def nested(levels):
    """Data of ``levels`` levels, the data mapping itself the first."""
    data = level = {}
    for i in range(levels - 1):
        level['k'] = {}
        level = level['k']
    return data


class SubclassTest(unittest.TestCase):

    def test_numbers_are_checked_for_what_they_are(self):
        for data in ({'i': Liar(2 ** 70)}, {'l': [{'i': Liar(-2 ** 70)}]}):
            with self.assertRaisesRegex(ValueError, 'does not fit in 64'):
                checkData(data)
        with self.assertRaisesRegex(ValueError, 'fit in 64 bits'):
            checkRunId(Liar(2 ** 70))
        with self.assertRaisesRegex(ValueError, 'must be between'):
            checkTime(Liar(2 ** 70), 'timeStamp')

    def test_their_own_conversions_are_not_asked(self):
        self.assertEqual(checkTime(NaNTime(1700000000.5), 't'), 1700000000.5)
        self.assertIs(type(checkTime(NaNTime(1.5), 't')), float)
        self.assertEqual(checkTime(OtherInt(1700000000), 't'), 1700000000.0)
        self.assertEqual(checkRunId(OtherInt(3)), 3)
        self.assertIs(type(checkRunId(OtherInt(3))), int)
        data = checkData({'f': NaNTime(2.5), 'i': OtherInt(7)})
        self.assertEqual(data, {'f': 2.5, 'i': 7})
        self.assertEqual([type(v) for v in data.values()], [float, int])

    def test_keys_equal_as_strings_are_refused(self):
        with self.assertRaisesRegex(ValueError, "the key 'a' comes twice"):
            checkData({Key('a'): 1, 'a': 2})
        with self.assertRaisesRegex(ValueError, 'comes twice'):
            checkData({'l': [{Key('b'): 1, Key('b'): 2}]})


class DepthTest(unittest.TestCase):

    def test_data_nests_up_to_the_limit(self):
        self.assertEqual(MAX_DEPTH, 50)
        checkData(nested(MAX_DEPTH))
        with self.assertRaisesRegex(ValueError, 'deeper than 50 levels'):
            checkData(nested(MAX_DEPTH + 1))
        # (lists count alike, and the exact and the converting checks agree)
        deep = []
        for i in range(MAX_DEPTH - 2):
            deep = [deep]
        checkData({'l': deep})
        checkData({'l': deep, 'k': Key('x')})
        for data in ({'l': [deep]}, {'l': [deep], 'k': Key('x')}):
            with self.assertRaises(ValueError):
                checkData(data)


class RefusedSaveTest(unittest.TestCase):

    def test_a_refused_save_changes_nothing_and_takes_no_id(self):
        storage = TrackingStorage()
        storage.saveUserTrack('quiz', 0, 'u', {'n': 1})
        before = list(storage._records.items())
        for data, time in (({'i': Liar(2 ** 70)}, None),
                           ({}, Liar(2 ** 70)),
                           (nested(MAX_DEPTH + 1), None),
                           ({Key('a'): 1, 'a': 2}, None)):
            with self.assertRaises(ValueError):
                storage.saveUserTrack('quiz', 0, 'u', data, timeStamp=time)
            with self.assertRaises(ValueError):
                storage.saveUserTrack('new', 0, 'u', data, timeStamp=time)
        self.assertEqual(list(storage._records.items()), before)
        self.assertEqual(storage.getTaskIds(), ['quiz'])
        self.assertEqual(storage.saveUserTrack('quiz', 0, 'u', {}),
                         '0000002')

    def test_a_time_stamp_is_stored_as_its_own_value(self):
        storage = TrackingStorage()
        name = storage.saveUserTrack('quiz', 0, 'u', {},
                                     timeStamp=NaNTime(1700000000.25))
        record = decodeRecord(storage._records[int(name)])
        self.assertEqual(record[3], 1700000000.25)
        self.assertEqual(len(storage.query(timeFrom=1700000000)), 1)
