"""The package's own ZCML directives: one configuration for ZTK and Zope.

``<tracking:detectZope />`` provides the feature ``cybertools-tracking-zope``
when the configuration is loaded by Zope 5/6 (AccessControl's ``<class>``
directive is in use), so that the package's ZCML can say
``zcml:condition="have cybertools-tracking-zope"`` where ZTK and Zope differ.
Whether Zope is *installed* says nothing: a ZTK application may run in the
same environment.

``<tracking:zopeAccess />`` gives restricted code in Zope access to the
attributes of a class as a permission allows: the objects themselves and
their methods are protected by the permission, their data attributes are
open to whoever may get the object. Zope's ``<class>`` directive protects
names the class defines; for data attributes that only instances have it
warns, and a permission on a plain value (a string) is checked in no
context, which refuses even managers.
"""

import inspect

from zope.configuration.fields import GlobalObject
from zope.configuration.fields import Tokens
from zope.interface import Interface
from zope.schema import Bool
from zope.schema import PythonIdentifier
from zope.security.zcml import Permission

ZOPE_FEATURE = 'cybertools-tracking-zope'

CLASS_DIRECTIVE = ('http://namespaces.zope.org/zope', 'class')


def runsInZope(context):
    """Whether ``<class>`` in this configuration is AccessControl's."""
    handler = None
    for name, schema, usedIn, directiveHandler, info, parent in getattr(
            context, '_docRegistry', ()):
        if name == CLASS_DIRECTIVE:
            handler = directiveHandler     # the last registration wins
    return handler is not None and handler.__module__.startswith(
        'AccessControl.')


class IDetectZope(Interface):
    """No arguments."""


def detectZope(_context):
    if runsInZope(_context):
        _context.provideFeature(ZOPE_FEATURE)


class IZopeAccess(Interface):

    class_ = GlobalObject(title='The class', required=True)

    permission = Permission(
        title='The permission needed to get the attributes', required=True)

    interface = Tokens(
        title='Interfaces whose names are protected',
        value_type=GlobalObject(), required=False, default=[])

    attributes = Tokens(
        title="More names to protect", value_type=PythonIdentifier(),
        required=False,
        default=[])

    object = Bool(
        title='Protect the objects themselves too',
        description='Restricted code may then take an object out of a '
                    'container or a result only with the permission.',
        required=False, default=False)


def zopeAccess(_context, class_, permission, interface=(), attributes=(),
               object=False):
    names = set(attributes)
    for iface in interface:
        names.update(iface.names(all=True))
    names.discard('__parent__')
    names.discard('__name__')
    methods = sorted(name for name in names
                     if inspect.isfunction(getattr(class_, name, None)))
    data = sorted(names.difference(methods))
    for name in methods:
        _context.action(
            discriminator=('cybertools.tracking:zopeAccess', class_, name),
            callable=setRoles, args=(class_, name + '__roles__', permission))
    for name in data:
        _context.action(
            discriminator=('cybertools.tracking:zopeAccess', class_, name),
            callable=allowData, args=(class_, name))
    if object:
        _context.action(
            discriminator=('cybertools.tracking:zopeAccess', class_,
                           '__roles__'),
            callable=setRoles, args=(class_, '__roles__', permission))


def setRoles(class_, attribute, permission):
    """Let the roles of Zope's permission (looked up in the object's
    context when checked) protect ``attribute`` of ``class_``."""
    from AccessControl.PermissionRole import PermissionRole
    from zope.component import getUtility
    from zope.security.interfaces import IPermission
    title = str(getUtility(IPermission, permission).title)
    setattr(class_, attribute, PermissionRole(title))


def allowData(class_, name):
    """Let restricted code read the data attribute ``name`` of the objects
    it may get (their ``__roles__`` protect them).

    Zope checks a permission on a value in the value's own context: a
    string or a mapping has none, so the user's user folder would not
    count. Such attributes are allowed by name instead."""
    allowed = dict(class_.__dict__.get(
        '__allow_access_to_unprotected_subobjects__', {}))
    allowed[name] = 1
    class_.__allow_access_to_unprotected_subobjects__ = allowed
