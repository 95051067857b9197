"""Upgrading a storage of the first layout (2.0.0.dev0) to the one of
lanes and JSON records; see ``TrackingStorage.upgrade``.

The first layout kept tracks, runs and indexes in partitions, records as
pickles and a stored ``end`` in every run. The upgrade moves records and
runs into the storage's own trees (ids are unique across partitions, so
they stay), rewrites the records as JSON, drops the stored ends and builds
the indexes anew. No id that was ever given is given again.
"""


from cybertools.tracking.index import TrackIndex
from cybertools.tracking.lanes import LaneTrees
from cybertools.tracking.lanes import Lanes
from cybertools.tracking.mergeguard import PendingChanges
from cybertools.tracking.records import PICKLE_START
from cybertools.tracking.records import decodeRecord
from cybertools.tracking.records import encodeRecord
from cybertools.tracking.recordtrees import RecordTree
from cybertools.tracking.validation import checkData


def upgradeStorage(storage, progress=None):
    from cybertools.tracking.btree import TaskRuns
    from cybertools.tracking.btree import reportingProgress
    state = storage.__dict__
    partitions = state.get('_partitions')
    if partitions is None:
        return 0
    records = LaneTrees(RecordTree)
    runs = LaneTrees()
    taskRuns = TaskRuns()
    trackLanes, runLanes = Lanes(), Lanes()
    rewritten = highestTrack = highestRun = 0
    for partition in partitions:
        for trackId, raw in reportingProgress(partition.tracks.items(),
                                              progress):
            if raw[:1] == PICKLE_START:
                raw = _asJSON(trackId, raw)
                rewritten += 1
            records[trackId] = raw
        highestTrack = max(highestTrack, _highestId(
            partition, partition.lastTrackNumber))
        highestRun = max(highestRun, _highestId(
            partition, partition.lastRunNumber))
        for runId, run in partition.runs.items():
            run._p_activate()
            if 'end' in run.__dict__:
                del run.__dict__['end']
                run._p_changed = True
            runs[runId] = run
            if run.taskId is not None:
                taskRuns.addRun(run.taskId, runId)
    # ids given before (also of tracks removed since) are not given again
    trackLanes._floors[0] = highestTrack
    runLanes._floors[0] = highestRun
    storage._records = records
    trackLanes._counts[0] = state['_trackCount']
    storage._trackLanes = trackLanes
    storage._pendingChanges = PendingChanges()
    storage._runs = runs
    storage._runLanes = runLanes
    storage._taskRuns = taskRuns
    storage._index = TrackIndex(storage.indexAttributes)
    storage._index = storage._freshIndex(records.keys())
    trackLanes.setAllMerged(records)
    del storage._partitions
    del storage._trackCount
    return rewritten


def _asJSON(trackId, raw):
    """A record of the first layout as JSON, its data checked as a save
    checks it (encodeRecord takes plain values only)."""
    record = decodeRecord(raw)
    try:
        record[4] = checkData(record[4])
    except (TypeError, ValueError) as error:
        raise ValueError('track %07i cannot be upgraded: %s'
                         % (trackId, error)) from None
    return encodeRecord(record)


def _highestId(partition, counter):
    return counter() * partition.count + partition.number
