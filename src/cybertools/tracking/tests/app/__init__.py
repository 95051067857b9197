"""A small ZTK application for the functional tests: it installs the
tracking storage at start-up and saves a track per request."""
