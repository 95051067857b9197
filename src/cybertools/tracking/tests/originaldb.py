"""Writes a database in the original cybertools.tracking's layout, as a
Python 2 database converted with zodbupdate leaves it, for the migration
tests.

Run as a script (``python -m cybertools.tracking.tests.originaldb FILE
[--protocol N]``) in a process of its own: before anything else it puts
stand-ins of the original's classes into ``sys.modules`` under the
original's names (``cybertools.tracking.btree.TrackingStorage``,
``Track``, ``Run``; an application's track class
``cybertools.organize.work.WorkItem``; ``zope.index.field.FieldIndex``
where zope.index is not installed), so that the records name the classes
the original's records name. The stand-ins have the original's state:

- the storage is a ``zope.container`` BTreeContainer of persistent tracks
  named ``'%07i'``, with a FieldIndex per index attribute (filled), the
  counters ``trackNum`` and ``runId``, plain run objects in the BTrees
  ``runs`` (open and stopped runs) and ``finishedRuns``, ``currentRuns``
  (task -> run id) and ``taskUsers`` (task -> set of users);
- a track has ``taskId``, ``runId``, ``userName``, ``timeStamp`` (whole
  seconds), ``data``, ``__parent__`` and ``__name__`` (and ``state`` for
  work items);
- a run has ``id``, ``start``, ``end`` and ``finished``.

``--protocol 1`` writes the records with pickle protocol 1, as Python 2's
ZODB did (plain objects such as runs are then rebuilt with
``copyreg._reconstructor``); the default is ZODB's protocol 3, as
zodbupdate writes records it converts.

The database has ``root['records']``, a BTreeContainer holding ``tracks``
(plain tracks: runs finished, stopped, open and current, a run of several
tasks, removed tracks), ``work`` (work items with a ``state``) and
``bad`` (a track whose data holds a set, which JSON cannot); and
``root['Application']``, a Zope root folder with a storage as its local
utility named ``site``. What was stored is written as JSON to FILE +
``.expected.json``, for the tests to compare the migrated storages with.
"""

import argparse
import json
import sys
import types

T0 = 1600000000


def installStandIns():
    """The original's classes, under their names (see the module's
    documentation)."""
    from BTrees.IOBTree import IOBTree
    from BTrees.Length import Length
    from BTrees.OOBTree import OOBTree
    from BTrees.OOBTree import OOTreeSet
    from persistent import Persistent
    from zope.container.btree import BTreeContainer

    def module(name, **classes):
        mod = types.ModuleType(name)
        for className, cls in classes.items():
            cls.__module__ = name
            cls.__name__ = cls.__qualname__ = className
            setattr(mod, className, cls)
        sys.modules[name] = mod
        return mod

    try:
        from zope.index.field import FieldIndex
    except ImportError:
        class FieldIndex(Persistent):
            def __init__(self):
                self._fwd_index = OOBTree()
                self._rev_index = IOBTree()
                self._num_docs = Length()

            def index_doc(self, docid, value):
                self._fwd_index.setdefault(value, OOTreeSet()).add(docid)
                self._rev_index[docid] = value
                self._num_docs.change(1)

        module('zope.index', )
        module('zope.index.field', FieldIndex=FieldIndex)

    class Run:
        id = start = end = 0
        finished = False

        def __init__(self, id):
            self.id = id

    class Track(Persistent):
        metadata_attributes = ('taskId', 'runId', 'userName', 'timeStamp')
        index_attributes = metadata_attributes

        def __init__(self, taskId, runId, userName, data):
            self.taskId = taskId
            self.runId = runId
            self.userName = userName
            self.timeStamp = T0
            self.data = data

    class TrackingStorage(BTreeContainer):
        trackNum = runId = 0

        def __init__(self, trackFactory=None):
            super().__init__()
            if trackFactory is not None:
                self.trackFactory = trackFactory
                self.indexAttributes = trackFactory.index_attributes
            self.indexes = OOBTree()
            for name in getattr(self, 'indexAttributes',
                                Track.index_attributes):
                self.indexes[name] = FieldIndex()
            self.runs = IOBTree()
            self.finishedRuns = IOBTree()
            self.currentRuns = OOBTree()
            self.taskUsers = OOBTree()

    class WorkItem(Track):
        metadata_attributes = Track.metadata_attributes + ('state',)
        index_attributes = metadata_attributes

    btree = module('cybertools.tracking.btree', Run=Run, Track=Track,
                   TrackingStorage=TrackingStorage)
    module('cybertools.organize')
    work = module('cybertools.organize.work', WorkItem=WorkItem)
    return btree, work


class Writer:
    """Fills a stand-in storage the way the original's methods left it,
    and records what it stored."""

    def __init__(self, storage, trackClass):
        self.storage = storage
        self.trackClass = trackClass
        self.expected = {'tracks': {}, 'runs': {}, 'current': {},
                         'trackClass': trackClass.__name__}

    def run(self, runId, start, end, finished=False, current=None,
            taskId=None):
        from cybertools.tracking.btree import Run
        run = Run(runId)
        run.start, run.end, run.finished = start, end, finished
        (self.storage.finishedRuns if finished else self.storage.runs)[
            runId] = run
        if current is not None:
            self.storage.currentRuns[current] = runId
            self.expected['current'][current] = runId
        self.storage.runId = max(self.storage.runId, runId)
        self.expected['runs'][str(runId)] = dict(
            start=start, end=end, finished=finished,
            taskId=current or taskId)

    def track(self, number, taskId, runId, userName, timeStamp, data,
              removed=False, **extra):
        storage = self.storage
        storage.trackNum = max(storage.trackNum, number)
        if removed:     # the original never reuses a number
            return
        name = '%07i' % number
        track = self.trackClass(taskId, runId, userName, data)
        track.timeStamp = timeStamp
        for attribute, value in extra.items():
            setattr(track, attribute, value)
        track.__parent__ = storage
        track.__name__ = name
        storage[name] = track
        for index in storage.indexes:
            value = getattr(track, index, None)
            if value is not None:
                storage.indexes[index].index_doc(number, value)
        if taskId not in storage.taskUsers:
            from BTrees.OOBTree import OOTreeSet
            storage.taskUsers[taskId] = OOTreeSet()
        storage.taskUsers[taskId].add(userName)
        self.expected['tracks'][name] = dict(
            taskId=taskId, runId=runId, userName=userName,
            timeStamp=timeStamp, data=_jsonable(data), **extra)


def _jsonable(value):
    # tuples as lists, as the migration stores them; sets as lists of
    # their items (not stored: the migration refuses them)
    return json.loads(json.dumps(value, default=sorted))


def fillTracks(writer):
    w = writer
    # a001's first run: finished some time after its last track
    w.run(1, T0, T0 + 50, finished=True, taskId='a001')
    w.track(1, 'a001', 1, 'u1', T0, {'somekey': 'somevalue'})
    w.track(2, 'a001', 1, 'u1', T0 + 20, {'somekey': 'newvalue2',
                                          'pair': (1, 2)})
    # a002's current run
    w.run(2, T0 + 5, T0 + 30, current='a002')
    w.track(3, 'a002', 2, 'u1', T0 + 5, {'somekey': 'anothervalue'})
    w.track(4, 'a002', 2, 'u2', T0 + 10, {}, removed=True)
    w.track(5, 'a002', 2, 'u2', T0 + 30, {'nested': {'list': [1, 'x'],
                                                     'text': 'Gr\xfc\xdfe'}})
    # a001's current run
    w.run(3, T0 + 60, T0 + 70, current='a001')
    w.track(6, 'a001', 3, 'u1', T0 + 60, {'k1': 'value1'})
    w.track(7, 'a001', 3, 'u2', T0 + 70, {'k2': None, 'f': 0.5})
    # a run started without a task, its tracks about two objects
    w.run(4, T0 + 80, T0 + 90)
    w.track(8, 'n1', 4, 'u3', T0 + 80, {'type': 'object_changed'})
    w.track(9, 'n2', 4, 'u3', T0 + 90, {'type': 'object_new'})
    # a003: stopped without finishing, after its last track
    w.run(5, T0 + 100, T0 + 200, taskId='a003')
    w.track(10, 'a003', 5, 'u4', T0 + 100, {'step': 1})
    # the last track was removed
    w.track(11, 'a001', 3, 'u1', T0 + 75, {}, removed=True)


def fillWork(writer):
    w = writer
    w.run(1, T0, T0 + 10, current='task1')
    w.track(1, 'task1', 1, 'u1', T0, {'title': 'Plan'}, state='planned')
    w.track(2, 'task1', 1, 'u1', T0 + 10, {'title': 'Plan', 'start': T0},
            state='running')


def build(path, protocol=3):
    btree, work = installStandIns()
    import transaction
    import ZODB.serialize
    from ZODB import DB
    from ZODB.FileStorage import FileStorage
    from zope.container.btree import BTreeContainer
    from zope.site.folder import rootFolder
    from zope.site.site import LocalSiteManager

    from cybertools.tracking.interfaces import ITrackingStorage
    ZODB.serialize._protocol = protocol
    db = DB(FileStorage(path))
    try:
        conn = db.open()
        records = conn.root()['records'] = BTreeContainer()
        expected = {}
        tracks = records['tracks'] = btree.TrackingStorage()
        writer = Writer(tracks, btree.Track)
        fillTracks(writer)
        expected['tracks'] = writer.expected
        items = records['work'] = btree.TrackingStorage(
            trackFactory=work.WorkItem)
        writer = Writer(items, work.WorkItem)
        fillWork(writer)
        expected['work'] = writer.expected
        bad = records['bad'] = btree.TrackingStorage()
        writer = Writer(bad, btree.Track)
        writer.run(1, T0, T0, current='t')
        writer.track(1, 't', 1, 'u1', T0, {'ok': 1})
        writer.track(2, 't', 1, 'u1', T0, {'tags': {'a', 'b'}})
        # a Zope root folder with a storage as its local utility
        folder = conn.root()['Application'] = rootFolder()
        folder.setSiteManager(LocalSiteManager(folder))
        utility = btree.TrackingStorage()
        folder.getSiteManager()['default']['tracking'] = utility
        folder.getSiteManager().registerUtility(utility, ITrackingStorage,
                                                'site')
        writer = Writer(utility, btree.Track)
        writer.run(1, T0, T0 + 1, current='page')
        writer.track(1, 'page', 1, 'u1', T0 + 1, {'seen': True})
        expected['site'] = writer.expected
        transaction.commit()
        conn.close()
    finally:
        db.close()
    with open(path + '.expected.json', 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('path')
    parser.add_argument('--protocol', type=int, default=3)
    args = parser.parse_args(argv)
    build(args.path, args.protocol)


if __name__ == '__main__':
    main()
