"""The demo application in a subprocess, for its functional tests."""

import os
import shutil
import sys
import tempfile

import transaction
import ZODB.FileStorage
from ZODB import DB

from cybertools.tracking.demo.users import LOGINS
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.testing import ServerProcess
from cybertools.tracking.testing import storeUnchecked


def demoServer(directory):
    """The demo application on a FileStorage in ``directory``, on a free
    loopback port (not started yet)."""
    uri = 'file://' + os.path.join(os.path.abspath(directory), 'Data.fs')
    return ServerProcess(
        [sys.executable, '-m', 'cybertools.tracking.demo.server',
         '--db', uri, '--host', '127.0.0.1', '--port', '0'],
        directory)


# What an older version may have stored: lone surrogates in names and data.
PLANTED = (
    ('odd\ud800task', 'demo.alice', {'note\udc00': 'half \ud800 pair'}),
    ('quiz', 'eve\ud800', {'step': 'q\ud800'}),
)


def plantRecords(directory, records=PLANTED):
    """Store ``records`` (taskId, userName, data) unchecked, each in a run
    of its own, in the demo's database in ``directory`` (the server must
    not run). Returns their track ids."""
    db = DB(ZODB.FileStorage.FileStorage(os.path.join(directory, 'Data.fs')))
    try:
        with db.transaction() as connection:
            site = connection.root()['Application']
            storage = site.getSiteManager().getUtility(ITrackingStorage)
            names = []
            for number, (taskId, userName, data) in enumerate(records):
                runId = storage.startRun()
                names.append(storeUnchecked(storage, taskId, runId, userName,
                                            data, 1700000000.0 + number))
        transaction.abort()
        return names
    finally:
        db.close()


def startDemo(layer, prepare=None):
    """Start the demo for a test layer (``layer.server``, in a temporary
    ``layer.directory``); ``prepare(layer)`` may change the database before
    the server starts."""
    layer.directory = tempfile.mkdtemp(prefix='tracking-demo-')
    layer.server = demoServer(layer.directory)
    if prepare is not None:
        prepare(layer)
    layer.server.start()
    # the logins the server prints after its URL
    layer.server.readOutput(len(LOGINS) + 2)


def stopDemo(layer):
    layer.server.stop()
    shutil.rmtree(layer.directory)


class DemoLayer:
    """The demo runs while the layer's tests run."""

    @classmethod
    def setUp(cls):
        startDemo(cls)

    tearDown = classmethod(stopDemo)


class PlantedDemoLayer:
    """The demo on a database with records an older version stored (see
    ``PLANTED``); the track ids are in ``planted``."""

    @classmethod
    def setUp(cls):
        startDemo(cls, cls.plant)

    tearDown = classmethod(stopDemo)

    @staticmethod
    def plant(layer):
        # a first start creates the site and its storage
        layer.server.start()
        layer.server.stop()
        layer.planted = plantRecords(layer.directory)
