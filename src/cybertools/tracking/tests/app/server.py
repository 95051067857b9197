"""Serve the test application with waitress on a loopback port.

``python -m cybertools.tracking.tests.app.server DIRECTORY`` starts the
application on 127.0.0.1 (a free port) with its data in the FileStorage
``DIRECTORY/Data.fs`` and prints ``serving on PORT`` when it listens.
"""

import os
import sys

import waitress

from cybertools.tracking.demo.server import makeApplication

SITE_ZCML = os.path.join(os.path.dirname(__file__), 'site.zcml')


def main(argv=sys.argv[1:]):
    uri = 'file://' + os.path.join(argv[0], 'Data.fs')
    app = makeApplication(uri, siteZcml=SITE_ZCML)
    server = waitress.create_server(app, host='127.0.0.1', port=0)
    print('serving on %s' % server.effective_port, flush=True)
    server.run()


if __name__ == '__main__':
    main()
