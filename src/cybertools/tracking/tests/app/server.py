"""Serve the test application with waitress on a loopback port.

``python -m cybertools.tracking.tests.app.server DIRECTORY`` writes a
zope.conf for a FileStorage ``DIRECTORY/Data.fs``, starts the application
on 127.0.0.1 (a free port) and prints ``serving on PORT`` when it listens.
"""

import os
import sys

import waitress
import zope.app.wsgi

ZOPE_CONF = """\
site-definition {site}
<zodb>
  <filestorage>
    path {data}
  </filestorage>
</zodb>
<eventlog>
  <logfile>
    path STDERR
    formatter zope.exceptions.log.Formatter
  </logfile>
</eventlog>
"""


def writeConfiguration(directory):
    path = os.path.join(directory, 'zope.conf')
    site = os.path.join(os.path.dirname(__file__), 'site.zcml')
    with open(path, 'w') as f:
        f.write(ZOPE_CONF.format(site=site,
                                 data=os.path.join(directory, 'Data.fs')))
    return path


def main(argv=sys.argv[1:]):
    app = zope.app.wsgi.getWSGIApplication(writeConfiguration(argv[0]))
    server = waitress.create_server(app, host='127.0.0.1', port=0)
    print('serving on %s' % server.effective_port, flush=True)
    server.run()


if __name__ == '__main__':
    main()
