"""The application's error log in the root site.

zope.app.appsetup installs zope.error's error reporting utility in the
root folder at start-up; it logs a traceback for every error, a page not
found or a login asked for included. This subscriber puts the package's
``ErrorLog`` (browser/errors.py) in its place once: each error is logged
once, client errors in one line.
"""

import transaction
from zope.app.appsetup.bootstrap import getInformationFromEvent
from zope.app.appsetup.interfaces import IDatabaseOpenedWithRoot
from zope.component import adapter
from zope.error.interfaces import IErrorReportingUtility

from cybertools.tracking.browser.errors import ErrorLog


@adapter(IDatabaseOpenedWithRoot)
def installErrorLog(event):
    db, connection, root, rootFolder = getInformationFromEvent(event)
    try:
        if rootFolder is None:
            return
        sm = rootFolder.getSiteManager()
        local = [registration for registration in sm.registeredUtilities()
                 if registration.provided.isOrExtends(IErrorReportingUtility)
                 and registration.name == '']
        if any(isinstance(registration.component, ErrorLog)
               for registration in local):
            return
        for registration in local:
            sm.unregisterUtility(registration.component,
                                 registration.provided, '')
            folder = getattr(registration.component, '__parent__', None)
            name = getattr(registration.component, '__name__', None)
            if folder is not None and name in folder:
                del folder[name]
        sm.registerUtility(ErrorLog(), IErrorReportingUtility)
        transaction.commit()
    except BaseException:
        transaction.abort()
        raise
    finally:
        connection.close()
