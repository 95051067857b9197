"""The comment manager: comments and threads of replies in a storage."""

import time

from zope.component import adapter
from zope.event import notify
from zope.interface import implementer
from zope.interface.interfaces import ComponentLookupError

from cybertools.tracking.comment.interfaces import CommentHasReplies
from cybertools.tracking.comment.interfaces import IComment
from cybertools.tracking.comment.interfaces import ICommentManager
from cybertools.tracking.comment.interfaces import NoSuchComment
from cybertools.tracking.comment.interfaces import NotAuthorError
from cybertools.tracking.events import TrackModifiedEvent
from cybertools.tracking.indexing import getIndexValues
from cybertools.tracking.interfaces import ITrackingStorage
from cybertools.tracking.validation import checkName

SORTS = ('newest', 'oldest')

FIELDS = ('subject', 'text', 'contentType')


def checkCommentStorage(storage):
    """Refuse a storage that does not keep comments, or whose comments
    would not be indexed as the manager needs (the index-data adapter of
    comments is not registered)."""
    factory = storage.trackFactory
    if not IComment.implementedBy(factory):
        raise TypeError('the storage keeps %s tracks, not comments'
                        % factory.__name__)
    probe = factory('probe', 1, 'probe')
    if getIndexValues(probe).get('topLevel') != 'probe':
        raise ComponentLookupError(
            'comments are not indexed by CommentIndexData: load the ZCML '
            'of cybertools.tracking.comment (or provide the adapter)')


def checkFields(subject, text, contentType):
    """The fields of a comment: strings, a content type, and a subject or
    a text that is more than white space."""
    for name, value in zip(FIELDS, (subject, text, contentType)):
        if not isinstance(value, str):
            raise TypeError('%s must be a string, not %s'
                            % (name, type(value).__name__))
    if not contentType.strip():
        raise ValueError('contentType must not be empty')
    if not contentType.isascii():
        raise ValueError('contentType must be ASCII: %r' % contentType)
    if not (subject.strip() or text.strip()):
        raise ValueError('a comment needs a subject or a text')


def checkSort(sort):
    if sort not in SORTS:
        raise ValueError("unknown sort %r (use 'newest' or 'oldest')"
                         % (sort,))


def checkDepth(depth):
    if depth is None:
        return
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise TypeError('depth must be an int or None, not %s'
                        % type(depth).__name__)
    if depth < 0:
        raise ValueError('depth must not be negative: %r' % depth)


@implementer(ICommentManager)
@adapter(ITrackingStorage)
class CommentManager:
    """Comments in a storage of comments (see ICommentManager).

    A top-level comment starts a run of the storage for its thread;
    replies go into the run of their parent. Replies are found with the
    ``parent`` index, the threads of an object with the ``topLevel``
    index that ``CommentIndexData`` derives for top-level comments.
    """

    __name__ = None

    def __init__(self, context):
        checkCommentStorage(context)
        # the storage is the manager's location: the security policy finds
        # the permissions granted on the storage and above it
        self.context = self.__parent__ = context

    # reading

    def getComment(self, commentId):
        comment = self.context.get(commentId)
        if comment is None:
            raise NoSuchComment(commentId)
        return comment

    def getComments(self, taskId, sort='newest'):
        checkSort(sort)
        checkName(taskId, 'taskId')
        return self._sorted(self.context.query(topLevel=taskId), sort)

    def getChildren(self, commentId, sort='newest'):
        checkSort(sort)
        self._checkExists(commentId)
        return self._replies(commentId, sort)

    def getChildrenTree(self, commentId=None, sort='newest', depth=None,
                        taskId=None):
        checkSort(sort)
        checkDepth(depth)
        if (commentId is None) == (taskId is None):
            raise ValueError('getChildrenTree needs either a commentId or '
                             'a taskId')
        if commentId is None:
            top = self.getComments(taskId, sort)
        else:
            top = self.getChildren(commentId, sort)
        return self._tree(top, sort, depth)

    def countChildren(self, commentId):
        self._checkExists(commentId)
        return len(self.context.query(parent=commentId))

    def countThreads(self, taskId):
        checkName(taskId, 'taskId')
        return len(self.context.query(topLevel=taskId))

    def countComments(self, taskId):
        checkName(taskId, 'taskId')
        return len(self.context.query(taskId=taskId))

    # writing

    def addComment(self, taskId, userName, subject, text,
                   contentType='text/plain'):
        checkName(taskId, 'taskId')
        checkName(userName, 'userName')
        checkFields(subject, text, contentType)
        runId = self.context.startRun(taskId)
        return self.context.saveUserTrack(
            taskId, runId, userName,
            dict(subject=subject, text=text, contentType=contentType))

    def reply(self, parentId, userName, subject, text,
              contentType='text/plain'):
        checkName(userName, 'userName')
        checkFields(subject, text, contentType)
        parent = self.getComment(parentId)
        return self.context.saveUserTrack(
            parent.taskId, parent.runId, userName,
            dict(subject=subject, text=text, contentType=contentType,
                 parent=parent.__name__))

    def edit(self, commentId, userName, subject=None, text=None,
             contentType=None):
        checkName(userName, 'userName')
        comment = self.getComment(commentId)
        self._checkAuthor(comment, userName, 'edit')
        changes = {name: value for name, value
                   in zip(FIELDS, (subject, text, contentType))
                   if value is not None}
        checkFields(*(changes.get(name, getattr(comment, name))
                      for name in FIELDS))
        if all(comment.data.get(name) == value
               for name, value in changes.items()):
            return comment.__name__
        comment.data.update(changes, modified=time.time())
        # reindexTrack keeps the time stamp (updateTrack would set it to
        # now, moving the comment to the top of its thread)
        self.context.reindexTrack(comment)
        notify(TrackModifiedEvent(comment))
        return comment.__name__

    def remove(self, commentId, userName=None):
        if userName is not None:
            checkName(userName, 'userName')
        comment = self.getComment(commentId)
        if userName is None:
            comments = self._subtree(comment)
            comments.reverse()
        else:
            self._checkAuthor(comment, userName, 'remove')
            if self.countChildren(comment.__name__):
                raise CommentHasReplies(
                    'comment %s has replies: it can be edited, but only a '
                    'moderator can remove it' % comment.__name__)
            comments = [comment]
        for item in comments:
            self.context.removeTrack(item)
        return [item.__name__ for item in comments]

    # helpers

    def _checkExists(self, commentId):
        if commentId not in self.context:
            raise NoSuchComment(commentId)

    def _checkAuthor(self, comment, userName, action):
        if comment.userName != userName:
            raise NotAuthorError('%r may not %s comment %s: only its author '
                                 'may' % (userName, action, comment.__name__))

    def _sorted(self, result, sort):
        return result if sort == 'oldest' else result[::-1]

    def _replies(self, commentId, sort):
        return self._sorted(self.context.query(parent=commentId), sort)

    def _tree(self, comments, sort, depth):
        """The (comment, children) pairs for ``comments`` and the replies
        below them, ``depth`` levels deep. Without recursion: a chain of
        replies can be deeper than Python's recursion limit."""
        tree = []
        todo = [(comments, tree, depth)]
        while todo:
            comments, pairs, depth = todo.pop()
            if depth == 0:
                continue
            below = None if depth is None else depth - 1
            for comment in comments:
                children = []
                pairs.append((comment, children))
                if below != 0:
                    todo.append((self._replies(comment.__name__, sort),
                                 children, below))
        return tree

    def _subtree(self, comment):
        """A comment and all replies below it, level by level."""
        found = [comment]
        for item in found:
            found.extend(self.context.query(parent=item.__name__))
        return found
