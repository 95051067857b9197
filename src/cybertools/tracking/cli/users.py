"""Users named on the command line: stored user names, or logins.

Applications store principal ids as user names. Zope's principal ids are
a prefix ending in a dot and the login (the demo's ``demo.alice``,
``zope.manager``), so a user is given to ``--user`` and ``forget-user``
either by the stored name or, when no track has that name, by login: the
one stored name that is a prefix ending in ``.`` followed by the name.
The command says on stderr which name it took; several such names are
an error that lists them.
"""

import sys

from cybertools.tracking.btree import Exact
from cybertools.tracking.cli.errors import CommandError


def userNames(storage, taskIds=None):
    """The names of all users with tracks (of the tasks given)."""
    if taskIds is None:
        return set(storage.getUserNames())
    names = set()
    for taskId in taskIds:
        try:
            names.update(storage.getUserNames(taskId))
        except ValueError:
            # a task id an older version stored and the storage now
            # refuses as an argument: its tracks still tell
            names.update(track.userName for track in
                         storage.query(taskId=Exact(taskId)))
    return names


def resolveUser(storage, name, option):
    """The stored user name a name given on the command line means, as an
    exact query value (the name itself when nobody has it)."""
    try:
        if len(storage.query(userName=Exact(name))):
            return Exact(name)
    except (TypeError, ValueError) as e:
        raise CommandError('%s %s: %s' % (option, name, e))
    suffix = '.' + name
    principals = sorted(stored for stored in userNames(storage)
                        if stored.endswith(suffix) and len(stored) >
                        len(suffix))
    if len(principals) > 1:
        raise CommandError(
            '%s %s: no user is named %s, and %i principals have that login '
            '(%s): give the one you mean' % (
                option, name, name, len(principals), ', '.join(principals)))
    if principals:
        print('tracking: %s %s: the principal %s (no user is named %s)'
              % (option, name, principals[0], name), file=sys.stderr)
        return Exact(principals[0])
    return Exact(name)


def resolveUsers(storage, values, option='--user'):
    """The values of --user options: patterns (ending in ``*``) stay,
    names are resolved (``Exact`` values are names, never patterns)."""
    resolved = []
    for value in values:
        if isinstance(value, Exact):
            resolved.append(resolveUser(storage, value.value, option))
        elif value.endswith('*'):
            resolved.append(value)
        else:
            resolved.append(resolveUser(storage, value, option))
    return resolved
