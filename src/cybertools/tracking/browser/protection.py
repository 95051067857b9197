"""Protection against requests from other sites.

*Forms that change something* carry a token (``csrfToken``) in a hidden
field; ``checkFormPost`` refuses a POST without the token of the
requesting user, or one a browser says comes from another origin. The
token is an HMAC of the principal id with a secret of the process (or the
environment variable ``CYBERTOOLS_TRACKING_SECRET``, which several server
processes of one site must share): another site cannot read it, so it
cannot forge the form. A form shown before a server restart without that
variable is refused once; reloading the page gives a fresh token.

*JSON endpoints* (``checkSameOrigin``) are refused when the browser's
``Origin`` or ``Sec-Fetch-Site`` header names another site; clients that
are not browsers send neither.

*Framing*: ``frameProtection`` (a subscriber to the end of every request)
forbids other pages to frame ours (click-jacking).
"""

import hashlib
import hmac
import os
from urllib.parse import urlsplit

from zope.component import adapter
from zope.publisher.interfaces import IEndRequestEvent

from cybertools.tracking.browser.principal import currentPrincipalId

TOKEN_FIELD = '_csrf'
SECRET = (os.environ.get('CYBERTOOLS_TRACKING_SECRET', '').encode('utf-8')
          or os.urandom(32))


REFUSED = 'Requests from another site are refused; nothing was changed.'


class CrossSiteRequest(Exception):
    """A request that may come from another site; the views answer 403."""


def csrfToken(request):
    """The form token of the requesting principal."""
    principalId = currentPrincipalId(request) or ''
    return hmac.new(SECRET, principalId.encode('utf-8', 'surrogatepass'),
                    hashlib.sha256).hexdigest()


def checkFormPost(request):
    """Raise ``CrossSiteRequest`` unless a POST carries the user's token
    and comes from our own origin (as far as the browser tells)."""
    checkSameOrigin(request)
    token = request.form.get(TOKEN_FIELD)
    if not isinstance(token, str) or not hmac.compare_digest(
            token.encode('ascii', 'replace'),
            csrfToken(request).encode('ascii')):
        raise CrossSiteRequest(
            'This form has expired or was sent from another site; nothing '
            'was changed. Reload the page and try again.')


def checkSameOrigin(request):
    """Raise ``CrossSiteRequest`` if the browser says that the request comes
    from another origin."""
    fetchSite = request.getHeader('Sec-Fetch-Site')
    if fetchSite is not None and fetchSite.lower() not in ('same-origin',
                                                           'none'):
        raise CrossSiteRequest(REFUSED)
    origin = request.getHeader('Origin')
    if origin is not None and origin != ownOrigin(request):
        raise CrossSiteRequest(REFUSED)


def ownOrigin(request):
    """scheme://host[:port] of the request's own URL."""
    parts = urlsplit(request.getApplicationURL())
    return '%s://%s' % (parts.scheme, parts.netloc)


@adapter(IEndRequestEvent)
def frameProtection(event):
    """No page of ours may be shown in a frame of another page."""
    response = event.request.response
    response.setHeader('X-Frame-Options', 'DENY')
    response.setHeader('Content-Security-Policy', "frame-ancestors 'none'")
    response.setHeader('X-Content-Type-Options', 'nosniff')
