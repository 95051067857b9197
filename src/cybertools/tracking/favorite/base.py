"""The favorite track."""

from zope.interface import implementer

from cybertools.tracking.btree import Track
from cybertools.tracking.favorite.interfaces import IFavorite


@implementer(IFavorite)
class Favorite(Track):
    """A favorite: ``taskId`` is the favored object, ``userName`` the
    user, ``data['order']`` the favorite's place in the user's list."""

    typeName = 'Favorite'

    @property
    def order(self):
        return self.data.get('order')
