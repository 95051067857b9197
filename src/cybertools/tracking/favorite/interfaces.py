"""Interfaces of favorites: the favorite track and the favorites manager.

A favorite is a track in a tracking storage of favorites
(``TrackingStorage(trackFactory=Favorite)``): the favored object's id is
the track's ``taskId``, the user its ``userName``, the time the favorite
was added its ``timeStamp``; ``data`` holds the favorite's place in the
user's list (``order``) and whatever else the application keeps with it
(a title, a note).

The manager's API is split by the permission that protects it, like the
storage's: reading (``IFavoriteManagerQuery``) and writing
(``IFavoriteManagerWrite``), combined in ``IFavoriteManager``.
"""

from zope.interface import Interface
from zope.schema import Int

from cybertools.tracking.interfaces import IReadTrack
from cybertools.tracking.interfaces import ITrack


class IReadFavorite(IReadTrack):
    """The fields of a favorite, read from the track's ``data``."""

    order = Int(
        title='Order',
        description="The favorite's place in the user's list, "
                    "``data['order']``: the user's favorites are listed "
                    'by it, lowest first. Set by the manager when the '
                    'favorite is added (after all others) and when the '
                    'user reorders his favorites; only the relative order '
                    'counts.',
        required=False,
        readonly=True)


class IFavorite(IReadFavorite, ITrack):
    """An object a user marked as a favorite."""


class IFavoriteManagerQuery(Interface):
    """Reading a user's favorites."""

    def isFavorite(userName, taskId):
        """Return True if the object ``taskId`` is a favorite of the user.

        Answered from the storage's index of (task, run, user): no
        favorite is loaded.
        """

    def list(userName):
        """Return the user's favorites (tracks) in the user's own order.

        Loads the user's favorites and nobody else's. A user without
        favorites has an empty list.
        """


class IFavoriteManagerWrite(Interface):
    """Changing a user's favorites.

    ``userName`` is whoever acts: a view passes the id of the request's
    principal. Invalid arguments raise TypeError or ValueError and change
    nothing. Events are the storage's: ``ITrackAddedEvent``,
    ``ITrackModifiedEvent`` (for each favorite whose place changes) and
    ``ITrackRemovedEvent``.
    """

    def add(userName, taskId, **data):
        """Make the object ``taskId`` a favorite of the user and return the
        favorite's id; it comes last in the user's list.

        ``data`` is kept with the favorite (JSON-compatible values, like
        any track data); ``order`` is the manager's and cannot be given.
        If the object is a favorite of the user already, nothing changes
        and the id of the existing favorite is returned.
        """

    def remove(userName, taskId):
        """Remove the object ``taskId`` from the user's favorites.

        Return True if it was a favorite, False if it was not (so that
        pressing "remove" twice is harmless).
        """

    def reorder(userName, taskIds):
        """Put the user's favorites in a new order; return the ids of the
        favored objects in that order.

        ``taskIds`` (a list or tuple) names favorites of the user: they
        come first, in the order given; the favorites not named follow, in
        their previous order. So the complete list sets the whole order,
        and a part of it moves those favorites to the top.

        An id that is not one of the user's favorites, or an id named
        twice, raises ValueError and nothing changes. Only favorites whose
        ``order`` changes are stored; their time stamps stay the time
        they were added.
        """


class IFavoriteManager(IFavoriteManagerQuery, IFavoriteManagerWrite):
    """The favorites of users, kept in a tracking storage of favorites;
    an adapter of the storage."""
