"""Installing a tracking storage into a site as a local utility.

A site can hold several storages, registered under different utility
names: the tracks of an application, its favorites, its notifications.

Only the site's own registry counts: a sub-site gets storages of its own
even where a site above it has storages of the same names (which a utility
lookup in the sub-site would find).

In a ZTK site, a storage goes into the site manager's ``default`` folder.
In Zope 5/6 (the application root, an OFS folder, a Plone portal) the
registry keeps the storage itself (see ``zope2.py``); a folder that is not
a site yet is made one, as Zope's "Make site" does.
"""

from zope.component.factory import Factory
from zope.component.interfaces import ISite

from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.interfaces import ITrackingStorage

# The factory of new storages (registered as a utility by the ZCML).
storageFactory = Factory(TrackingStorage, 'Tracking storage',
                         'A storage of tracks and runs')


# where ZTK's and Zope's start-up keep the application root in the ZODB
ROOT_NAME = 'Application'


def storageFolderName(name=''):
    """The name of a storage in the site manager's 'default' folder."""
    return 'tracking-%s' % name if name else 'tracking'


def queryOwnStorage(site, name=''):
    """The storage ``name`` registered in the site's own registry, or
    None (storages of sites above do not count)."""
    for registration in site.getSiteManager().registeredUtilities():
        if (registration.provided is ITrackingStorage
                and registration.name == name):
            return registration.component
    return None


def isZopeObject(obj):
    """Whether ``obj`` is an OFS object (the application root, a folder, a
    Plone portal): its registry is a Zope one, not a container."""
    try:
        from OFS.interfaces import IObjectManager
    except ImportError:     # no Zope here
        return False
    return IObjectManager.providedBy(obj)


def addTrackingStorage(site, name='', trackFactory=None,
                       partitions=None):
    """Add a new tracking storage to a site and register it as a utility.

    The storage is registered in the site's own registry for
    ``ITrackingStorage`` under ``name``; ``trackFactory`` goes to the
    storage (``partitions`` is accepted for earlier callers; the storage
    needs none). An OFS folder (Zope) that is not a site is made
    one. Raises ValueError if the site has a storage of that name already.
    Returns the storage.
    """
    zope = isZopeObject(site)
    if zope and not ISite.providedBy(site):
        from cybertools.tracking.zope2 import makeSite
        makeSite(site)
    if queryOwnStorage(site, name) is not None:
        raise ValueError('the site has a tracking storage %r already' % name)
    sm = site.getSiteManager()
    folderName = storageFolderName(name)
    if not zope and folderName in sm['default']:
        raise ValueError('the site manager has an object %r already'
                         % folderName)
    storage = TrackingStorage(trackFactory=trackFactory,
                              partitions=partitions)
    if zope:
        from cybertools.tracking.zope2 import SiteAnchor
        storage.__parent__ = SiteAnchor(site)
        storage.__name__ = folderName
    else:
        sm['default'][folderName] = storage
    sm.registerUtility(storage, ITrackingStorage, name)
    return storage


def ensureTrackingStorage(site, name='', trackFactory=None,
                          partitions=None):
    """Return the site's own tracking storage ``name``, adding it if
    missing."""
    storage = None
    if ISite.providedBy(site):
        storage = queryOwnStorage(site, name)
    if storage is None:
        storage = addTrackingStorage(site, name, trackFactory, partitions)
    return storage


def removeTrackingStorage(site, name=''):
    """Unregister the site's own storage ``name`` and remove it, with its
    tracks and runs. Returns the storage, or None if the site has none."""
    storage = queryOwnStorage(site, name) if ISite.providedBy(site) else None
    if storage is None:
        return None
    sm = site.getSiteManager()
    sm.unregisterUtility(storage, ITrackingStorage, name)
    if not isZopeObject(site):
        folder = sm['default']
        if folder.get(storage.__name__) is storage:
            del folder[storage.__name__]
    return storage
