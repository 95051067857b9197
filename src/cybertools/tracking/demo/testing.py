"""The demo application in a subprocess, for its functional tests."""

import os
import sys

from cybertools.tracking.testing import ServerProcess


def demoServer(directory):
    """The demo application on a FileStorage in ``directory``, on a free
    loopback port (not started yet)."""
    uri = 'file://' + os.path.join(os.path.abspath(directory), 'Data.fs')
    return ServerProcess(
        [sys.executable, '-m', 'cybertools.tracking.demo.server',
         '--db', uri, '--host', '127.0.0.1', '--port', '0'],
        directory)
