"""A demo database with tracks of the demo's users, made the way the demo
makes them: the demo application's start-up, its principals, and the
demo's own task functions (``startTask``, ``doStep``).

``python -m cybertools.tracking.tests.demodata URI`` makes it: alice
finishes the quiz (all answers right) and reads the first page of the
reading task; bob answers the quiz's first question wrong and stops.
Runs in a process of its own: the demo's configuration is global.
"""

import sys

import transaction
from zope.component import getUtility
from zope.principalregistry.principalregistry import principalRegistry

from cybertools.tracking.demo.server import openApplication
from cybertools.tracking.demo.tasks import QUIZ
from cybertools.tracking.demo.tasks import READING
from cybertools.tracking.demo.tasks import Progress
from cybertools.tracking.demo.tasks import doStep
from cybertools.tracking.demo.tasks import startTask
from cybertools.tracking.demo.tasks import stopTask
from cybertools.tracking.interfaces import ITrackingStorage


def work(storage, task, userName, answers, stop=False):
    startTask(storage, task, userName)
    for answer in answers:
        doStep(storage, Progress(storage, task, userName), userName,
               {'answer': answer})
    if stop:
        stopTask(storage, Progress(storage, task, userName))


def main(uri):
    application, db = openApplication(uri)
    try:
        connection = db.open()
        site = connection.root()['Application']
        storage = getUtility(ITrackingStorage,
                             context=site.getSiteManager())
        alice = principalRegistry.getPrincipalByLogin('alice').id
        bob = principalRegistry.getPrincipalByLogin('bob').id
        work(storage, QUIZ, alice, ['b', 'c', 'a'])
        work(storage, READING, alice, [None])
        work(storage, QUIZ, bob, ['a'], stop=True)
        transaction.commit()
        connection.close()
    finally:
        db.close()


if __name__ == '__main__':
    main(sys.argv[1])
