"""The demo's sample tasks and what the storage knows of a user's work.

A task is a sequence of steps, one page each: the questions of a quiz, the
pages of a text. Working on a task is a run of it: starting the task starts
a run (``startRun``) and saves a track ``{'step': 'start'}``; every step
saves a track naming the step (``{'step': 'q1', 'answer': 'b', 'correct':
True}``, ``{'step': 'p1'}``); the last step finishes the run (``stopRun``),
giving up stops it unfinished.

Every user works in a run of his own: a task's *current* run is shared by
everybody working on it, so the pages save into the user's run by its id.
Where a user stands is read from the storage's indexes, not kept anywhere
else: the run of his latest track of the task, and his tracks in that run.

Results come only from tracks the server recorded itself: page scripts
may save tracks too (``@@save-track``), and those carry ``'posted': True``
in their data, so a script cannot answer a question or finish a step.
"""

from cybertools.tracking.btree import Exact


class Question:
    """A quiz question with one correct answer among its choices."""

    def __init__(self, name, text, choices, correct):
        self.name = name
        self.text = text
        self.choices = choices      # [(value, label)]
        self.correct = correct

    def result(self, form):
        """The track data for an answer in ``form``; ValueError if there is
        no valid answer."""
        answer = form.get('answer')
        if not isinstance(answer, str) or answer not in dict(self.choices):
            raise ValueError('Choose one of the answers.')
        return {'step': self.name, 'answer': answer,
                'correct': answer == self.correct}


class Page:
    """A page of text to read."""

    def __init__(self, name, title, paragraphs):
        self.name = name
        self.title = title
        self.paragraphs = paragraphs

    def result(self, form):
        return {'step': self.name}


class Task:
    """A sequence of steps; ``id`` is the task id of its tracks."""

    def __init__(self, id, title, description, steps, nextLabel,
                 finishLabel):
        self.id = id
        self.title = title
        self.description = description
        self.steps = steps
        self.nextLabel = nextLabel
        self.finishLabel = finishLabel

    def score(self, tracks):
        """(correct answers, questions) of a run's tracks; None for a task
        without questions."""
        questions = [step.name for step in self.steps
                     if isinstance(step, Question)]
        if not questions:
            return None
        correct = {track.data.get('step') for track in tracks
                   if track.data.get('correct') is True}
        return len(correct & set(questions)), len(questions)


QUIZ = Task(
    'quiz', 'A short quiz',
    'Three questions about tracking, one page each.',
    [Question('q1', 'What does a track record?',
              [('a', 'The position of a user on a map'),
               ('b', 'Who worked on which task, when, and with what result'),
               ('c', 'The songs a user listened to')],
              'b'),
     Question('q2', 'Which permission lets a user save tracks?',
              [('a', 'cybertools.tracking.View'),
               ('b', 'cybertools.tracking.Manage'),
               ('c', 'cybertools.tracking.Save')],
              'c'),
     Question('q3', 'Where does the tracking storage keep the tracks?',
              [('a', 'In the ZODB, as a local utility of the site'),
               ('b', 'In a cookie of the browser'),
               ('c', 'In a text file next to the server')],
              'a')],
    nextLabel='Answer', finishLabel='Answer and finish')

READING = Task(
    'reading', 'Reading: tracks and runs',
    'Three short pages to read; say when you are done with each.',
    [Page('p1', 'Tracks', [
        'A track is one record of what a user did: the task he worked on, '
        'the run it belongs to, his user name, a time stamp and data, a '
        'mapping that holds the result.',
        'Each step of this text saves a track. Open the tracks page to see '
        'them.']),
     Page('p2', 'Runs', [
         'A run groups the tracks of one task: an attempt, a session. '
         'Starting a task starts a run; finishing it stops the run and '
         'marks it finished.',
         'A manager sees all runs and how many tracks each has.']),
     Page('p3', 'Queries', [
         'The storage indexes the metadata of its tracks: the tracks of a '
         'task in a time range, the latest track of a user, or how many '
         'tracks there are come from the indexes without loading tracks.',
         "That is how the activity pictures count a day's tracks."])],
    nextLabel='Done, next page', finishLabel='Done')

TASKS = (QUIZ, READING)


class Progress:
    """Where a user stands in a task, read from the storage.

    ``run`` is the run of the user's latest track of the task (None if he
    has none), ``state`` 'new' or the run's state, ``tracks`` his tracks in
    that run (a handful), ``done`` the names of the steps they record and
    ``current`` the step to do next in an open run (None when all are
    done). Tracks that page scripts posted count for none of this.
    """

    def __init__(self, storage, task, userName):
        self.task = task
        self.run = None
        self.tracks = []
        mine = storage.query(taskId=Exact(task.id), userName=Exact(userName))
        if len(mine):
            self.run = storage.getRun(runId=mine[-1].runId)
        if self.run is not None:
            self.tracks = [track for track in storage.getUserTracks(
                task.id, self.run.id, userName) if not isPosted(track)]
        self.state = 'new' if self.run is None else self.run.state
        self.done = {track.data.get('step') for track in self.tracks}
        self.current = None
        if self.state == 'open':
            todo = [step for step in task.steps if step.name not in self.done]
            self.current = todo[0] if todo else None

    @property
    def number(self):
        """The number of the current step, counting from 1."""
        return self.task.steps.index(self.current) + 1 if self.current else 0

    @property
    def isLast(self):
        return self.current is self.task.steps[-1]

    def score(self):
        return self.task.score(self.tracks)

    def summary(self):
        """The state as a line of text."""
        steps = len(self.task.steps)
        if self.state == 'new':
            return 'not started'
        if self.state == 'open':
            return 'in progress: step %i of %i' % (self.number or steps,
                                                   steps)
        if self.state == 'stopped':
            return 'stopped'
        score = self.score()
        if score is None:
            return 'finished'
        return 'finished: %i of %i correct' % score


def isPosted(track):
    """Whether a page script posted the track (not the server's pages)."""
    return track.data.get('posted') is True


def startTask(storage, task, userName):
    """Start a run of the task for the user; returns the run id."""
    runId = storage.startRun(task.id)
    storage.saveUserTrack(task.id, runId, userName, {'step': 'start'})
    return runId


def doStep(storage, progress, userName, form):
    """Save the current step's result from ``form`` in the user's run;
    the last step finishes the run. ValueError for an invalid answer."""
    task, run, step = progress.task, progress.run, progress.current
    storage.saveUserTrack(task.id, run.id, userName, step.result(form))
    if progress.isLast:
        storage.stopRun(task.id, run.id, finish=True)


def stopTask(storage, progress):
    """Stop the user's open run without finishing it."""
    storage.stopRun(progress.task.id, progress.run.id, finish=False)
