"""Asking the browser for credentials, and forgetting them.

Without an exception view the publisher answers ``Unauthorized`` with a
bare 401 and no ``WWW-Authenticate`` header, so a browser never asks its
user to log in. This view lets the site's authentication challenge: the
principal registry asks anonymous requests for HTTP basic credentials
(401); a logged-in user without the permission gets 403. Both pages have
the layout of the others.

HTTP basic authentication has no log-out: the browser sends the
credentials it remembers with every request. ``Logout`` answers 401 with a
challenge, which makes browsers drop the remembered credentials.
"""

from zope.authentication.interfaces import IAuthentication
from zope.authentication.interfaces import ILoginPassword
from zope.component import getUtility

from cybertools.tracking.browser.errors import ErrorPage


class Unauthorized(ErrorPage):
    """The view of an ``Unauthorized`` exception."""

    def update(self):
        response = self.request.response
        response.setStatus(403)
        getUtility(IAuthentication).unauthorized(self.request.principal.id,
                                                 self.request)
        if response.getStatus() == 401:
            self.title = 'Please log in'
            self.message = ('This page needs a login; your browser asks '
                            'for it.')
        else:
            self.title = 'Not allowed'
            self.message = 'You are not allowed to see this page or do this.'


class Logout(ErrorPage):
    """``@@logout``: the browser forgets the login."""

    status = 401
    title = 'Logged out'
    message = ('You are logged out. If your browser asks for a login, '
               'cancel to stay logged out, or log in as somebody else.')

    def update(self):
        # the realm of the principal registry's challenge
        ILoginPassword(self.request).needLogin(realm='Zope')
