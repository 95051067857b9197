"""Interfaces of comments: the comment track and the comment manager.

A comment is a track in a tracking storage of comments
(``TrackingStorage(trackFactory=Comment)``): the object commented on is the
track's ``taskId``, the author its ``userName``, the time it was written its
``timeStamp``. A thread (a top-level comment and all replies below it) is a
run of that storage. The comment's own fields live in the track's ``data``.

The manager's API is split by the permission that protects it, like the
storage's: reading (``ICommentManagerQuery``) and writing
(``ICommentManagerWrite``), combined in ``ICommentManager``.
"""

from zope.interface import Interface
from zope.schema import ASCIILine
from zope.schema import Float
from zope.schema import Text
from zope.schema import TextLine
from zope.security.interfaces import Unauthorized

from cybertools.tracking.interfaces import IReadTrack
from cybertools.tracking.interfaces import ITrack


class NoSuchComment(KeyError):
    """There is no comment with this id in the storage."""


class NotAuthorError(Unauthorized):
    """Only the author of a comment may change it or take it back.

    A subclass of ``zope.security.interfaces.Unauthorized``: raised in a
    view, the publisher answers it like any other refusal (403, or a
    login for an anonymous user).
    """


class CommentHasReplies(ValueError):
    """The author may not take back a comment that has replies."""


class IReadComment(IReadTrack):
    """The fields of a comment.

    They are read from the track's ``data`` (keys ``subject``, ``text``,
    ``contentType``, ``parent`` and ``modified``); a comment is changed
    with ``ICommentManager.edit``.
    """

    parent = TextLine(
        title='Parent',
        description='The track id of the comment this one replies to; '
                    'None for a top-level comment. Replies are found by '
                    'the index of the same name: '
                    '``storage.query(parent=commentId)``.',
        required=False,
        readonly=True)

    subject = TextLine(
        title='Subject',
        description='A short title; may be empty.',
        default='',
        required=False,
        readonly=True)

    text = Text(
        title='Text',
        description='The body of the comment, stored exactly as given. '
                    'Rendering it (and, for markup, sanitizing it) is the '
                    'business of the view that shows it.',
        default='',
        required=False,
        readonly=True)

    contentType = ASCIILine(
        title='Content type',
        description='The MIME type of the text, e.g. "text/plain" (the '
                    'default), "text/html" or "text/x-rst".',
        default='text/plain',
        readonly=True)

    modified = Float(
        title='Modified',
        description='When the author last edited the comment (seconds '
                    'since the epoch, UTC); None if never. The time stamp '
                    'stays the time the comment was written.',
        required=False,
        readonly=True)


class IComment(IReadComment, ITrack):
    """A comment on an object, or a reply to another comment."""


class ICommentManagerQuery(Interface):
    """Reading comments.

    Everything is answered from the storage's indexes: the methods load
    only the comments they return, and the counts load none. Lists of
    comments are ordered by the time the comments were written,
    ``sort='newest'`` (the default) first, or ``sort='oldest'`` first;
    another ``sort`` raises ValueError.
    """

    def getComment(commentId):
        """Return the comment with this id; raise ``NoSuchComment`` (a
        KeyError) if there is none."""

    def getComments(taskId, sort='newest'):
        """Return the top-level comments on an object.

        The result is a lazy sequence (like the storage's query results):
        ``len()`` and slicing load no comments, iteration and indexing
        load the ones returned. An object without comments has none.
        """

    def getChildren(commentId, sort='newest'):
        """Return the direct replies to a comment, a lazy sequence.

        Raises ``NoSuchComment`` if there is no comment ``commentId``.
        """

    def getChildrenTree(commentId=None, sort='newest', depth=None,
                        taskId=None):
        """Return the replies below a comment as a tree.

        The tree is a list of pairs ``(comment, children)`` where
        ``children`` is a list of such pairs again; on each level the
        comments are ordered as ``sort`` says. With ``commentId=None`` and
        a ``taskId`` the tree is the whole discussion of an object: its
        top-level comments with the replies below them. Give one of
        ``commentId`` and ``taskId``.

        ``depth`` limits the levels: 1 gives the direct replies only
        (each with an empty list of children), None all levels. A comment
        at the last level has an empty list even if it has replies;
        ``countChildren`` tells how many.
        """

    def countChildren(commentId):
        """Return the number of direct replies to a comment."""

    def countThreads(taskId):
        """Return the number of top-level comments on an object."""

    def countComments(taskId):
        """Return the number of comments on an object, replies included."""


class ICommentManagerWrite(Interface):
    """Writing comments.

    ``userName`` is whoever acts: a view passes the id of the request's
    principal. Arguments are checked before anything is saved: a subject,
    text or content type that is not a string raises TypeError; an empty
    or non-ASCII content type, or a comment with neither subject nor text,
    raises ValueError.

    Events are the storage's: ``ITrackAddedEvent`` for a new comment or
    reply, ``ITrackModifiedEvent`` for an edit, ``ITrackRemovedEvent`` for
    each comment removed; a new thread also notifies ``IRunStartedEvent``.
    """

    def addComment(taskId, userName, subject, text,
                   contentType='text/plain'):
        """Add a top-level comment on the object ``taskId``, starting a
        new thread (a run of the storage). Return the comment's id."""

    def reply(parentId, userName, subject, text, contentType='text/plain'):
        """Add a reply to the comment ``parentId``, in the parent's thread
        and on the parent's object. Return the reply's id.

        Raises ``NoSuchComment`` if there is no comment ``parentId``.
        """

    def edit(commentId, userName, subject=None, text=None,
             contentType=None):
        """Change a comment's subject, text or content type (None leaves
        a field as it is) and return its id.

        Only the author may edit: another ``userName`` raises
        ``NotAuthorError``. The text is stored as given. The comment keeps
        its time stamp, and so its place among the others; ``modified``
        records the time of the edit. An edit that changes nothing stores
        nothing and notifies nothing.
        """

    def remove(commentId, userName=None):
        """Remove a comment; return the ids of the comments removed.

        With a ``userName`` the author takes his comment back: another
        user raises ``NotAuthorError``, and a comment that has replies
        raises ``CommentHasReplies`` (the replies are other people's
        words, and they would lose what they answer). Without a
        ``userName`` a moderator removes the comment together with all
        replies below it, the deepest first. Raises ``NoSuchComment`` if
        there is no comment ``commentId``.
        """


class ICommentManager(ICommentManagerQuery, ICommentManagerWrite):
    """Comments on objects and the threads of replies to them, kept in a
    tracking storage of comments; an adapter of the storage."""
