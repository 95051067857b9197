"""Installing a tracking storage into a site as a local utility.

A site can hold several storages, registered under different utility
names: the tracks of an application, its favorites, its notifications.
"""

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage


def storageFolderName(name=''):
    """The name of a storage in the site manager's 'default' folder."""
    return 'tracking-%s' % name if name else 'tracking'


def addTrackingStorage(site, name='', trackFactory=None,
                       partitions=None):
    """Add a new tracking storage to a site and register it as a utility.

    The storage goes into the site manager's ``default`` folder and is
    registered for ``ITrackingStorage`` under ``name``; ``trackFactory``
    goes to the storage (``partitions`` is accepted for earlier callers;
    the storage needs none). Raises ValueError if the site
    has a storage of that name already. Returns the storage.
    """
    sm = site.getSiteManager()
    if sm.queryUtility(ITrackingStorage, name) is not None:
        raise ValueError('the site has a tracking storage %r already' % name)
    folder = sm['default']
    folderName = storageFolderName(name)
    if folderName in folder:
        raise ValueError('the site manager has an object %r already'
                         % folderName)
    storage = TrackingStorage(trackFactory=trackFactory,
                              partitions=partitions)
    folder[folderName] = storage
    sm.registerUtility(storage, ITrackingStorage, name)
    return storage


def ensureTrackingStorage(site, name='', trackFactory=None,
                          partitions=None):
    """Return the site's tracking storage ``name``, adding it if missing."""
    storage = site.getSiteManager().queryUtility(ITrackingStorage, name)
    if storage is None:
        storage = addTrackingStorage(site, name, trackFactory, partitions)
    return storage
