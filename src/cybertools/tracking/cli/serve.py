"""The serve command: the demo application."""

from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.database import displayURI


def cmdServe(args):
    try:
        from cybertools.tracking.demo.server import serve
    except ImportError as e:
        if not (e.name or '').startswith('cybertools.tracking.demo'):
            raise
        raise CommandError('the demo application is not available '
                           '(cybertools.tracking.demo.server): %s' % e)
    from zc.lockfile import LockError
    try:
        serve(args.db, host=args.host, port=args.port)
    except LockError:
        raise CommandError('the database %s is in use by another process'
                           % displayURI(args.db))
    except OSError as e:
        raise CommandError('cannot serve on %s:%s: %s'
                           % (args.host, args.port, e))
    return 0
