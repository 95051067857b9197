"""Asking the browser for credentials when a request is not authorized.

Without an exception view the publisher answers ``Unauthorized`` with a
bare 401 and no ``WWW-Authenticate`` header, so a browser never asks its
user to log in. This view lets the site's authentication challenge: the
principal registry asks anonymous requests for HTTP basic credentials
(401); a logged-in user without the permission gets 403.
"""

from zope.authentication.interfaces import IAuthentication
from zope.component import getUtility
from zope.publisher.browser import BrowserView


class Unauthorized(BrowserView):
    """The view of an ``Unauthorized`` exception."""

    def __call__(self):
        response = self.request.response
        response.setStatus(403)
        response.setHeader('Cache-Control', 'no-store')
        response.setHeader('Content-Type', 'text/plain; charset=utf-8')
        getUtility(IAuthentication).unauthorized(self.request.principal.id,
                                                 self.request)
        if response.getStatus() == 401:
            return 'Please log in.\n'
        return 'You are not allowed to do this.\n'
