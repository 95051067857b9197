"""Making sure the application's tracking storage exists at start-up.

Enable it with ``<include package="cybertools.tracking"
file="startup.zcml" />``: in a ZTK application after zope.app.appsetup's
configuration (whose bootstrap subscriber creates the root folder first),
in Zope 5/6 anywhere in ``site.zcml`` (Zope creates its application root
before it tells the subscribers that the database is open).

A failure is logged: the server starts all the same, without a storage.
"""

import logging

import transaction
from zope.component import adapter
from zope.component.interfaces import ISite
from zope.processlifetime import IDatabaseOpenedWithRoot

from cybertools.tracking.installation import ROOT_NAME
from cybertools.tracking.installation import addTrackingStorage
from cybertools.tracking.installation import isZopeObject
from cybertools.tracking.installation import queryOwnStorage

log = logging.getLogger('cybertools.tracking')


@adapter(IDatabaseOpenedWithRoot)
def installTrackingStorage(event):
    """Add the root folder's tracking storage if it has none; commits once,
    and only when it added the storage."""
    connection = event.database.open()
    try:
        rootFolder = connection.root().get(ROOT_NAME)
        if rootFolder is None:
            return
        if not (ISite.providedBy(rootFolder) or isZopeObject(rootFolder)):
            return
        if (ISite.providedBy(rootFolder)
                and queryOwnStorage(rootFolder) is not None):
            return
        addTrackingStorage(rootFolder)
        transaction.commit()
        log.info('added a tracking storage to the application root')
    except Exception:
        transaction.abort()
        log.exception('could not add a tracking storage to the application '
                      'root; the application starts without it')
    finally:
        connection.close()
