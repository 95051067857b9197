"""Who is asking: the id of the current principal, in ZTK and in Zope.

A ZTK request carries its principal. Zope's request has no ``principal``
(and its attribute lookup also finds form fields, so ``?principal=...``
must not count): there the user is the one of Zope's security manager,
the authenticated user of the request being published.
"""

from zope.authentication.interfaces import IUnauthenticatedPrincipal

try:
    from AccessControl import getSecurityManager
    from ZPublisher.HTTPRequest import HTTPRequest as ZopeRequest
except ImportError:     # a ZTK application without Zope
    ZopeRequest = None


def isZopeRequest(request):
    """Whether the request is one of Zope 5/6 (Products.Five)."""
    return ZopeRequest is not None and isinstance(request, ZopeRequest)


def currentPrincipalId(request):
    """The id of the request's principal (in Zope: the user's id; None for
    the anonymous user)."""
    if ZopeRequest is not None and isinstance(request, ZopeRequest):
        return getSecurityManager().getUser().getId()
    return request.principal.id


def isLoggedIn(request):
    """Whether the request comes from an authenticated user."""
    if ZopeRequest is not None and isinstance(request, ZopeRequest):
        return getSecurityManager().getUser().getId() is not None
    principal = getattr(request, 'principal', None)
    return principal is not None and \
        not IUnauthenticatedPrincipal.providedBy(principal)
