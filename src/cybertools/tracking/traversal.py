"""The ``++tracking++`` namespace: a site's tracking storages by URL.

``/++tracking++/tracks.html`` shows the site's (unnamed) storage,
``/++tracking++favorites/`` the storage registered as ``favorites``. The
storages themselves live in the site manager, which only site managers may
traverse; this way users reach the views they are allowed to see, and the
storage's own permissions decide the rest.
"""

from zope.component import queryUtility
from zope.interface import implementer
from zope.location.interfaces import LocationError
from zope.traversing.interfaces import ITraversable

from cybertools.tracking.interfaces import ITrackingStorage


@implementer(ITraversable)
class TrackingNamespace:

    def __init__(self, context, request=None):
        self.context = context

    def traverse(self, name, ignored):
        storage = queryUtility(ITrackingStorage, name, context=self.context)
        if storage is None:
            raise LocationError(self.context, '++tracking++' + name)
        return storage
