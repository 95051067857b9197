"""Tracking storages in Zope 5/6 sites (OFS folders, the application root,
Plone portals).

A Zope site's component registry (five.localsitemanager's or Five's
``PersistentComponents``) is no container: the storage is kept by the
registry itself, with a ``SiteAnchor`` as its ``__parent__``.

Zope's security follows an object's parents up to the application root:
for the roles a permission has in each place, and to make sure that a
user of a user folder is used only below that folder. A persistent
reference to the site gives the site without the parents it was found
in, so after a restart the users of a user folder above the site would be
refused. The anchor keeps the site's path and gives the site as found
from the application root.
"""

from Acquisition import aq_base
from Acquisition import aq_parent
from persistent import Persistent
from zope.component import getGlobalSiteManager
from zope.component import getSiteManager
from zope.component import queryUtility

from cybertools.tracking.installation import ROOT_NAME
from cybertools.tracking.interfaces import ITrackingStorage


def makeSite(obj):
    """Make an OFS folder a site, as Zope's "Make site" does: with
    five.localsitemanager's registry if it is installed (it finds the
    components of the sites above), with Five's otherwise."""
    try:
        from five.localsitemanager import make_objectmanager_site
    except ImportError:
        from Products.Five.component import enableSite
        from Products.Five.component.interfaces import IObjectManagerSite
        from zope.component.persistentregistry import PersistentComponents
        parent = aq_parent(obj)
        base = (getSiteManager(parent) if parent is not None
                else getGlobalSiteManager())
        enableSite(obj, iface=IObjectManagerSite)
        components = PersistentComponents()
        components.__bases__ = (base,)
        obj.setSiteManager(components)
    else:
        make_objectmanager_site(obj)


class SiteAnchor(Persistent):
    """The parent of a storage kept in a Zope site's registry: the site,
    with its parents up to the application root."""

    __name__ = '++etc++site'

    def __init__(self, site):
        self.site = aq_base(site)
        self.path = tuple(site.getPhysicalPath())
        # until the anchor is stored, the site as it was given
        self._v_given = site

    @property
    def __parent__(self):
        jar = self._p_jar
        if jar is None:
            return getattr(self, '_v_given', self.site)
        # found once per transaction: another one may move the site
        current = jar.transaction_manager.get()
        cached = getattr(self, '_v_site', None)
        if cached is not None and cached[1] is current:
            return cached[0]
        app = jar.root().get(ROOT_NAME)
        try:
            found = (None if app is None
                     else app.unrestrictedTraverse(self.path[1:]))
        except (AttributeError, KeyError, LookupError, TypeError):
            found = None
        if found is None or aq_base(found) is not self.site:
            # moved or renamed: the site alone
            return self.site
        self._v_site = (found, current)
        return found

    def __repr__(self):
        return '<SiteAnchor %s>' % '/'.join(self.path)


def unnamedStorage(context, request):
    """``context.restrictedTraverse('++tracking++')``: OFS traversal takes
    a namespace with an empty name for an ordinary name, and finds the
    storage as a view of that name."""
    return queryUtility(ITrackingStorage, context=context)
