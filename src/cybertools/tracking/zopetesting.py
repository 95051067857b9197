"""Test layers for Zope 5/6 (plone.testing): the package's configuration
in a Zope application, a root with a storage, a sub-site with a user
folder and a storage of its own, Python Scripts, and a WSGI server.

The ``ZOPE_SERVER`` layer serves it over HTTP on 127.0.0.1.
"""

import logging
import warnings

import transaction
from plone.testing import Layer
from plone.testing import zca
from plone.testing import zodb
from plone.testing import zope as zopeTesting
from zope.configuration import xmlconfig

import cybertools.tracking
from cybertools.tracking.installation import addTrackingStorage

PASSWORD = 'secret'


class RecordingHandler(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def loadConfiguration(context, *files):
    """Load the package's ``files`` into ``context``; return the warnings
    logged and issued meanwhile (as text)."""
    handler = RecordingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as issued:
            warnings.simplefilter('always')
            for name in files:
                xmlconfig.file(name, cybertools.tracking, context=context)
    finally:
        root.removeHandler(handler)
    return ([record.getMessage() for record in handler.records]
            + [str(warning.message) for warning in issued])


SAVE_SCRIPT = """\
storage = context.restrictedTraverse('++tracking++')
return storage.saveUserTrack(task, 0, user, {'answer': answer})
"""

READ_SCRIPT = """\
storage = context.restrictedTraverse('++tracking++')
lines = []
result = storage.query(taskId=task)
for track in result:
    lines.append('%s %s %s %s' % (track.taskId, track.runId, track.userName,
                                  track.data['answer']))
run = storage.getRun(task)
lines.append('%i tracks, run %i %s' % (len(result), run.id, run.state))
return '\\n'.join(lines)
"""


class TrackingZopeFixture(Layer):
    """A Zope application with the package's configuration: a storage in
    the root (made a site), a folder ``sub`` made a site with a user folder
    and a storage of its own, and Python Scripts that use the storages."""

    defaultBases = (zopeTesting.STARTUP,)

    def setUp(self):
        self['zodbDB'] = zodb.stackDemoStorage(
            self.get('zodbDB'), name='TrackingZopeFixture')
        self['configurationContext'] = context = (
            zca.stackConfigurationContext(self.get('configurationContext')))
        self['configurationWarnings'] = loadConfiguration(
            context, 'configure.zcml', 'startup.zcml')
        with zopeTesting.zopeApp() as app:
            zopeTesting.installProduct(app, 'Products.PythonScripts')
            from Products.PythonScripts.PythonScript import (
                manage_addPythonScript)
            users = app['acl_users']
            users.userFolderAddUser('admin', PASSWORD, ['Manager'], [])
            users.userFolderAddUser('alice', PASSWORD, [], [])
            users.userFolderAddUser('bob', PASSWORD, [], [])
            addTrackingStorage(app)
            app.manage_addFolder('sub')
            sub = app['sub']
            sub.manage_addUserFolder()
            sub['acl_users'].userFolderAddUser('carol', PASSWORD, [], [])
            sub['acl_users'].userFolderAddUser('dora', PASSWORD,
                                               ['Manager'], [])
            addTrackingStorage(sub)
            for folder in (app, sub):
                manage_addPythonScript(folder, 'saveTrack')
                folder['saveTrack'].ZPythonScript_edit(
                    'task, user, answer', SAVE_SCRIPT)
                manage_addPythonScript(folder, 'readTracks')
                folder['readTracks'].ZPythonScript_edit('task', READ_SCRIPT)
            transaction.commit()

    def tearDown(self):
        with zopeTesting.zopeApp() as app:
            zopeTesting.uninstallProduct(app, 'Products.PythonScripts')
        del self['configurationContext']
        del self['configurationWarnings']
        self['zodbDB'].close()
        del self['zodbDB']


ZOPE_FIXTURE = TrackingZopeFixture()


class LoopbackWSGIServer(zopeTesting.WSGIServer):
    """plone.testing's WSGI server, on 127.0.0.1 and a free port."""

    host = '127.0.0.1'
    port = 0


ZOPE_SERVER_FIXTURE = LoopbackWSGIServer(
    bases=(ZOPE_FIXTURE,), name='TrackingZopeWSGIServer')

ZOPE_SERVER = zopeTesting.FunctionalTesting(
    bases=(ZOPE_SERVER_FIXTURE,), name='TrackingZope:Functional')

# in-process: each test's changes are rolled back
ZOPE_INTEGRATION = zopeTesting.IntegrationTesting(
    bases=(ZOPE_FIXTURE,), name='TrackingZope:Integration')
