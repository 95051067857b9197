"""Making sure the application's tracking storage exists at start-up.

Enable it with ``<include package="cybertools.tracking"
file="startup.zcml" />`` after zope.app.appsetup's configuration (whose
bootstrap subscriber creates the root folder first).
"""

import transaction
from zope.app.appsetup.bootstrap import getInformationFromEvent
from zope.app.appsetup.interfaces import IDatabaseOpenedWithRoot
from zope.component import adapter
from zope.component.interfaces import ISite

from cybertools.tracking.installation import addTrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage


@adapter(IDatabaseOpenedWithRoot)
def installTrackingStorage(event):
    """Add the root folder's tracking storage if it has none; commits once,
    and only when it added the storage."""
    db, connection, root, rootFolder = getInformationFromEvent(event)
    try:
        if rootFolder is None or not ISite.providedBy(rootFolder):
            return
        sm = rootFolder.getSiteManager()
        if sm.queryUtility(ITrackingStorage) is None:
            addTrackingStorage(rootFolder)
            transaction.commit()
    except BaseException:
        transaction.abort()
        raise
    finally:
        connection.close()
