"""The favorites manager: a user's favorites in his own order."""

from zope.component import adapter
from zope.event import notify
from zope.interface import implementer

from cybertools.tracking.events import TrackModifiedEvent
from cybertools.tracking.favorite.interfaces import IFavorite
from cybertools.tracking.favorite.interfaces import IFavoriteManager
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.validation import checkName


def sortKey(favorite):
    """Favorites by their order; those without one (saved around the
    manager) come last. Ties keep the order of the query: oldest first."""
    order = favorite.order
    return (order is None, order or 0)


@implementer(IFavoriteManager)
@adapter(ITrackingStorage)
class FavoriteManager:
    """Favorites in a storage of favorites (see IFavoriteManager).

    A favorite is saved into the current run of its object: all favorites
    of one object share that run, so the storage's index of (task, run,
    user) tells whether an object is a user's favorite, and its index of
    users gives the user's favorites.
    """

    __name__ = None

    def __init__(self, context):
        factory = context.trackFactory
        if not IFavorite.implementedBy(factory):
            raise TypeError('the storage keeps %s tracks, not favorites'
                            % factory.__name__)
        # the storage is the manager's location: the security policy finds
        # the permissions granted on the storage and above it
        self.context = self.__parent__ = context

    def isFavorite(self, userName, taskId):
        checkName(userName, 'userName')
        return len(self._favorites(userName, taskId)) > 0

    def list(self, userName):
        checkName(userName, 'userName')
        return sorted(self.context.query(userName=userName), key=sortKey)

    def add(self, userName, taskId, **data):
        if 'order' in data:
            raise TypeError('the order of a favorite is set by add and '
                            'reorder, it cannot be given')
        existing = self._favorites(userName, taskId)
        if existing:
            return existing[0].__name__
        orders = [favorite.order for favorite in self.list(userName)
                  if favorite.order is not None]
        data = dict(order=max(orders) + 1 if orders else 0, **data)
        return self.context.saveUserTrack(taskId, 0, userName, data)

    def remove(self, userName, taskId):
        favorites = list(self._favorites(userName, taskId))
        for favorite in favorites:
            self.context.removeTrack(favorite)
        return bool(favorites)

    def reorder(self, userName, taskIds):
        checkName(userName, 'userName')
        if not isinstance(taskIds, (list, tuple)):
            raise TypeError('taskIds must be a list or tuple, not %s'
                            % type(taskIds).__name__)
        for taskId in taskIds:
            checkName(taskId, 'a task id')
        twice = sorted({t for t in taskIds if taskIds.count(t) > 1})
        if twice:
            raise ValueError('named more than once: %s'
                             % ', '.join(map(repr, twice)))
        favorites = self.list(userName)
        byTask = {favorite.taskId: favorite for favorite in favorites}
        unknown = [taskId for taskId in taskIds if taskId not in byTask]
        if unknown:
            raise ValueError('not favorites of %r: %s'
                             % (userName, ', '.join(map(repr, unknown))))
        named = set(taskIds)
        ordered = [byTask[taskId] for taskId in taskIds]
        ordered += [f for f in favorites if f.taskId not in named]
        for position, favorite in enumerate(ordered):
            if favorite.order != position:
                favorite.data['order'] = position
                # keeps the time stamp: updateTrack would make it the time
                # of the reorder and move every index entry
                self.context.reindexTrack(favorite)
                notify(TrackModifiedEvent(favorite))
        return [favorite.taskId for favorite in ordered]

    def _favorites(self, userName, taskId):
        """The user's favorites of an object (one, or none) from the index
        of (task, run, user), as a lazy sequence."""
        return self.context.getUserTracks(taskId, 0, userName)
