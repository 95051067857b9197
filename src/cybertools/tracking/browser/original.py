"""The original's views of a storage and its tracks, for applications
that use or subclass them (loops registers subclasses of ``TrackView`` as
the ``index.html`` of its track types).

``TrackView`` gives a track's metadata the way a listing shows them: the
task, run, user and time stamp, with ``*Title`` and ``*Url`` attributes
that subclasses override to show an application's objects instead of
ids. ``TrackingStorageView`` lists the newest tracks with their views.
Neither is registered by this package (its own pages are in views.py);
an application registers them with the permission it chooses::

    <browser:page
        for="cybertools.tracking.interfaces.ITrackingStorage"
        name="tracks-original.html"
        class="cybertools.tracking.browser.TrackingStorageView"
        permission="cybertools.tracking.Manage" />

The storage view lists every track the storage gives the caller, so
register it for those who may see everybody's tracks.
"""

from zope.browserpage import ViewPageTemplateFile
from zope.cachedescriptors.property import Lazy
from zope.component import queryMultiAdapter
from zope.interface.interfaces import ComponentLookupError
from zope.publisher.browser import BrowserView
from zope.security.proxy import removeSecurityProxy
from zope.traversing.browser import absoluteURL

from cybertools.tracking.compat import timeStamp2ISO

# The metadata every track has; the others are a track type's own.
BASIC_METADATA = ('taskId', 'runId', 'userName', 'timeStamp')


class TrackView(BrowserView):
    """A track's metadata for a page or a listing."""

    template = ViewPageTemplateFile('original_track.pt')

    def __call__(self):
        return self.template()

    @Lazy
    def id(self):
        return self.context.__name__

    @Lazy
    def url(self):
        """The track's URL, or None where it has no way to the root."""
        try:
            return absoluteURL(self.context, self.request)
        except (TypeError, ComponentLookupError):
            return None

    @Lazy
    def metadata(self):
        return self.context.metadata

    @Lazy
    def additionalMetadataFields(self):
        return [name for name in self.metadata if name not in BASIC_METADATA]

    @Lazy
    def task(self):
        return self.metadata['taskId']

    @property
    def taskTitle(self):
        return self.task

    taskUrl = None

    @Lazy
    def run(self):
        return self.metadata['runId']

    @Lazy
    def user(self):
        return self.metadata['userName']

    @property
    def userTitle(self):
        return self.user

    userUrl = None

    @Lazy
    def timeStamp(self):
        """The time stamp as text, in the server's local time."""
        return timeStamp2ISO(self.metadata['timeStamp'])

    def getMetadataTarget(self, key):
        """What a metadata value refers to: ``title``, ``url`` (None here;
        subclasses link to the application's objects) and ``obj``."""
        value = self.metadata.get(key)
        return dict(title=value, url=None, obj=value)


class TrackingStorageView(BrowserView):
    """The newest tracks of a storage, each with its view."""

    template = ViewPageTemplateFile('original_tracks.pt')

    # How many tracks a page lists at most: the newest ones.
    batchSize = 100

    error = None

    def __call__(self):
        return self.template()

    def getTracks(self):
        """Views of the newest tracks (by time stamp), newest first: a
        track's registered ``index.html`` where that is a TrackView (of an
        application's track type), else a TrackView."""
        result = self.context.query()
        for track in reversed(result[-self.batchSize:]):
            view = queryMultiAdapter((track, self.request), name='index.html')
            if isinstance(removeSecurityProxy(view), TrackView):
                yield view
            else:
                yield TrackView(track, self.request)
