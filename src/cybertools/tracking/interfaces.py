"""Interfaces of the tracking storage: tracks, runs, the storage, its events.

The storage API is split by the permission that protects it: reading
(``ITrackingStorageQuery``), saving tracks and working with runs
(``ITrackingStorageWrite``) and maintenance (``ITrackingStorageManage``).
``ITrackingStorage`` combines the three, so that a ZCML ``<class>``
declaration can protect each part with one ``<require>``.
"""

from zope.container.interfaces import IReadContainer
from zope.interface import Attribute
from zope.interface import Interface
from zope.interface.interfaces import IObjectEvent
from zope.lifecycleevent.interfaces import IObjectAddedEvent
from zope.lifecycleevent.interfaces import IObjectModifiedEvent
from zope.lifecycleevent.interfaces import IObjectRemovedEvent
from zope.location.interfaces import ILocation
from zope.schema import Bool
from zope.schema import Dict
from zope.schema import Float
from zope.schema import Int
from zope.schema import TextLine
from zope.schema import Tuple


class IRun(ILocation):
    """A run groups the tracks of one task: an attempt, a session.

    Run ids are integers, unique within a storage and never reused. A task
    has at most one *current* run; tracks saved with ``runId=0`` go to it.
    Runs are persistent: changes to ``end`` and ``finished`` are kept.
    """

    id = Int(
        title='Run id',
        description='Unique within the storage; never 0.',
        min=1,
        readonly=True)

    taskId = TextLine(
        title='Task',
        description='The task the run was started for (None for a run '
                    'started without a task).',
        required=False,
        readonly=True)

    start = Float(
        title='Start',
        description='When the run was started (seconds since the epoch, UTC).')

    end = Float(
        title='End',
        description='The latest of: the start, the time stamps of the '
                    "run's tracks and the time the run was stopped.")

    stopped = Float(
        title='Stopped',
        description='When the run was stopped, None while it is not.',
        required=False)

    finished = Bool(
        title='Finished',
        description='True when the run was stopped with finish=True.',
        default=False)

    state = TextLine(
        title='State',
        description="'open', 'stopped' (without finishing) or 'finished'.",
        readonly=True)


class IReadTrack(ILocation):
    """The attributes of a track.

    ``__name__`` is the track id (a string like ``'0000001'``), ``__parent__``
    the storage.
    """

    taskId = TextLine(
        title='Task',
        description='What was worked on: any non-empty string, e.g. the id '
                    'or path of an object.',
        min_length=1)

    runId = Int(
        title='Run',
        description='The run the track belongs to.',
        min=1)

    userName = TextLine(
        title='User',
        description='Who did it: a principal id or a user name.',
        min_length=1)

    timeStamp = Float(
        title='Time stamp',
        description='When the track was saved or last updated (seconds '
                    'since the epoch, UTC, with sub-second precision).')

    data = Dict(
        title='Data',
        description='The result: a mapping with string keys whose values '
                    'can be exported to JSON.',
        key_type=TextLine())

    metadata = Dict(
        title='Metadata',
        description='taskId, runId, userName and timeStamp as a mapping.',
        readonly=True)

    indexdata = Dict(
        title='Index data',
        description='The values the storage indexes the track under '
                    '(given by the ITrackIndexData adapter).',
        readonly=True)

    typeName = TextLine(
        title='Type name',
        description='The name shown in the representation, e.g. "Track".',
        readonly=True)

    metadata_attributes = Tuple(
        title='Metadata attributes',
        description='Names of the metadata attributes.',
        readonly=True)

    index_attributes = Tuple(
        title='Index attributes',
        description='Names of the indexes for this kind of track: the '
                    'metadata attributes, then fields of ``data`` '
                    '(a track whose data lacks such a field is not indexed '
                    'under it).',
        readonly=True)



class IWriteTrack(Interface):
    """Changing a track."""

    def update(newData, overwrite=False):
        """Store ``newData`` in this track and reindex it.

        ``newData`` is merged into the track's data, or replaces it with
        ``overwrite=True``; the time stamp becomes the current time.
        """


class ITrack(IReadTrack, IWriteTrack):
    """One record of what a user did: a task, a run, a user, a time, data.

    Within a connection a storage gives out one object per stored track.
    Setting its metadata or data, or changing its data in place, is stored
    and reindexed when the transaction commits and undone when it aborts;
    ``update`` and ``zope.lifecycleevent.modified(track)`` store it at once.
    """


class ITrackIndexData(Interface):
    """Adapter from a track to the values a storage indexes it under.

    The storage looks this adapter up for every track it indexes, so a
    custom track class can register its own. Without a registration the
    default one for ``ITrack`` is used.
    """

    def getIndexValues():
        """Return a mapping from index name to value.

        It contains ``taskId``, ``runId``, ``userName`` and ``timeStamp``,
        and the other names of the track's ``index_attributes`` for which
        the track has a value. A value is a string, an integer or a float;
        names without a value are left out (the track is not indexed there).
        """


class ITrackingStorageQuery(IReadContainer):
    """Reading tracks and runs.

    The storage is a read container of its tracks: keys are track ids,
    values the tracks, in the order of their ids.
    """

    trackFactory = Attribute(
        'The class of the tracks this storage creates (``Track`` or a '
        'subclass, e.g. a comment or a notification).')

    indexAttributes = Attribute(
        "The names of the storage's indexes: the ``index_attributes`` of "
        'its track factory.')

    def getUserTracks(taskId, runId, userName):
        """Return the tracks of a user in a run of a task, oldest first.

        ``runId=0`` means the task's current run (no tracks if it has
        none). The result is a lazy sequence like that of ``query``.
        """

    def getLastUserTrack(taskId, runId, userName):
        """Return the latest track of a user in a run of a task, or None.

        The latest track has the latest time stamp; of tracks with the same
        time stamp, the one saved last.
        """

    def getUserNames(taskId=None):
        """Return the sorted names of the users that have tracks for a task,
        or, without a task, of all users that have tracks."""

    def getTaskIds():
        """Return the sorted ids of the tasks that have tracks."""

    def query(**criteria):
        """Return the tracks matching all criteria, oldest first.

        A criterion is the name of an index with a value, a list or tuple of
        values (any of them), or a string ending in ``*`` (every value
        starting with the rest); a criterion whose value is None is ignored.
        ``timeFrom`` and ``timeTo`` (or ``timeFromTo``, a pair) limit the
        time stamps, both ends included (to the microsecond: the indexes
        keep time stamps in microseconds). No criteria returns all tracks.

        An unknown criterion, a malformed value or ``timeFrom > timeTo``
        raises ValueError or TypeError.

        The result is a sequence ordered by time stamp, then by id. Its
        length, iteration, indexing, slicing and reversal load only the
        tracks they return.
        """

    def getRuns(taskId=None):
        """Return the runs in the order of their ids (a lazy sequence like
        the result of ``query``); with a ``taskId``, the runs started for
        that task. Runs started by one writer come in the order they were
        started in; runs of concurrent writers (ids in lanes of their own,
        see lanes.py) come after those of lane 0."""

    def getRun(taskId=None, runId=0):
        """Return a run, or None.

        With a ``runId``, the run with this id; with a ``taskId`` only, the
        task's current run. None if there is no such run.
        """


class ITrackingStorageWrite(Interface):
    """Saving tracks and working with runs."""

    def saveUserTrack(taskId, runId, userName, data, update=False,
                      timeStamp=None, overwrite=False):
        """Save a track and return its id.

        ``runId=0`` saves into the task's current run, starting one if the
        task has none; another ``runId`` must be an existing run.
        ``data`` is a mapping with string keys and JSON-compatible values
        (tuples are stored as lists). With ``update=True`` the latest track
        of the user in the run is updated (see ``updateTrack``) if there is
        one. ``timeStamp`` (seconds since the epoch) sets the track's time
        instead of the current time, e.g. when importing a log.

        Invalid arguments raise TypeError or ValueError and change nothing.
        Notifies ``ITrackAddedEvent`` (or ``ITrackModifiedEvent`` for an
        update).
        """

    def updateTrack(track, data, overwrite=False):
        """Merge ``data`` into a track's data (or replace it) and reindex.

        The time stamp becomes the current time. An empty ``data`` without
        ``overwrite`` changes nothing. Returns the track id and notifies
        ``ITrackModifiedEvent``.
        """

    def reindexTrack(track):
        """Store a changed track object and bring the indexes up to date.

        Does nothing if the track equals what is stored. This is what the
        subscriber to ``IObjectModifiedEvent`` calls.
        """

    def indexTrack(trackNum, track, idx=None):
        """The original's name for ``reindexTrack(track)``; ``trackNum`` is
        ignored, ``idx`` (one index to update) must be an index name."""

    def setTrackData(track, data):
        """Replace a track's data (checked as for ``saveUserTrack``),
        keeping its time stamp, and reindex it."""

    def startRun(taskId=None, start=None):
        """Start a new run and return its id.

        With a ``taskId`` the run becomes the task's current run (replacing
        the previous one, which stays as it is). ``start`` (seconds since
        the epoch) sets the start time instead of the current time, e.g.
        when importing. Notifies ``IRunStartedEvent``.
        """

    def stopRun(taskId=None, runId=0, finish=True, stopped=None):
        """Stop a run and return its id (0 if there was nothing to stop).

        ``runId=0`` means the task's current run. A stopped run is no
        longer any task's current run; ``finish`` marks it as finished.
        ``stopped`` (seconds since the epoch) is the time of the stop
        instead of the current time, e.g. when importing. Notifies
        ``IRunStoppedEvent``.
        """


class ITrackingStorageManage(Interface):
    """Removing tracks and maintaining the indexes."""

    def removeTrack(track):
        """Remove a track and unindex it. Notifies ``ITrackRemovedEvent``."""

    def unindexTrack(trackNum, track):
        """The original's announcement that a track is being removed: it is
        removed when the transaction commits, unless deleted before."""

    def indexPending():
        """Merge the tracks saved since the last merge into the indexes now
        (a save does so every ``mergeSize`` tracks); return how many."""

    def __delitem__(trackId):
        """Remove the track with this id (see ``removeTrack``)."""

    def setupIndexes():
        """Create the indexes the track factory asks for and fill them.

        Needed after a track factory got new ``index_attributes``; indexes
        that are no longer asked for are dropped.
        """

    def restoreRun(runId, taskId=None, start=None, stopped=None,
                   finished=False, current=False):
        """Add a run under a given id, as a backup or an older storage has
        it; return the id.

        ValueError if the id is taken. ``stopped`` and ``finished`` give
        its state; ``current`` makes it the task's current run. No id is
        given twice. No event is notified.
        """

    def restoreTrack(trackId, taskId, runId, userName, timeStamp, data,
                     **metadata):
        """Add a track under a given name (such as ``'0000042'``), as a
        backup or an older storage has it; return the name.

        ``metadata`` gives the further metadata attributes of the track
        class (such as ``state``). ValueError if the name is taken or the
        run does not exist. No id is given twice. No event is notified.
        """

    def upgrade(progress=None):
        """Bring a storage written by an earlier version to the current
        layout; return the number of records rewritten (0: nothing to do).
        """

    def reindexTracks(progress=None):
        """Rebuild all indexes from the stored tracks.

        ``progress``, if given, is called now and then with the number of
        tracks done since its last call (``tqdm``'s ``update`` fits).
        """

    def checkIndexes(progress=None):
        """Compare the indexes with the stored tracks (``progress`` as for
        ``reindexTracks``).

        Returns a list of differences, each a line of text; an empty list
        means the indexes agree with the tracks. ``reindexTracks`` repairs
        what this finds.
        """


class ITrackingStorage(ITrackingStorageQuery, ITrackingStorageWrite,
                       ITrackingStorageManage):
    """A storage of tracks and runs with indexes on their metadata."""


class ITrackAddedEvent(IObjectAddedEvent):
    """A track was saved; ``newParent`` is the storage."""


class ITrackModifiedEvent(IObjectModifiedEvent):
    """A track's data or time stamp changed and it was reindexed."""


class ITrackRemovedEvent(IObjectRemovedEvent):
    """A track was removed; ``oldParent`` is the storage."""


class IRunEvent(IObjectEvent):
    """Something happened to a run; ``storage`` is where it lives."""

    storage = Attribute('The tracking storage of the run.')


class IRunStartedEvent(IRunEvent):
    """A run was started."""


class IRunStoppedEvent(IRunEvent):
    """A run was stopped (``object.finished`` tells whether finished)."""
