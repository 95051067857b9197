"""Browser views of tracking storages, tracks and runs."""

from cybertools.tracking.browser.original import TrackView  # noqa: F401
from cybertools.tracking.browser.original import TrackingStorageView  # noqa: F401
