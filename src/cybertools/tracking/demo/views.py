"""The demo's pages: the start page, the task pages, the activity picture
and the JSON endpoint for page scripts.

They find the storage as any application does, with
``getUtility(ITrackingStorage)`` (the site's local utility, installed at
start-up), and save tracks of the requesting principal.
"""

import json

import transaction
from zope.authentication.interfaces import IUnauthenticatedPrincipal
from zope.browserpage import ViewPageTemplateFile
from zope.component import getUtility
from zope.publisher.browser import BrowserView
from zope.security import checkPermission
from zope.traversing.browser.absoluteurl import absoluteURL

from cybertools.tracking.browser.forms import BadFormValue
from cybertools.tracking.browser.forms import formInteger
from cybertools.tracking.browser.forms import formText
from cybertools.tracking.browser.layout import LayoutMixin
from cybertools.tracking.browser.principals import principalTitle
from cybertools.tracking.browser.protection import CrossSiteRequest
from cybertools.tracking.browser.protection import TOKEN_FIELD
from cybertools.tracking.browser.protection import checkFormPost
from cybertools.tracking.browser.protection import checkSameOrigin
from cybertools.tracking.browser.protection import csrfToken
from cybertools.tracking.btree import Exact
from cybertools.tracking.demo import activity
from cybertools.tracking.demo import tasks
from cybertools.tracking.demo.users import LOGINS
from cybertools.tracking.demo.users import ROLES
from cybertools.tracking.interfaces import ITrackingStorage

MANAGE = 'cybertools.tracking.Manage'

# the largest body @@save-track reads
MAX_BODY = 64 * 1024


class DemoView(LayoutMixin, BrowserView):

    @property
    def storage(self):
        return getUtility(ITrackingStorage)

    @property
    def userName(self):
        return self.request.principal.id

    @property
    def loggedIn(self):
        return not IUnauthenticatedPrincipal.providedBy(
            self.request.principal)

    @property
    def isManager(self):
        return checkPermission(MANAGE, self.context)

    @property
    def siteUrl(self):
        return absoluteURL(self.context, self.request)

    @property
    def tokenField(self):
        return TOKEN_FIELD

    @property
    def token(self):
        """The form token (see browser/protection.py) of the user."""
        return csrfToken(self.request)


class StartPage(DemoView):
    """The tasks with the user's progress, the tracking views, the users."""

    template = ViewPageTemplateFile('start.pt')

    def __call__(self):
        return self.template()

    @property
    def host(self):
        return self.request.getHeader('Host', '127.0.0.1:8080')

    @property
    def principalTitle(self):
        return principalTitle(self.userName)

    def taskRows(self):
        for task in tasks.TASKS:
            state = ''
            if self.loggedIn:
                state = tasks.Progress(self.storage, task,
                                       self.userName).summary()
            yield {'id': task.id, 'title': task.title,
                   'description': task.description, 'state': state}

    def activityUrls(self):
        return [{'title': task.title,
                 'url': '@@activity.svg?task=%s' % task.id}
                for task in tasks.TASKS]

    def logins(self):
        return [{'login': login, 'password': password, 'role': role,
                 'description': ROLES[role]}
                for login, password, role in LOGINS]


class Login(DemoView):
    """Reached only with credentials (the publisher asks an anonymous
    browser for them); goes on to the start page."""

    def __call__(self):
        self.request.response.redirect(self.siteUrl + '/', status=303)
        return ''


class TaskPage(DemoView):
    """A task, one step per page.

    GET shows what is next for the user: the start button, the current
    step, or the result of his latest run. POST with ``action`` ``start``,
    ``step`` (with ``step`` naming the step, and its answer) or ``stop``
    changes that and redirects to the GET.
    """

    task = None     # a tasks.Task, set by the subclasses
    template = ViewPageTemplateFile('task.pt')

    def __call__(self):
        self.error = None
        self.progress = self.readProgress()
        if self.request.method == 'POST':
            # refused with 403 (and nothing changed) unless the form is ours
            checkFormPost(self.request)
            try:
                self.act(formText(self.request.form, 'action'))
            except ValueError as error:
                self.error = str(error)
                self.request.response.setStatus(400)
                return self.template()
            self.request.response.redirect(self.url, status=303)
            return ''
        return self.template()

    @property
    def url(self):
        return '%s/%s' % (self.siteUrl, self.__name__)

    def readProgress(self):
        return tasks.Progress(self.storage, self.task, self.userName)

    def act(self, action):
        """Do what the form asks; a stale form (submitted twice, or for a
        step done already) changes nothing."""
        progress = self.progress
        if action == 'start':
            if progress.state != 'open':
                tasks.startTask(self.storage, self.task, self.userName)
        elif action == 'step':
            if (progress.current is not None and formText(
                    self.request.form, 'step') == progress.current.name):
                tasks.doStep(self.storage, progress, self.userName,
                             self.request.form)
        elif action == 'stop':
            if progress.state == 'open':
                tasks.stopTask(self.storage, progress)
        else:
            raise ValueError('Unknown action: %r' % (action,))

    @property
    def step(self):
        return self.progress.current

    @property
    def stepText(self):
        return 'Step %i of %i' % (self.progress.number, len(self.task.steps))

    @property
    def isQuestion(self):
        return isinstance(self.step, tasks.Question)

    @property
    def buttonLabel(self):
        if self.progress.isLast:
            return self.task.finishLabel
        return self.task.nextLabel

    @property
    def result(self):
        """The result of a finished or stopped run as text."""
        if self.progress.state == 'stopped':
            return 'You stopped this task.'
        score = self.progress.score()
        if score is None:
            return 'You finished this task.'
        return 'You finished the quiz: %i of %i answers correct.' % score


class QuizPage(TaskPage):
    task = tasks.QUIZ


class ReadingPage(TaskPage):
    task = tasks.READING


class ActivityPicture(DemoView):
    """``@@activity.svg?task=quiz&days=14``: a task's activity as SVG.

    1 to 366 days; a task that is neither one of the demo's nor has tracks
    is not found (404).
    """

    def __call__(self):
        response = self.request.response
        form = self.request.form
        try:
            taskId = formText(form, 'task')
            days = formInteger(form, 'days', 14, 1, 366)
            if not taskId:
                raise BadFormValue('give a task (?task=quiz)')
        except BadFormValue as error:
            return self.plain(400, 'Give a task (?task=quiz) and 1 to 366 '
                                   'days: %s.\n' % error)
        titles = {task.id: task.title for task in tasks.TASKS}
        storage = self.storage
        try:
            known = (taskId in titles
                     or len(storage.query(taskId=Exact(taskId))) > 0)
        except (TypeError, ValueError) as error:
            return self.plain(400, 'Not a task name: %s.\n' % error)
        if not known:
            return self.plain(404, 'There is no task %r.\n' % taskId)
        unit, buckets = activity.tracksPerPeriod(storage, taskId, days)
        picture = activity.renderActivity(
            titles.get(taskId, taskId), unit, buckets,
            activity.usersPerRunState(storage, taskId))
        response.setHeader('Content-Type', 'image/svg+xml')
        response.setHeader('Cache-Control', 'no-store')
        # bytes: the publisher encodes text only for text/* and */*+xml
        # types without parameters
        return picture.encode('utf-8')

    def plain(self, status, text):
        response = self.request.response
        response.setStatus(status)
        response.setHeader('Content-Type', 'text/plain; charset=utf-8')
        return text


class SaveTrack(DemoView):
    """``POST @@save-track``: save a track of the logged-in user.

    The body is JSON: ``{"taskId": "...", "data": {...}}``, optionally with
    ``"runId"``. Answers 201 with ``{"trackId": "..."}``; otherwise, each
    with ``{"error": "..."}``: a body the storage refuses (or nested too
    deeply to read) 400, a request that a browser says comes from another
    site 403, another method 405, another content type than
    ``application/json`` 415 (no form of another site can post here).

    Every user works in a run of his own: ``runId`` must name an open run
    of the same task that the user works in (has tracks in), else 409.
    Without ``runId`` the track goes into the task's current run if the
    user works in it and it is open, or into a new run of his.

    The server does not trust what a script posts: the track's data gets
    ``"posted": true``, and the task pages compute no progress or score
    from such tracks (see tasks.py).
    """

    def __call__(self):
        request = self.request
        if request.method != 'POST':
            request.response.setHeader('Allow', 'POST')
            return self.answer(405, error='POST a track as JSON')
        try:
            checkSameOrigin(request)
        except CrossSiteRequest as error:
            return self.answer(403, error=str(error))
        contentType = request.getHeader('Content-Type', '')
        if contentType.split(';')[0].strip().lower() != 'application/json':
            return self.answer(415, error='send the track as '
                                          'application/json')
        body = request.bodyStream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return self.answer(413, error='the body is longer than %i bytes'
                                          % MAX_BODY)
        try:
            track = json.loads(body)
        except RecursionError:
            return self.answer(400, error='the body is nested too deeply')
        except ValueError as error:
            return self.answer(400, error='the body is not JSON: %s' % error)
        if not isinstance(track, dict):
            return self.answer(400, error='the body must be a JSON object')
        unknown = set(track) - {'taskId', 'runId', 'data'}
        if unknown:
            return self.answer(400, error='unknown keys: %s'
                                          % ', '.join(sorted(unknown)))
        if 'taskId' not in track:
            return self.answer(400, error='taskId is missing')
        if 'data' not in track:
            return self.answer(400, error='data is missing')
        taskId, runId, data = (track['taskId'], track.get('runId', 0),
                               track['data'])
        if isinstance(data, dict):
            data = dict(data, posted=True)
        storage = self.storage
        try:
            # refuse a bad taskId or runId before a run is started
            storage.getRun(taskId)
            storage.getRun(runId=runId)
            refused = self.refuseRun(taskId, runId)
            if refused:
                return self.answer(409, error=refused)
            if not runId:
                runId = self.ownCurrentRun(taskId)
            trackId = storage.saveUserTrack(taskId, runId, self.userName,
                                            data)
        except RecursionError:
            return self.answer(400, error='the data is nested too deeply')
        except (TypeError, ValueError) as error:
            return self.answer(400, error=str(error))
        return self.answer(201, trackId=trackId)

    def refuseRun(self, taskId, runId):
        """Why the user may not save into run ``runId`` (0: none given) of
        the task, or None."""
        if not runId:
            return None
        run = self.storage.getRun(runId=runId)
        if run is None:
            return 'there is no run %i' % runId
        if run.taskId != taskId:
            return 'run %i is a run of another task' % runId
        if run.state != 'open':
            return 'run %i is %s' % (runId, run.state)
        if self.storage.getLastUserTrack(taskId, runId, self.userName) is None:
            return 'run %i is not yours' % runId
        return None

    def ownCurrentRun(self, taskId):
        """The task's current run if the user works in it, else a new run
        (which becomes the current one)."""
        storage = self.storage
        current = storage.getRun(taskId)
        if (current is not None and current.state == 'open'
                and storage.getLastUserTrack(taskId, current.id,
                                             self.userName) is not None):
            return current.id
        return storage.startRun(taskId)

    def answer(self, status, **content):
        if status >= 400:
            # a refused request changes nothing (a run started for it, say)
            transaction.doom()
        response = self.request.response
        response.setStatus(status)
        response.setHeader('Content-Type', 'application/json')
        return json.dumps(content)
