"""The package's ZCML loads after zope.component's and zope.security's
configuration, and registers the adapter and the subscribers."""

import unittest

import zope.component
import zope.component.testing
import zope.security
from zope.configuration import xmlconfig
from zope.lifecycleevent import modified

import cybertools.tracking
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import ITrackIndexData


class ConfigurationTests(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        context = xmlconfig.file('configure.zcml', zope.component)
        context = xmlconfig.file('configure.zcml', zope.security,
                                 context=context)
        xmlconfig.file('configure.zcml', cybertools.tracking,
                       context=context)

    def tearDown(self):
        zope.component.testing.tearDown()

    def test_index_data_adapter_is_registered(self):
        storage = TrackingStorage()
        storage.saveUserTrack('t', 0, 'u', {})
        adapter = zope.component.queryAdapter(storage['0000001'],
                                              ITrackIndexData)
        self.assertIsNotNone(adapter)
        self.assertEqual(adapter.getIndexValues()['taskId'], 't')

    def test_modified_subscriber_reindexes(self):
        storage = TrackingStorage()
        storage.saveUserTrack('t', 0, 'u', {})
        track = storage['0000001']
        track.taskId = 'other'
        modified(track)
        self.assertEqual(storage.getTaskIds(), ['other'])
        self.assertEqual(storage.checkIndexes(), [])
