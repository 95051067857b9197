"""The comment track and the values its storage indexes it under."""

from zope.component import adapter
from zope.interface import implementer

from cybertools.tracking.btree import Track
from cybertools.tracking.comment.interfaces import IComment
from cybertools.tracking.indexing import TrackIndexData
from cybertools.tracking.interfaces import ITrackIndexData


def _dataField(name, default=None):
    return property(lambda self: self.data.get(name, default),
                    doc='``data[%r]``, read-only.' % name)


@implementer(IComment)
class Comment(Track):
    """A comment: ``taskId`` is the object commented on, ``userName`` the
    author, ``runId`` the thread, ``data`` holds the comment's fields."""

    typeName = 'Comment'
    index_attributes = Track.metadata_attributes + ('parent', 'topLevel')

    parent = _dataField('parent')
    subject = _dataField('subject', '')
    text = _dataField('text', '')
    contentType = _dataField('contentType', 'text/plain')
    modified = _dataField('modified')


@implementer(ITrackIndexData)
@adapter(IComment)
class CommentIndexData(TrackIndexData):
    """A comment's index values: ``parent`` for a reply, and for a
    top-level comment ``topLevel``, the object it is about (so that
    ``query(topLevel=taskId)`` finds the threads of an object)."""

    def getIndexValues(self):
        values = super().getIndexValues()
        values.pop('topLevel', None)
        if 'parent' not in values:
            values['topLevel'] = self.context.taskId
        return values
