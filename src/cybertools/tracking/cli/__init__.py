"""The ``tracking`` command: query, export, import and maintain the tracks
of an application's tracking storage, and serve the demo application.

``tracking --help`` lists the subcommands, ``tracking COMMAND --help``
explains one. Every command but ``serve`` opens the database (``--db``, a
zodburi URI, see database.py), finds the Zope root folder at
``root['Application']`` (where zope.app.appsetup keeps it) and the
tracking storage registered there as a local utility (``--storage``, the
utility name). Index values come from ``ITrackIndexData`` adapters: for
track types with an adapter of their own (notifications), load the
application's ZCML with ``--zcml`` so that ``check``, ``reindex`` and
``import`` compute the values the application does.

Exit codes: 0 done, 1 ``check`` found differences (or a removal was not
confirmed), 2 an error, printed as one line on stderr.

The package has a module per idea: ``parser`` (the subcommands and their
options), ``site`` (the database and the storage), ``criteria``,
``times``, ``output`` (the formats), ``reports`` (query, stats),
``transfer`` (export, import), ``maintenance`` (check, reindex, purge,
forget-user) and ``serve``.
"""

import os
import sys

from cybertools.tracking.cli.errors import CommandError
from cybertools.tracking.cli.parser import makeParser


def main(argv=None):
    """Run the command; returns the exit code."""
    args = makeParser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as e:
        message = ' '.join(line.strip() for line in str(e).splitlines())
        print('tracking: error: %s' % message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('tracking: interrupted (committed batches stay)',
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): it has what it wanted, and
        # the output still buffered goes nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
