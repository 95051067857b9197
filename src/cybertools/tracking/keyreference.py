"""Key references to tracks, so that tracks can have intids.

Tracks are not persistent objects of their own, so zope.keyreference's
reference to persistent objects does not fit them. A track is referred to
by its storage (a persistent reference to it) and its name: after a
restart the reference gives the track back from the storage. Registered
as an adapter by configure.zcml (keyreference.zcml).
"""

from zope.component import adapter
from zope.interface import implementer
from zope.keyreference.interfaces import IKeyReference
from zope.keyreference.interfaces import NotYet
from zope.keyreference.persistent import KeyReferenceToPersistent
from zope.security.proxy import removeSecurityProxy

from cybertools.tracking.interfaces import ITrack


@implementer(IKeyReference)
@adapter(ITrack)
class KeyReferenceToTrack:
    """A track by its storage and its name."""

    key_type_id = 'cybertools.tracking.track'

    def __init__(self, track):
        track = removeSecurityProxy(track)
        storage = track.__parent__
        if storage is None or track.__name__ is None:
            raise NotYet(track)
        self.storage = KeyReferenceToPersistent(storage)
        self.name = track.__name__

    def __call__(self):
        return self.storage().get(self.name)

    def _key(self):
        return (self.storage, int(self.name))

    def __hash__(self):
        return hash((self.key_type_id, hash(self.storage), self.name))

    def _compare(self, other):
        if self.key_type_id != other.key_type_id:
            return self.key_type_id, other.key_type_id
        return self._key(), other._key()

    def __eq__(self, other):
        a, b = self._compare(other)
        return a == b

    def __lt__(self, other):
        a, b = self._compare(other)
        return a < b

    def __ne__(self, other):
        return not self == other

    def __le__(self, other):
        return self == other or self < other

    def __gt__(self, other):
        return not self <= other

    def __ge__(self, other):
        return not self < other
