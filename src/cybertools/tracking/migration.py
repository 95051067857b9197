"""Moving a storage of the original cybertools.tracking over, in place.

The original kept a storage as a ``BTreeContainer`` of persistent
``Track`` objects named ``'%07i'``, a ``FieldIndex`` per attribute, the
counters ``trackNum`` and ``runId`` on the storage, plain ``Run`` objects
in the BTrees ``runs`` and ``finishedRuns``, the map ``currentRuns``
(task -> run id) and ``taskUsers``. A Python 2 database converted with
``zodbupdate`` still has this layout, under the class names of this
package (``cybertools.tracking.btree.TrackingStorage``, ``Track``,
``Run``), which now name classes of another kind: tracks are no longer
persistent and runs are. So an old database is read with the class
factory of this module (``classFactory``; ``openMigrationDatabase`` opens
a database with it), which loads the old records as stand-ins that only
hold their state:

- ``cybertools.tracking.btree.TrackingStorage`` -> ``OriginalStorage``,
- ``cybertools.tracking.btree.Track`` and the track classes of
  applications that cannot be loaded as they were -> ``OriginalTrack``,
- ``cybertools.tracking.btree.Run`` -> ``OriginalRun``;

track classes that cannot be imported at all load as ZODB's broken
objects, whose state is read as well. ``migrateStorage`` then turns the
old storage object into a storage of this package: the same object (so
references to it, a utility registration for instance, stay valid) with
the same tracks under the same ids, time stamps, users and data, the same
runs with their start, finished state and current runs, and new indexes.
The old records are left behind, unreferenced: pack the database
afterwards. Stand-ins refuse to be saved, so nothing of the old layout can
be written back by mistake.

Use a database opened with the class factory for the migration only: it
loads this package's own runs (which have the old runs' class name) as
stand-ins too. ``migrateStorage`` recognises a storage it converted
before, by its state, and leaves it alone.
"""

import dataclasses
import importlib

from persistent import Persistent
from ZODB.broken import Broken
from ZODB.broken import find_global
from zope.container.contained import ContainedProxyBase
from zope.container.contained import getProxiedObject

# The module the original's classes were in (and this package's are).
ORIGINAL_MODULE = 'cybertools.tracking.btree'

# What a track of the original has besides the attributes it shows.
CONTAINED = ('__parent__', '__name__')
BASIC_METADATA = ('taskId', 'runId', 'userName', 'timeStamp')


class MigrationError(Exception):
    """The storage cannot be migrated; nothing was changed."""


class _Unsaveable:
    """A stand-in for a record of the original layout: it is read, never
    written."""

    def __getstate__(self):
        raise TypeError('%s is a stand-in for a record of the original '
                        'cybertools.tracking, read by the migration only: it '
                        'cannot be saved' % type(self).__name__)

    def __reduce_ex__(self, protocol):
        self.__getstate__()


class OriginalStorage(_Unsaveable, Persistent):
    """The original's TrackingStorage, as loaded for the migration."""


class OriginalTrack(_Unsaveable, Persistent):
    """A persistent track of the original, as loaded for the migration.

    ``newClass`` is the track class of this package the record's class
    name refers to now (None for the original's own Track)."""

    newClass = None


class OriginalRun(_Unsaveable):
    """A run of the original (a plain object inside a BTree)."""

    def __init__(self, *args):
        # an old run may be rebuilt as ``Run()`` before its state is set
        pass


_trackClasses = {}


def _originalTrackClass(newClass):
    """The stand-in for records of an application's track class (a
    subclass of this package's Track, which is not persistent)."""
    standIn = _trackClasses.get(newClass)
    if standIn is None:
        standIn = _trackClasses[newClass] = type(
            newClass.__name__, (OriginalTrack,),
            {'newClass': newClass, '__module__': __name__})
    return standIn


def classFactory(connection, moduleName, globalName):
    """ZODB's class factory, mapping the original's classes onto stand-ins
    (see the module's documentation)."""
    if moduleName == ORIGINAL_MODULE:
        if globalName == 'TrackingStorage':
            return OriginalStorage
        if globalName == 'Track':
            return OriginalTrack
        if globalName == 'Run':
            return OriginalRun
    found = find_global(moduleName, globalName)
    if isinstance(found, type) and not issubclass(found, Persistent):
        from cybertools.tracking.btree import Track
        if issubclass(found, Track):
            return _originalTrackClass(found)
    return found


def openMigrationDatabase(uri, **options):
    """The database a URI names (see database.py), read with
    ``classFactory``."""
    from cybertools.tracking.database import openDatabase
    db = openDatabase(uri, **options)
    # (ZODB 6.3 and later also take it as the class_factory option) the
    # connection that made the root read with the former factory: drop it
    db.classFactory = classFactory
    db.pool.clear()
    return db


@dataclasses.dataclass
class MigrationSummary:
    """What ``migrateStorage`` did."""

    migrated: bool = False      # False: it was migrated before
    tracks: int = 0
    runs: int = 0
    currentRuns: int = 0
    notes: list = dataclasses.field(default_factory=list)

    def __str__(self):
        if not self.migrated:
            return 'the storage was migrated before: nothing to do'
        return ('migrated %i tracks and %i runs (%i current)'
                % (self.tracks, self.runs, self.currentRuns))


def isOriginalStorage(obj):
    """True for a storage object in the original's layout (a container
    with the original's run maps and indexes)."""
    state = _state(obj)
    return all(name in state for name in (
        '_SampleContainer__data', 'indexes', 'currentRuns'))


def migrateStorage(storage, trackFactory=None, ignoreAttributes=()):
    """Convert a storage of the original (loaded with ``classFactory``) in
    place into a storage of this package; return a ``MigrationSummary``.

    ``trackFactory`` is the class of the tracks of the new storage; by
    default the storage's own where it can be loaded, else ``Track``.
    Attributes of old tracks beyond its ``metadata_attributes`` are an
    error unless named in ``ignoreAttributes`` (they are dropped then).

    Runs: a run keeps its id, start and finished state; its ``end`` follows
    from its tracks and its stop time (a finished run, or one that was
    stopped, is stopped at its old end). A run's task is the task it is
    current for or else the task of its tracks (None for runs of several
    tasks or none). A task's current run stays current unless it was
    finished.

    Nothing is committed: commit the transaction afterwards. On an error
    (a MigrationError, also for what the storage refuses, such as data that
    is not JSON, naming the track or run) the storage object is left as it
    was: abort the transaction.
    A storage migrated before is left alone.
    """
    from cybertools.tracking.btree import TrackingStorage
    if not isOriginalStorage(storage):
        # a record of the storage class not in the old layout: migrated
        if isinstance(storage, (TrackingStorage, OriginalStorage)):
            return MigrationSummary(migrated=False)
        raise MigrationError('%r is not a tracking storage of the original '
                             'cybertools.tracking' % (storage,))
    state = dict(_state(storage))
    factory = _trackFactory(state, trackFactory)
    summary = MigrationSummary(migrated=True)
    runs = _readRuns(state, summary)
    current = _readCurrentRuns(state, runs, summary)
    tracks = _readTracks(state, factory, ignoreAttributes)
    _completeRuns(runs, tracks, current, summary)

    oldClass = type(storage)
    newClass = oldClass if issubclass(oldClass, TrackingStorage) \
        else TrackingStorage
    storage.__class__ = newClass
    storage.__dict__.clear()
    try:
        newClass.__init__(storage, trackFactory=None
                          if factory is newClass.trackFactory else factory)
        for name in CONTAINED:
            if state.get(name) is not None:
                setattr(storage, name, state[name])
        for runId in sorted(runs):
            run = runs[runId]
            try:
                storage.restoreRun(runId, run['taskId'], run['start'],
                                   stopped=run['stopped'],
                                   finished=run['finished'],
                                   current=run['current'])
            except (TypeError, ValueError) as error:
                raise MigrationError('run %r: %s' % (runId, error)) from None
        for name, record, extra in tracks:
            try:
                storage.restoreTrack(name, *record, **extra)
            except (TypeError, ValueError) as error:
                raise MigrationError('track %s: %s' % (name, error)) from None
    except BaseException:
        storage.__class__ = oldClass
        storage.__dict__.clear()
        storage.__dict__.update(state)
        raise
    storage._p_changed = True
    summary.tracks = len(tracks)
    summary.runs = len(runs)
    summary.currentRuns = sum(1 for run in runs.values() if run['current'])
    return summary


# reading the old layout

def _unwrap(obj):
    """The object a container keeps in a ContainedProxy: the original's
    tracks did not provide IContained, so its BTreeContainer wrapped each
    of them in one."""
    while isinstance(obj, ContainedProxyBase):
        ContainedProxyBase._p_activate(obj)
        obj = getProxiedObject(obj)
    return obj


def _state(obj):
    """The state of a persistent object (also a broken one, or one in a
    ContainedProxy) as a dict."""
    obj = _unwrap(obj)
    if isinstance(obj, Persistent):
        obj._p_activate()
    if isinstance(obj, Broken):
        state = obj.__Broken_state__
    else:
        state = getattr(obj, '__dict__', None)
    if isinstance(state, tuple):    # (dict, slots)
        merged = {}
        for part in state:
            merged.update(part or {})
        state = merged
    return state if isinstance(state, dict) else {}


def _trackFactory(state, given):
    from cybertools.tracking.btree import Track
    if given is not None:
        if not (isinstance(given, type) and issubclass(given, Track)):
            raise MigrationError('the track factory must be a subclass of '
                                 'cybertools.tracking.btree.Track, not %r'
                                 % (given,))
        return given
    stored = state.get('trackFactory')
    if stored is None or stored is OriginalTrack:
        return Track
    if isinstance(stored, type) and issubclass(stored, OriginalTrack):
        return stored.newClass
    if isinstance(stored, type) and issubclass(stored, Track):
        return stored
    raise MigrationError(
        "the storage's track class %s cannot be used (it is not importable, "
        'or not a subclass of cybertools.tracking.btree.Track): give the '
        'class of the migrated tracks (trackFactory, --track-factory)'
        % _className(stored))


def _className(cls):
    if isinstance(cls, type):
        return '%s.%s' % (cls.__module__, cls.__name__)
    return repr(cls)


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MigrationError('%s is not a number: %r' % (what, value))
    return value


def _readRuns(state, summary):
    runs = {}
    for treeName, finished in (('runs', False), ('finishedRuns', True)):
        tree = state.get(treeName)
        if tree is None:
            continue
        for runId, run in tree.items():
            runState = _state(run)
            start = _number(runState.get('start', 0), 'the start of run %r'
                            % runId)
            end = _number(runState.get('end', start), 'the end of run %r'
                          % runId)
            runs[runId] = dict(
                start=start, end=max(start, end), taskId=None, current=False,
                finished=finished or bool(runState.get('finished')),
                stopped=None)
            if runState.get('id', runId) != runId:
                summary.notes.append('run %r was kept under the id %r'
                                     % (runState.get('id'), runId))
    return runs


def _readCurrentRuns(state, runs, summary):
    current = {}
    tree = state.get('currentRuns')
    for taskId, runId in (tree or {}).items():
        run = runs.get(runId)
        if run is None:
            summary.notes.append('the current run %r of task %r does not '
                                 'exist: the task has no current run'
                                 % (runId, taskId))
        elif run['finished']:
            summary.notes.append('run %r of task %r was finished: it is no '
                                 'longer current' % (runId, taskId))
        elif run['current']:
            summary.notes.append('run %r is current for %r already: not for '
                                 '%r' % (runId, run['taskId'], taskId))
        else:
            run['current'] = True
            run['taskId'] = taskId
            current[taskId] = runId
    return current


def _readTracks(state, factory, ignoreAttributes):
    """The tracks as (name, (taskId, runId, userName, timeStamp, data),
    extra metadata), in the order of their names."""
    extraNames = [name for name in factory.metadata_attributes
                  if name not in BASIC_METADATA]
    known = set(BASIC_METADATA + CONTAINED + ('data',)) | set(extraNames) \
        | set(ignoreAttributes)
    unknown = {}
    tracks = []
    for name, track in state['_SampleContainer__data'].items():
        trackState = _state(track)
        for attribute in set(trackState) - known:
            if not attribute.startswith(('_p_', '_v_')):
                unknown.setdefault(attribute, name)
        data = trackState.get('data')
        record = (trackState.get('taskId'), trackState.get('runId'),
                  trackState.get('userName'), trackState.get('timeStamp'),
                  _plain({} if data is None else data))
        extra = {attribute: _plain(trackState[attribute])
                 for attribute in extraNames if attribute in trackState}
        tracks.append((name, record, extra))
    if unknown:
        raise MigrationError(
            'tracks have attributes the track class %s does not keep: %s '
            '(give a track class with them in its metadata_attributes, or '
            'drop them explicitly: ignoreAttributes, --ignore-attribute)'
            % (_className(factory), ', '.join(
                '%s (first in track %s)' % (attribute, unknown[attribute])
                for attribute in sorted(unknown))))
    return tracks


def _plain(value):
    """Tuples (which JSON does not know) as lists."""
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _completeRuns(runs, tracks, current, summary):
    """Tasks and stop times of the runs; runs that tracks name but that are
    missing are made from the tracks."""
    tasks = {}
    last = {}
    for name, (taskId, runId, userName, timeStamp, data), extra in tracks:
        if isinstance(timeStamp, bool) or not isinstance(
                timeStamp, (int, float)):
            raise MigrationError('track %s: its time stamp is not a number: '
                                 '%r' % (name, timeStamp))
        if runId not in runs:
            summary.notes.append('run %r of track %s did not exist: it was '
                                 'made from its tracks' % (runId, name))
            runs[runId] = dict(start=timeStamp, end=timeStamp, taskId=None,
                               current=False, finished=False, stopped=None,
                               madeFromTracks=True)
        run = runs[runId]
        if run.get('madeFromTracks'):
            run['start'] = min(run['start'], timeStamp)
        tasks.setdefault(runId, set()).add(taskId)
        last[runId] = max(last.get(runId, timeStamp), timeStamp)
    for runId, run in runs.items():
        if run['taskId'] is None and len(tasks.get(runId, ())) == 1:
            run['taskId'] = next(iter(tasks[runId]))
        latest = max(run['start'], last.get(runId, run['start']))
        if run['finished'] or (not run['current'] and run['end'] > latest):
            run['stopped'] = run['end']


# the command

def addMigrateCommand(subparsers, parents=()):
    """Add the ``migrate`` command to the subparsers of the ``tracking``
    command; ``parents`` give the options of the database and the site."""
    sub = subparsers.add_parser(
        'migrate', parents=list(parents),
        help="convert a storage of the original cybertools.tracking",
        description='Convert a tracking storage of the original '
                    'cybertools.tracking (a Python 2 database converted '
                    'with zodbupdate) in place into a storage of this '
                    'version, keeping track ids, time stamps, users, data '
                    'and runs, and commit. The storage is the local utility '
                    'named by --storage, or the object at --path. A storage '
                    'migrated before is left alone. Pack the database '
                    'afterwards.')
    sub.add_argument('--path', metavar='PATH',
                     help='the storage as a path of names from the database '
                          "root, e.g. Application/records/work")
    sub.add_argument('--track-factory', metavar='MODULE.CLASS',
                     help='the class of the migrated tracks (default: the '
                          "storage's own, else "
                          'cybertools.tracking.btree.Track)')
    sub.add_argument('--ignore-attribute', action='append', default=[],
                     metavar='NAME',
                     help='an attribute of the old tracks to drop '
                          '(repeatable)')
    sub.add_argument('--check', action='store_true',
                     help='compare the new indexes with the tracks before '
                          'committing')
    sub.set_defaults(func=cmdMigrate)
    return sub


def cmdMigrate(args):
    from cybertools.tracking.cli.errors import CommandError
    from cybertools.tracking.cli.output import say
    from cybertools.tracking.cli.site import commit
    from cybertools.tracking.cli.site import findStorage
    from cybertools.tracking.cli.site import loadZCML
    factory = _resolveClass(args.track_factory, CommandError) \
        if args.track_factory else None
    loadZCML(args.zcml)
    db = _openDatabase(args.db, CommandError)
    try:
        connection = db.open()
        try:
            if args.path:
                storage = findObject(connection.root(), args.path,
                                     CommandError)
            else:
                storage = findStorage(connection, args.storage)
            try:
                summary = migrateStorage(storage, factory,
                                         args.ignore_attribute)
            except MigrationError as error:
                raise CommandError(str(error))
            for note in summary.notes:
                say('note: %s' % note)
            if not summary.migrated:
                say(str(summary))
                return 0
            if args.check:
                differences = storage.checkIndexes()
                if differences:
                    raise CommandError('the new indexes differ from the '
                                       'tracks (%s): nothing committed'
                                       % '; '.join(differences[:3]))
            commit(connection, 'migrate')
            say(str(summary))
            return 0
        finally:
            connection.transaction_manager.abort()
            connection.close()
    finally:
        db.close()


def _openDatabase(uri, CommandError):
    import os

    from zc.lockfile import LockError

    from cybertools.tracking.database import displayURI
    from cybertools.tracking.database import fileStoragePath
    path = fileStoragePath(uri)
    if path is not None and not os.path.exists(path):
        raise CommandError('there is no database file %s (give the '
                           "application's database with --db URI)" % path)
    try:
        return openMigrationDatabase(uri)
    except ValueError as error:
        raise CommandError(str(error))
    except LockError:
        raise CommandError('the database %s is in use by another process: '
                           'stop the application first' % displayURI(uri))
    except Exception as error:
        raise CommandError('cannot open the database %s: %s: %s'
                           % (displayURI(uri), type(error).__name__, error))


def _resolveClass(dotted, CommandError):
    from cybertools.tracking.btree import Track
    moduleName, _, className = dotted.replace(':', '.').rpartition('.')
    try:
        cls = getattr(importlib.import_module(moduleName), className)
    except (ImportError, AttributeError, ValueError) as error:
        raise CommandError('--track-factory %s: cannot import it (%s)'
                           % (dotted, error))
    if not (isinstance(cls, type) and issubclass(cls, Track)):
        raise CommandError('--track-factory %s: not a subclass of '
                           'cybertools.tracking.btree.Track' % dotted)
    return cls


def findObject(root, path, CommandError=MigrationError):
    """The object at a path of names from the database root, going through
    containers (also those whose classes cannot be imported)."""
    obj = root
    walked = []
    for name in [part for part in path.split('/') if part]:
        child = _child(obj, name)
        walked.append(name)
        if child is None:
            raise CommandError('--path %s: there is nothing at %s'
                               % (path, '/'.join(walked)))
        obj = child
    return obj


def _child(obj, name):
    if not isinstance(obj, Broken):
        try:
            return obj[name]
        except (KeyError, TypeError, AttributeError):
            pass
    state = _state(obj)
    for key in ('_SampleContainer__data', '_tree', 'data'):
        items = state.get(key)
        if items is not None and hasattr(items, 'get'):
            child = items.get(name)
            if child is not None:
                return child
    return state.get(name)    # OFS folders keep their items as attributes


def main(argv=None):
    """``python -m cybertools.tracking.migration migrate ...``: the same as
    ``tracking migrate ...``."""
    from cybertools.tracking.cli import main as tracking
    return tracking(argv)


if __name__ == '__main__':
    raise SystemExit(main())
