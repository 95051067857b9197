"""The demo application: a ZTK site where users work through sample tasks
and the tracking storage records what they do.

``python -m cybertools.tracking.demo.server`` (or ``make demo``) serves it;
see server.py.
"""
