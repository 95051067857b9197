"""Plone 6: the add-on's GenericSetup profiles and their set-up steps.

Installing (Add-ons control panel, or the ``cybertools.tracking:default``
profile) adds the portal's tracking storage. Uninstalling unregisters it
and removes it: its tracks and runs go with it (export them first, with
the ``tracking`` command, to keep them).
"""

from Acquisition import aq_inner
from Acquisition import aq_parent
from plone.base.interfaces import INonInstallable
from zope.interface import implementer

from cybertools.tracking.installation import ensureTrackingStorage
from cybertools.tracking.installation import removeTrackingStorage


def portalOf(setupTool):
    """The portal of GenericSetup's tool (post-install handlers get the
    tool)."""
    return aq_parent(aq_inner(setupTool))


def install(context):
    """Post-install handler of the default profile."""
    ensureTrackingStorage(portalOf(context))


def uninstall(context):
    """Post-install handler of the uninstall profile."""
    removeTrackingStorage(portalOf(context))


@implementer(INonInstallable)
class HiddenProfiles:
    """Only the default profile shows in the Add-ons control panel."""

    def getNonInstallableProfiles(self):
        return ['cybertools.tracking:uninstall']
