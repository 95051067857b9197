"""Views of the test application: they look the storage up as any
application would, and save tracks of the requesting principal."""

from zope.component import getUtility
from zope.publisher.browser import BrowserView

from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.tests.app import subscribers


class Work(BrowserView):
    """``@@work?task=quiz&answer=b``: one step of a task, one track."""

    def __call__(self):
        form = self.request.form
        storage = getUtility(ITrackingStorage)
        data = {key: value for key, value in form.items() if key != 'task'}
        trackId = storage.saveUserTrack(form.get('task', 'quiz'), 0,
                                        self.request.principal.id, data)
        self.request.response.setHeader('Content-Type', 'text/plain')
        return 'saved %s' % trackId


class Finish(BrowserView):
    """``@@finish?task=quiz``: stop the task's current run."""

    def __call__(self):
        storage = getUtility(ITrackingStorage)
        runId = storage.stopRun(self.request.form.get('task', 'quiz'))
        self.request.response.setHeader('Content-Type', 'text/plain')
        return 'stopped %s' % runId


class Events(BrowserView):
    """``@@events``: the tracking events the test subscriber received."""

    def __call__(self):
        self.request.response.setHeader('Content-Type', 'text/plain')
        return '\n'.join(subscribers.received)
