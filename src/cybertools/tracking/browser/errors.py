"""Error pages in the layout of the other pages, and an error log.

The publisher shows the view of an exception: ``NotFoundPage`` (404),
``CrossSitePage`` (403), ``BadRequestPage`` (400) and ``ServerErrorPage``
(500, for any other exception); the application registers them
(the demo's application.zcml does). ``ErrorLog`` is an
``IErrorReportingUtility``: the publisher reports each exception to it
once; errors of the client (not found, not allowed, bad form values) get
one line, others one traceback.
"""

import logging

from zope.browserpage import ViewPageTemplateFile
from zope.interface import implementer
from zope.publisher.browser import BrowserView
from zope.publisher.interfaces import INotFound
from zope.security.interfaces import IForbidden
from zope.security.interfaces import IUnauthorized

from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.layout import LayoutMixin
from cybertools.tracking.browser.protection import CrossSiteRequest

try:
    from zope.error.interfaces import IErrorReportingUtility
except ImportError:     # the package without the app extra
    from zope.interface import Interface as IErrorReportingUtility

logger = logging.getLogger('cybertools.tracking.errors')

CLIENT_ERRORS = (INotFound, IUnauthorized, IForbidden)
CLIENT_ERROR_CLASSES = (CrossSiteRequest, BadFormValue)


def isClientError(error):
    return (isinstance(error, CLIENT_ERROR_CLASSES)
            or any(kind.providedBy(error) for kind in CLIENT_ERRORS))


@implementer(IErrorReportingUtility)
class ErrorLog:
    """Logs each error reported by the publisher, once."""

    def raising(self, info, request=None):
        kind, error, traceback = info
        url = str(getattr(request, 'URL', '')) if request is not None else ''
        if isClientError(error):
            logger.info('%s: %s %s', url, kind.__name__,
                        str(error).splitlines()[0][:200] if str(error)
                        else '')
        else:
            logger.error('%s', url, exc_info=info)


errorLog = ErrorLog()


class ErrorPage(LayoutMixin, BrowserView):
    """An exception's page: a status, a title and a message."""

    template = ViewPageTemplateFile('error.pt')
    status = 500
    title = 'A server error occurred'
    message = ('The server could not answer this request. The error has '
               'been logged.')

    def __call__(self):
        response = self.request.response
        response.setStatus(self.status)
        response.setHeader('Cache-Control', 'no-store')
        self.update()
        return self.template()

    def update(self):
        pass


class ServerErrorPage(ErrorPage):
    pass


class NotFoundPage(ErrorPage):
    status = 404
    title = 'Not found'
    message = 'There is no page at this address.'


class CrossSitePage(ErrorPage):
    status = 403
    title = 'Refused'

    @property
    def message(self):
        return str(self.context)


class BadRequestPage(ErrorPage):
    status = 400
    title = 'Bad request'

    @property
    def message(self):
        return str(self.context)
