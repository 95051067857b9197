import sys

from cybertools.tracking.cli import main

sys.exit(main())
