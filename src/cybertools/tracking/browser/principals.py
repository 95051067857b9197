"""Users by their titles.

Tracks store principal ids (``demo.alice``); people know each other by the
principal's title (``Alice``). The site's authentication utility
(zope.authentication's ``IAuthentication``) knows it; without one, or for
an id it does not know (a user removed since), the id is shown.
"""

try:
    from zope.authentication.interfaces import IAuthentication
    from zope.authentication.interfaces import IUnauthenticatedPrincipal
except ImportError:     # the package without the app extra
    IAuthentication = IUnauthenticatedPrincipal = None
from zope.component import queryUtility


def principalTitle(principalId):
    """The title of the principal ``principalId``, or the id itself."""
    if IAuthentication is None or not isinstance(principalId, str):
        return principalId
    authentication = queryUtility(IAuthentication)
    if authentication is None:
        return principalId
    try:
        title = authentication.getPrincipal(principalId).title
    except Exception:
        # unknown ids raise PrincipalLookupError; any other trouble of an
        # authentication plug-in must not break a listing either
        return principalId
    return title if isinstance(title, str) and title else principalId


def isAnonymous(principal):
    """Whether the request's principal is the unauthenticated one."""
    if principal is None:
        return True
    if IUnauthenticatedPrincipal is None:
        return False
    return IUnauthenticatedPrincipal.providedBy(principal)
