"""The command line: the subcommands and their options."""

import argparse

from cybertools.tracking.migration import addMigrateCommand

from cybertools.tracking.cli.maintenance import cmdCheck
from cybertools.tracking.cli.maintenance import cmdForgetUser
from cybertools.tracking.cli.maintenance import cmdPurge
from cybertools.tracking.cli.maintenance import cmdReindex
from cybertools.tracking.cli.maintenance import cmdUpgrade
from cybertools.tracking.cli.output import EXPORT_FORMATS
from cybertools.tracking.cli.output import FORMATS
from cybertools.tracking.cli.reports import cmdQuery
from cybertools.tracking.cli.reports import cmdStats
from cybertools.tracking.cli.serve import cmdServe
from cybertools.tracking.cli.site import BATCH
from cybertools.tracking.cli.site import DEFAULT_DB
from cybertools.tracking.cli.times import DATE_HELP
from cybertools.tracking.cli.transfer import cmdExport
from cybertools.tracking.cli.transfer import MAX_LINE_BYTES
from cybertools.tracking.cli.transfer import cmdImport


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, like the command's other errors."""

    def error(self, message):
        self.exit(2, '%s: error: %s (see %s --help)\n'
                  % (self.prog, message, self.prog))


def makeParser():
    formatter = argparse.HelpFormatter
    parser = Parser(
        prog='tracking', formatter_class=formatter,
        description='Query, export, import and maintain the tracks of a '
                    "Zope application's tracking storage; serve the demo "
                    'application.',
        epilog='The storage is the local utility of the Zope root folder '
               "(root['Application']) registered for ITrackingStorage under "
               'the --storage name. Errors are one line on stderr and exit '
               'with 2. "tracking COMMAND --help" explains a command.')
    dbHelp = ('the database, a zodburi URI: file://PATH (FileStorage), '
              'zeo://HOST:PORT, postgres://USER@HOST:PORT/DB '
              '(default: %s)' % DEFAULT_DB)
    parser.add_argument('--db', default=DEFAULT_DB, metavar='URI',
                        help=dbHelp)
    parser.add_argument('--storage', default='', metavar='NAME',
                        help="the storage's utility name (default: '')")
    parser.add_argument('--zcml', action='append', default=[],
                        metavar='FILE',
                        help='ZCML to load first, e.g. the application\'s '
                             'site.zcml, for the index-data adapters of its '
                             'track types (repeatable)')

    # the same options after the command (they win over those before it)
    dbOption = argparse.ArgumentParser(add_help=False)
    dbOption.add_argument('--db', default=argparse.SUPPRESS, metavar='URI',
                          help=dbHelp)
    siteOptions = argparse.ArgumentParser(add_help=False)
    siteOptions.add_argument('--storage', default=argparse.SUPPRESS,
                             metavar='NAME',
                             help="the storage's utility name (default: '')")
    siteOptions.add_argument('--zcml', action='append',
                             default=argparse.SUPPRESS, metavar='FILE',
                             help='ZCML to load first (repeatable)')

    criteriaOptions = argparse.ArgumentParser(add_help=False)
    group = criteriaOptions.add_argument_group(
        'criteria', 'Repeat an option for any of several values; a value '
        'ending in * matches every value starting with the rest (unless '
        '--exact).')
    group.add_argument('--task', action='append', metavar='TASK',
                       help='the task id')
    group.add_argument('--user', action='append', metavar='USER',
                       help='the user name as stored (a principal id such '
                            'as demo.alice), or a login (alice) when no '
                            'track has that name and one principal id is '
                            'a prefix ending in "." and the login')
    group.add_argument('--exact', action='store_true',
                       help='--task and --user values are names, never '
                            'patterns (for names ending in *)')
    group.add_argument('--run', action='append', metavar='RUN',
                       help='the run id')
    group.add_argument('--from', dest='time_from', metavar='TIME',
                       help='tracks from this time on (%s)' % DATE_HELP)
    group.add_argument('--to', dest='time_to', metavar='TIME',
                       help='tracks up to this time, included: a date '
                            'includes the whole day (%s)' % DATE_HELP)
    group.add_argument('--where', action='append', metavar='NAME=VALUE',
                       help="another index of the storage, e.g. a data "
                            "field the track type indexes")

    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND',
                                       parser_class=Parser)
    subparsers.required = True

    def command(name, func, help, description, parents=(), epilog=None):
        sub = subparsers.add_parser(
            name, help=help, description=description, epilog=epilog,
            formatter_class=formatter, parents=list(parents))
        sub.set_defaults(func=func)
        return sub

    site = (dbOption, siteOptions)

    csvOption = argparse.ArgumentParser(add_help=False)
    csvOption.add_argument(
        '--raw-csv', action='store_true',
        help="CSV cells as stored: without this a cell beginning with =, "
             "+, -, @, tab or CR gets a leading ' so that a spreadsheet "
             "shows it as text instead of running it as a formula")

    sub = command(
        'serve', cmdServe, 'serve the demo application',
        'Serve the demo application (cybertools.tracking.demo) on the '
        'database.', (dbOption,))
    sub.add_argument('--host', default='127.0.0.1',
                     help='the address to listen on (default: 127.0.0.1)')
    sub.add_argument('--port', type=int, default=8080,
                     help='the port to listen on (default: 8080)')

    sub = command(
        'query', cmdQuery, 'show the tracks matching criteria',
        'Show the tracks matching the criteria (all tracks without any), '
        'oldest first.', site + (criteriaOptions, csvOption),
        epilog='Formats: table (id, time in UTC, task, run, user, data as '
               'JSON), json (an array of records {"id", "taskId", "runId", '
               '"userName", "timeStamp", "data"}), csv (the same columns '
               'and the time in UTC).')
    sub.add_argument('--limit', type=int, metavar='N',
                     help='show at most N tracks')
    sub.add_argument('--newest-first', action='store_true',
                     help='newest tracks first')
    sub.add_argument('--format', choices=FORMATS, default='table',
                     help='the output format (default: table)')

    sub = command(
        'export', cmdExport, 'write tracks as JSON Lines or CSV',
        'Write the tracks matching the criteria (all without any), oldest '
        'first, one record per line: first the runs of the exported tasks '
        '(or those of --run), {"type": "run", "runId", "taskId", "start", '
        '"end", "stopped", "finished", "current"}, then the tracks, {"id", '
        '"taskId", "runId", "userName", "timeStamp", "data"} (CSV: the '
        'tracks only). Streams: the tracks are not collected in memory.',
        site + (criteriaOptions, csvOption))
    sub.add_argument('--format', choices=EXPORT_FORMATS, default='jsonl',
                     help='JSON Lines (default; what import reads) or CSV')
    sub.add_argument('--output', '-o', metavar='FILE',
                     help='write to FILE instead of stdout')

    sub = command(
        'import', cmdImport, 'add tracks and runs from a JSON Lines export',
        'Add the runs and tracks of a JSON Lines file (as export writes it) '
        'to the storage, committing every %i records. A missing database '
        'file is created, with a root folder and the storage.' % BATCH,
        site,
        epilog='Into a storage without tracks and runs an export is '
               'restored: runs and tracks keep their ids and runs their '
               'start, stop time, finished flag and being current. Into a '
               'storage with data the records are merged with new ids: a '
               'run is the storage\'s run of the same task with the same '
               'start, or a new run with the start and state of the file\'s '
               '(current only if its task has no current run); runs of an '
               'export without run records start with their first track. '
               'A track already there (same taskId, userName, timeStamp '
               'and data) is skipped, so importing a file again adds '
               'nothing. A bad line is an error naming file and line, and '
               'the other lines are imported; a line longer than '
               '--max-line-bytes ends the import (what came before is '
               'imported: importing again skips it).')
    sub.add_argument('file', metavar='FILE',
                     help='the JSON Lines file ("-" for stdin)')
    sub.add_argument('--max-line-bytes', type=int, default=MAX_LINE_BYTES,
                     metavar='N',
                     help='the longest line to read (default: %i, 16 MiB)'
                          % MAX_LINE_BYTES)

    sub = command(
        'stats', cmdStats, 'count tracks per task, user or day',
        'Count the tracks matching the criteria per task, per user or per '
        'day (UTC), from the indexes.',
        site + (criteriaOptions, csvOption))
    sub.add_argument('--by', choices=('task', 'user', 'day'), default='task',
                     help='what to count per (default: task)')
    sub.add_argument('--limit', type=int, metavar='N',
                     help='the N largest counts (by day: the N latest days)')
    sub.add_argument('--format', choices=FORMATS, default='table',
                     help='the output format (default: table)')

    command('check', cmdCheck, 'compare the indexes with the tracks',
            'Compare the indexes with the stored tracks and print the '
            'differences; exit with 1 if there are any ("reindex" repairs '
            'them).', site)

    command('reindex', cmdReindex, 'rebuild the indexes',
            'Rebuild all indexes from the stored tracks, in one '
            'transaction.', site)
    sub = command('upgrade', cmdUpgrade,
            'bring a storage of an earlier version to the current layout',
            'Rewrite a storage written by an earlier version of this '
            'package in the current layout, keeping every track, run and '
            'id, in one transaction (a storage is also upgraded when it is '
            'first used; this does it at a time of your choosing). Pack the '
            'database afterwards.', site)
    sub.add_argument('--path', metavar='PATH',
                     help='the storage as a path of names from the database '
                          'root, instead of the site\'s utility')
    addMigrateCommand(subparsers, site)

    destructive = argparse.ArgumentParser(add_help=False)
    destructive.add_argument(
        '--yes', '-y', action='store_true',
        help='do not ask for confirmation (required without a terminal)')
    sub = command(
        'purge', cmdPurge, 'remove tracks older than a date',
        'Remove the tracks with time stamps before a time, committing every '
        '%i removals, and print how many were removed. Asks for '
        'confirmation unless --yes.' % BATCH, site + (destructive,))
    sub.add_argument('--before', required=True, metavar='TIME',
                     help='remove the tracks before this time (%s)'
                          % DATE_HELP)

    sub = command(
        'forget-user', cmdForgetUser, "remove all of a user's tracks",
        'Remove all tracks of a user, committing every %i removals, and '
        'print how many were removed. Asks for confirmation unless --yes.'
        % BATCH, site + (destructive,))
    sub.add_argument('name', metavar='NAME', help='the user name')
    return parser
