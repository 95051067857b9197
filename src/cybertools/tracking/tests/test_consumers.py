"""The storage called the way applications written for the original call
it: loops (favorites, filters, work items, change, access and job records,
survey responses, comments) and cybertools.organize (WorkItem, WorkItems).

Each test makes the calls of one place in these applications, in a
database where it matters that changes are stored. The track classes
below are written the way those applications write theirs: an
``__init__`` without a time stamp, a ``state`` among the metadata, and
changes through ``getParent(track).indexTrack(None, track, name)``.
"""

import os
import shutil
import tempfile
import unittest

import transaction
import zope.component.testing
from ZODB import DB
from ZODB.FileStorage import FileStorage
from zope.configuration import xmlconfig
from zope.event import notify
from zope.lifecycleevent import ObjectRemovedEvent
from zope.publisher.browser import TestRequest
from zope.traversing.api import getParent

from cybertools.tracking.btree import Track
from cybertools.tracking.btree import TrackingStorage



class Typed(Track):
    """A track class with an index of its own (stored as a storage's
    trackFactory, so it lives in a module)."""

    index_attributes = Track.metadata_attributes + ('type',)

class WorkItem(Track):
    """Like cybertools.organize's WorkItem."""

    metadata_attributes = Track.metadata_attributes + ('state',)
    index_attributes = metadata_attributes
    typeName = 'WorkItem'

    def __init__(self, taskId, runId, userName, data):
        super().__init__(taskId, runId, userName, data)
        self.state = 'new'
        self.data['created'] = self.timeStamp

    def setData(self, party=None, **kw):
        if party is not None:
            self.userName = party
        for key, value in kw.items():
            self.data[key] = value

    def reindex(self, idx=None):
        getParent(self).indexTrack(None, self, idx)


class Comment(Track):
    """Like loops' Comment: a state changed by transitions."""

    metadata_attributes = Track.metadata_attributes + ('state',)
    index_attributes = metadata_attributes
    typeName = 'Comment'

    def __init__(self, taskId, runId, userName, data):
        super().__init__(taskId, runId, userName, data)
        self.state = 'new'

    def doTransition(self, action):
        self.state = {'accept': 'public', 'reject': 'rejected'}[action]
        getParent(self).indexTrack(None, self, 'state')


class Favorite(Track):
    """Like loops' Favorite: its type in the data."""

    typeName = 'Favorite'

    @property
    def type(self):
        return self.data.get('type') or 'favorite'


class ConsumerTestCase(unittest.TestCase):
    """A FileStorage database whose connections are reopened to see what
    was stored."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        xmlconfig.string("""
            <configure xmlns="http://namespaces.zope.org/zope">
              <include package="zope.component" />
              <include package="zope.security" />
              <include package="cybertools.tracking" />
            </configure>""")
        self.directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.directory)
        self.db = DB(FileStorage(os.path.join(self.directory, 'Data.fs')))
        self.addCleanup(self.db.close)
        self.conn = None
        self.addCleanup(self.closeConnection)

    def closeConnection(self):
        if self.conn is not None:
            self.tm.abort()
            self.conn.close()
            self.conn = None

    def reopen(self):
        """The root of a new connection (after committing)."""
        if self.conn is not None:
            self.tm.commit()
            self.closeConnection()
            self.db.cacheMinimize()
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        return self.conn.root()

    def storage(self, name='records', trackFactory=None):
        root = self.reopen()
        root[name] = TrackingStorage(trackFactory=trackFactory)
        return self.reopen()[name]


class TimeStampTest(ConsumerTestCase):

    def test_getTimeStamp(self):
        # loops' change records: was the last change a moment ago?
        from cybertools.tracking.btree import getTimeStamp
        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'alice', {'action': 'modify'})
        last = storage.getLastUserTrack('obj', 0, 'alice')
        self.assertTrue(last.metadata['timeStamp'] >= getTimeStamp() - 5)
        self.assertIs(type(getTimeStamp()), int)

    def test_timeStamp2ISO(self):
        from cybertools.tracking.btree import timeStamp2ISO
        from cybertools.tracking.compat import timeStamp2ISO as ours
        self.assertIs(timeStamp2ISO, ours)
        self.assertEqual(timeStamp2ISO(1700000000, useGM=True),
                         '2023-11-14 22:13')


class RemovalTest(ConsumerTestCase):

    def test_removed_event_then_del(self):
        # loops' DeleteObject, with loops' registration of the subscriber
        xmlconfig.string("""
            <configure xmlns="http://namespaces.zope.org/zope">
              <include package="zope.component" file="meta.zcml" />
              <subscriber handler="cybertools.tracking.btree.unindexTrack" />
            </configure>""")
        storage = self.storage()
        names = [storage.saveUserTrack('obj', 0, 'alice', {'i': i})
                 for i in range(2)]
        storage = self.reopen()['records']
        track = storage[names[0]]
        container = getParent(track)
        notify(ObjectRemovedEvent(track))
        del container[track.__name__]
        storage = self.reopen()['records']
        self.assertEqual(list(storage), names[1:])
        self.assertEqual(storage.checkIndexes(), [])


class LoggerTest(ConsumerTestCase):

    def test_access_logging(self):
        # loops' access logging: one logger per file name, shared
        from cybertools.tracking.logfile import Logger
        from cybertools.tracking.logfile import loggers
        fn = 'access-%s.log' % id(self)
        path = os.path.join(self.directory, 'var', fn)
        logger = loggers.get(fn)
        if not logger:
            logger = loggers[fn] = Logger(fn, path)
        self.addCleanup(loggers.pop, fn)
        self.addCleanup(logger.handler.close)
        logger.log(';'.join(['001', 'alice', 'node', 'target', 'view', '']))
        self.assertIs(loggers.get(fn), logger)
        logger.doRollover()
        with open(path + '.1') as f:
            line = f.read()
        self.assertTrue(line.endswith(';001;alice;node;target;view;\n'))
        self.assertEqual(os.path.getsize(path), 0)


class ViewsTest(ConsumerTestCase):

    def test_track_view_subclass(self):
        # loops' BaseTrackView: titles and links of the application
        from cybertools.tracking.browser import TrackView
        from cybertools.tracking.browser import TrackingStorageView

        class BaseTrackView(TrackView):
            @property
            def taskTitle(self):
                return 'Object ' + self.metadata['taskId']

            @property
            def userTitle(self):
                return self.user.title()

            def getMetadataTarget(self, key):
                value = self.metadata.get(key)
                return dict(title=value, url='http://site/%s' % value,
                            obj=None)

        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'alice', {})
        track = storage['0000001']
        view = BaseTrackView(track, TestRequest())
        self.assertEqual((view.task, view.taskTitle, view.run, view.user,
                          view.userTitle),
                         ('obj', 'Object obj', 1, 'alice', 'Alice'))
        self.assertEqual(len(view.timeStamp), 16)
        self.assertEqual(view.getMetadataTarget('taskId')['url'],
                         'http://site/obj')
        listing = TrackingStorageView(storage, TestRequest())
        self.assertEqual([v.id for v in listing.getTracks()], ['0000001'])


class IndexTrackTest(ConsumerTestCase):

    def test_after_changing_an_attribute(self):
        # loops' favorites: the institution of a person moves
        storage = self.storage(trackFactory=Favorite)
        storage.saveUserTrack('inst1', 0, 'p1', {'type': 'institution'})
        storage = self.reopen()['records']
        for fav in storage.query(userName='p1'):
            if fav.type == 'institution':
                fav.taskId = 'inst2'
                storage.indexTrack(None, fav, 'taskId')
        storage = self.reopen()['records']
        self.assertEqual([t.taskId for t in storage.query(taskId='inst2')],
                         ['inst2'])
        self.assertEqual(storage.query(taskId='inst1'), [])
        self.assertEqual(storage.checkIndexes(), [])

    def test_a_work_item_changed_in_place(self):
        # cybertools.organize's WorkItems.add: data and party set on the
        # track, then reindexed through its parent
        storage = self.storage(trackFactory=WorkItem)
        run = storage.startRun()
        trackId = storage.saveUserTrack('task', run, 'alice', {})
        track = storage[trackId]
        track.setData(party='bob', title='Plan', start=1700000000)
        track.state = 'planned'
        track.reindex()
        storage = self.reopen()['records']
        track = storage[trackId]
        self.assertEqual((track.userName, track.state), ('bob', 'planned'))
        self.assertEqual(track.data['title'], 'Plan')
        self.assertEqual(len(storage.query(userName='bob', state='planned')),
                         1)
        self.assertEqual(storage.checkIndexes(), [])

    def test_an_unknown_index(self):
        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'alice', {})
        with self.assertRaises(ValueError):
            storage.indexTrack(None, storage['0000001'], 'nothing')


class SetTrackDataTest(ConsumerTestCase):

    def test_reorder(self):
        # loops' favorites: reordering sets the data, nothing else
        storage = self.storage(trackFactory=Favorite)
        for i, task in enumerate(('a', 'b')):
            storage.saveUserTrack(task, 0, 'p1', {'type': 'favorite',
                                                  'order': 100},
                                  timeStamp=1700000000 + i)
        storage = self.reopen()['records']
        for idx, name in enumerate(['0000002', '0000001']):
            track = storage[name]
            data = track.data
            data['order'] = idx
            self.assertIsNone(storage.setTrackData(track, data))
        storage = self.reopen()['records']
        self.assertEqual([(t.__name__, t.data['order'], t.timeStamp)
                          for t in storage.values()],
                         [('0000001', 1, 1700000000),
                          ('0000002', 0, 1700000001)])
        self.assertEqual(storage.checkIndexes(), [])


class StorageAttributesTest(ConsumerTestCase):

    def test_storage_is_None(self):
        # loops: util.getItem(uid, storage=favorites.storage)
        self.assertIsNone(self.storage().storage)

    def test_indexAttributes_then_setupIndexes(self):
        # loops' loader of record managers: a new track class for a
        # storage that has tracks already
        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'alice', {'type': 'note'})
        storage = self.reopen()['records']
        storage.trackFactory = Typed
        storage.indexAttributes = Typed.index_attributes
        storage.setupIndexes()
        storage = self.reopen()['records']
        self.assertEqual(len(storage.query(type='note')), 1)
        self.assertIn('type', storage.indexAttributes)
        self.assertEqual(storage.checkIndexes(), [])

    def test_values_as_a_sequence(self):
        # loops' reports: the newest records first
        storage = self.storage()
        for i in range(5):
            storage.saveUserTrack('obj', 0, 'alice', {'i': i})
        values = storage.values()
        self.assertEqual([t.data['i'] for t in reversed(values)],
                         [4, 3, 2, 1, 0])
        self.assertEqual([t.data['i'] for t in values[1:3]], [1, 2])
        self.assertEqual(len(values), 5)
        self.assertEqual(storage.keys()[-1], '0000005')
        self.assertEqual(list(reversed(storage.keys()))[0], '0000005')


class TrackClassTest(ConsumerTestCase):

    def test_init_without_a_time_stamp(self):
        storage = self.storage(trackFactory=WorkItem)
        run = storage.startRun()
        trackId = storage.saveUserTrack('task', run, 'alice', {})
        imported = storage.saveUserTrack('task', run, 'alice', {},
                                         timeStamp=1700000000)
        storage = self.reopen()['records']
        self.assertEqual(storage[imported].timeStamp, 1700000000)
        self.assertIn('created', storage[trackId].data)

    def test_extra_metadata_is_stored(self):
        storage = self.storage(trackFactory=WorkItem)
        trackId = storage.saveUserTrack('task', 0, 'alice', {})
        storage = self.reopen()['records']
        track = storage[trackId]
        self.assertEqual(track.state, 'new')
        self.assertEqual(track.metadata['state'], 'new')
        self.assertIn("'alice', '", repr(track))
        self.assertTrue(repr(track).split(']')[0].endswith("'new'"))
        self.assertEqual(len(storage.query(state='new')), 1)
        storage.reindexTracks()
        self.assertEqual(storage.checkIndexes(), [])
        self.assertEqual(len(storage.query(state='new')), 1)

    def test_comment_transition(self):
        storage = self.storage(trackFactory=Comment)
        trackId = storage.saveUserTrack('doc', 0, 'alice',
                                        {'subject': 'Hi'})
        storage = self.reopen()['records']
        storage[trackId].doTransition('accept')
        storage = self.reopen()['records']
        self.assertEqual(storage[trackId].state, 'public')
        self.assertEqual([t.__name__ for t in storage.query(state='public')],
                         [trackId])
        self.assertEqual(storage.query(state='new'), [])


class QueryTest(ConsumerTestCase):

    def test_save_without_a_user(self):
        # loops' job records: a job run by the system has no principal
        storage = self.storage()
        trackId = storage.saveUserTrack('job', 0, None, {'state': 'done'})
        storage = self.reopen()['records']
        track = storage[trackId]
        self.assertIsInstance(track.userName, str)
        self.assertTrue(track.userName)
        self.assertEqual(storage.getUserTracks('job', 0, None), [track])
        self.assertEqual(storage.getUserNames('job'), [track.userName])

    def test_unknown_criteria(self):
        storage = self.storage()
        with self.assertRaises(ValueError) as cm:
            storage.query(taskId='obj', party='alice')
        message = str(cm.exception)
        self.assertIn("'party'", message)
        self.assertIn('ignored', message)

    def test_query_by_time_stamp(self):
        # loops' access records: is this record loaded already?
        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'alice', {'view': 'x'},
                              timeStamp=1700000000)
        storage.saveUserTrack('obj', 0, 'alice', {'view': 'y'},
                              timeStamp=1700000001)
        existing = storage.query(taskId='obj', userName='alice',
                                 timeStamp=1700000000)
        self.assertEqual([t.data for t in existing], [{'view': 'x'}])


class WorkingCallsTest(ConsumerTestCase):
    """Calls that worked unchanged already."""

    def test_survey_response(self):
        storage = self.storage()
        storage.saveUserTrack('survey', 0, 'p1', {'q1': 3}, update=True)
        storage.saveUserTrack('survey', 0, 'p1', {'q1': 4}, update=True)
        tracks = storage.getUserTracks('survey', 0, 'p1')
        self.assertEqual([t.data for t in tracks], [{'q1': 4}])
        self.assertEqual(len(storage.query(taskId='survey')), 1)

    def test_last_job_record(self):
        storage = self.storage()
        for i in range(3):
            storage.saveUserTrack('job', 0, 'system', {'i': i},
                                  timeStamp=1700000000 + i)
        recs = storage.query(taskId='job')
        self.assertEqual(sorted(recs, key=lambda x: x.timeStamp)[-1].data,
                         {'i': 2})

    def test_favorites_add_and_remove(self):
        storage = self.storage(trackFactory=Favorite)
        storage.saveUserTrack('obj', 0, 'p1', {'type': 'favorite',
                                               'order': 100})
        for track in storage.query(userName='p1', taskId='obj'):
            if track.type == 'favorite':
                storage.removeTrack(track)
        storage = self.reopen()['records']
        self.assertEqual(len(storage), 0)
        self.assertEqual(storage.checkIndexes(), [])

    def test_change_record_update(self):
        storage = self.storage()
        storage.saveUserTrack('obj', 0, 'p1', {'action': 'modify'})
        last = storage.getLastUserTrack('obj', 0, 'p1')
        storage.updateTrack(last, {'action': 'modify', 'count': 2})
        storage = self.reopen()['records']
        self.assertEqual(storage.getLastUserTrack('obj', 0, 'p1').data,
                         {'action': 'modify', 'count': 2})

    def test_runs_of_work_items(self):
        storage = self.storage()
        run = storage.startRun()
        trackId = storage.saveUserTrack('task', run, 'alice', {})
        self.assertIs(getParent(storage[trackId]), storage)
        self.assertEqual(storage.stopRun(runId=run, finish=True), run)
        storage = self.reopen()['records']
        self.assertTrue(storage.getRun(runId=run).finished)
        self.assertEqual([t.runId for t in storage.query(runId=run)], [run])
