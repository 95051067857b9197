"""The demo's users, as ``site.zcml`` defines them.

The server prints these logins at start-up and the start page shows them;
the tests check that each one logs in with the permissions its role says.
"""

# (login, password, role)
LOGINS = (
    ('alice', 'alicepw', 'learner'),
    ('bob', 'bobpw', 'learner'),
    ('manager', 'managerpw', 'manager'),
)

ROLES = {
    'learner': 'works on tasks, sees their own tracks',
    'manager': "also sees everybody's tracks, the runs and the activity",
}


def describeLogins():
    """The logins as lines of text."""
    return ['%s / %s  (%s: %s)' % (login, password, role, ROLES[role])
            for login, password, role in LOGINS]
