"""The ``@@`` namespace without an empty view name.

zope.traversing looks ``@@NAME`` up as the multi-adapter of that name.
For an empty name (``/@@/x``) that finds unnamed registrations that are
no views at all (the default view name is one: a string), and publishing
it fails with a TypeError, a 500. An empty name is not found here.
"""

from zope.location.interfaces import LocationError
from zope.traversing import namespace


class view(namespace.view):

    def traverse(self, name, ignored):
        if not name:
            raise LocationError(self.context, '@@')
        return super().traverse(name, ignored)
