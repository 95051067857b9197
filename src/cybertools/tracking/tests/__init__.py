"""Tests of cybertools.tracking.

``testDir`` is a directory for the files a test writes (as the original
package's tests had one): a fresh temporary directory per process,
removed when the process ends.
"""

import atexit
import shutil
import tempfile

testDir = tempfile.mkdtemp(prefix='cybertools.tracking-tests-')
atexit.register(shutil.rmtree, testDir, ignore_errors=True)
