"""A view saving a track, as an application's view in Plone does: a POST
from its form, which carries plone.protect's token."""

from plone.protect import CheckAuthenticator
from plone.protect import protect
from Products.Five import BrowserView
from zope.component import getUtility

from cybertools.tracking.browser.principal import currentPrincipalId
from cybertools.tracking.interfaces import ITrackingStorage


class SaveAnswer(BrowserView):

    @protect(CheckAuthenticator)
    def save(self, answer, REQUEST=None):
        storage = getUtility(ITrackingStorage)
        return storage.saveUserTrack(
            'quiz', 0, currentPrincipalId(self.request), {'answer': answer})

    def __call__(self):
        if self.request.method != 'POST':
            return '<form method="post"><input name="answer" /></form>'
        return self.save(self.request.form.get('answer', ''),
                         REQUEST=self.request)
