"""The serve command: the demo application."""

from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.site import APP_EXTRA


def cmdServe(args):
    try:
        from cybertools.tracking.demo.server import ServeError
        from cybertools.tracking.demo.server import serve
    except ImportError as e:
        # waitress and the ZTK application's packages come with the extra
        raise CommandError('serve needs the app extra (%s): %s'
                           % (APP_EXTRA, e))
    try:
        serve(args.db, host=args.host, port=args.port)
    except ServeError as e:
        raise CommandError(str(e))
    return 0
