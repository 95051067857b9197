"""The frame around every page: stylesheet, icon and navigation.

Templates use it with ``metal:use-macro="view/layout/macros/page"`` and
fill the ``title`` and ``main`` slots; ``view/navigation`` gives the links.
The site is the one the request went to: the part of the URL before
``/++tracking++`` on the tracking views, the application's root elsewhere.
"""

from zope.component import queryMultiAdapter
from zope.component import queryUtility
from zope.pagetemplate.pagetemplatefile import PageTemplateFile
from zope.security import checkPermission

from cybertools.tracking.browser.principal import currentPrincipalId
from cybertools.tracking.browser.principal import isLoggedIn
from cybertools.tracking.browser.principal import isZopeRequest
from cybertools.tracking.browser.principals import principalTitle
from cybertools.tracking.interfaces import ITrackingStorage

MANAGE = 'cybertools.tracking.Manage'
NAMESPACE = '/++tracking++'

layout = PageTemplateFile('layout.pt')

try:
    # Zope renders templates with its own engine, whose macros come from a
    # view template of its own
    from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
except ImportError:     # a ZTK application without Zope
    zopeLayout = None
else:
    zopeLayout = ViewPageTemplateFile('layout.pt')


def siteURL(request):
    """The URL of the site the request went to."""
    url = str(request.getURL())
    index = url.find(NAMESPACE)
    if index >= 0:
        return url[:index]
    return str(request.getApplicationURL())


def trackingURL(request):
    """The URL of the tracking storage the request went to (``++tracking++``
    with its name), or the site's unnamed one."""
    url = str(request.getURL())
    index = url.find(NAMESPACE)
    if index < 0:
        return siteURL(request) + NAMESPACE
    end = url.find('/', index + 1)
    return url if end < 0 else url[:end]


class Navigation:
    """The links and the user line of the page frame."""

    def __init__(self, context, request):
        self.context = context
        self.request = request
        self.siteUrl = siteURL(request)
        self.trackingUrl = trackingURL(request)
        self.stylesheetUrl = self.siteUrl + '/@@tracking.css'

    @property
    def loggedIn(self):
        return isLoggedIn(self.request)

    @property
    def userTitle(self):
        return principalTitle(currentPrincipalId(self.request))

    @property
    def mayView(self):
        return self._permitted('cybertools.tracking.View')

    @property
    def isManager(self):
        return self._permitted(MANAGE)

    def _permitted(self, permission):
        storage = queryUtility(ITrackingStorage)
        if storage is None or not self.loggedIn:
            return False
        try:
            return checkPermission(permission, storage)
        except Exception:
            # no interaction (e.g. while an error page is shown late)
            return False

    @property
    def logoutUrl(self):
        if self.loggedIn and queryMultiAdapter(
                (self.context, self.request), name='logout') is not None:
            return self.siteUrl + '/@@logout'
        return None

    @property
    def loginUrl(self):
        if not self.loggedIn and queryMultiAdapter(
                (self.context, self.request), name='login') is not None:
            return self.siteUrl + '/@@login'
        return None


class LayoutMixin:
    """For views whose templates use the layout."""

    @property
    def layout(self):
        if zopeLayout is not None and isZopeRequest(self.request):
            return zopeLayout.__get__(self, type(self))
        return layout

    @property
    def navigation(self):
        navigation = getattr(self, '_navigation', None)
        if navigation is None:
            navigation = self._navigation = Navigation(self.context,
                                                       self.request)
        return navigation
