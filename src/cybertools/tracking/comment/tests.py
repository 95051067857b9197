"""The comments' manual (README.txt) and their edge cases."""

import sys
import unittest
from unittest import mock

import transaction
import zope.annotation
import zope.component
import zope.component.testing
import zope.security
import zope.securitypolicy
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from zope.component import adapter
from zope.component import provideAdapter
from zope.component import provideHandler
from zope.component.event import objectEventNotify
from zope.interface.interfaces import ComponentLookupError
from zope.security.checker import ProxyFactory
from zope.security.checker import getCheckerForInstancesOf
from zope.security.interfaces import Unauthorized
from zope.security.management import endInteraction
from zope.security.management import newInteraction
from zope.security.management import setSecurityPolicy
from zope.security.proxy import isinstance as proxyIsInstance
from zope.security.proxy import removeSecurityProxy
from zope.securitypolicy.interfaces import IPrincipalPermissionManager
from zope.securitypolicy.zopepolicy import ZopeSecurityPolicy

from cybertools.tracking.testing import asAnotherWriter
from cybertools.tracking.btree import TrackingStorage
from cybertools.tracking.comment.base import Comment
from cybertools.tracking.comment.base import CommentIndexData
from cybertools.tracking.comment.interfaces import CommentHasReplies
from cybertools.tracking.comment.interfaces import IComment
from cybertools.tracking.comment.interfaces import ICommentManager
from cybertools.tracking.comment.interfaces import ICommentManagerQuery
from cybertools.tracking.comment.interfaces import ICommentManagerWrite
from cybertools.tracking.comment.interfaces import IReadComment
from cybertools.tracking.comment.interfaces import NoSuchComment
from cybertools.tracking.comment.interfaces import NotAuthorError
from cybertools.tracking.comment.manager import CommentManager
from cybertools.tracking.interfaces import ITrack
from cybertools.tracking.interfaces import ITrackAddedEvent
from cybertools.tracking.interfaces import ITrackIndexData
from cybertools.tracking.interfaces import ITrackModifiedEvent
from cybertools.tracking.interfaces import ITrackRemovedEvent
from cybertools.tracking.testing import Participation
from cybertools.tracking.testing import Principal
from cybertools.tracking.testing import loadSecureConfiguration
from cybertools.tracking.testing import recordLoads
from cybertools.tracking.testing import docFileSuite


VIEW = 'cybertools.tracking.View'
SAVE = 'cybertools.tracking.Save'


def snapshot(storage):
    """What a caller can see of a storage, for before/after checks."""
    return ([(t.__name__, t.metadata, t.data) for t in storage.values()],
            len(storage.getRuns()), storage.checkIndexes())


def subjects(comments):
    return [comment.subject for comment in comments]


def shape(tree):
    """A tree of (comment, children) pairs as nested (subject, [...])."""
    return [(comment.subject, shape(children)) for comment, children in tree]


class CommentTestCase(unittest.TestCase):
    """A storage of comments with this discussion of 'doc' (ids in
    brackets), and a comment on 'doc2':

        [1] alice: a
            [2] bob: a.1
                [4] alice: a.1.1
            [3] carol: a.2
        [5] bob: b
        [6] carol: other (on doc2)
    """

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        provideAdapter(CommentIndexData)
        self.storage = TrackingStorage(trackFactory=Comment)
        self.manager = CommentManager(self.storage)
        add, reply = self.manager.addComment, self.manager.reply
        add('doc', 'alice', 'a', 'text a')
        reply('0000001', 'bob', 'a.1', 'text a.1')
        reply('0000001', 'carol', 'a.2', 'text a.2')
        reply('0000002', 'alice', 'a.1.1', 'text a.1.1')
        add('doc', 'bob', 'b', 'text b')
        add('doc2', 'carol', 'other', 'text other')

    def assertRefused(self, exception, call, *args, **kw):
        """The call raises ``exception`` and changes nothing."""
        before = snapshot(self.storage)
        with self.assertRaises(exception) as cm:
            call(*args, **kw)
        self.assertEqual(snapshot(self.storage), before)
        return cm.exception

    def countLoads(self):
        """Record the tracks the storage loads from here on."""
        return recordLoads(self, self.storage)

    def recordEvents(self, *interfaces):
        provideHandler(objectEventNotify)
        events = []
        for interface in interfaces:
            @adapter(ITrack, interface)
            def record(track, event, interface=interface):
                events.append((interface.__name__[1:-5], track.__name__))
            provideHandler(record)
        return events


class StructureTest(CommentTestCase):

    def test_comment_provides_its_interfaces(self):
        comment = self.manager.getComment('0000002')
        self.assertTrue(IComment.providedBy(comment))
        self.assertTrue(ITrack.providedBy(comment))
        self.assertEqual(comment.typeName, 'Comment')

    def test_thread_is_a_run(self):
        runs = {c.__name__: c.runId for c in self.storage.values()}
        self.assertEqual(runs['0000001'], runs['0000002'])
        self.assertEqual(runs['0000001'], runs['0000004'])
        self.assertEqual(len({runs['0000001'], runs['0000005'],
                              runs['0000006']}), 3)
        self.assertEqual(self.storage.getRun(runId=runs['0000005']).taskId,
                         'doc')

    def test_replies_belong_to_the_object_of_their_parent(self):
        self.assertEqual(self.manager.getComment('0000004').taskId, 'doc')

    def test_index_values(self):
        top = self.manager.getComment('0000001').indexdata
        self.assertEqual(top['topLevel'], 'doc')
        self.assertNotIn('parent', top)
        reply = self.manager.getComment('0000004').indexdata
        self.assertEqual(reply['parent'], '0000002')
        self.assertNotIn('topLevel', reply)

    def test_a_topLevel_data_field_does_not_fool_the_index(self):
        comment = Comment('doc', 1, 'eve', {'parent': '0000001',
                                            'topLevel': 'doc'})
        self.assertNotIn('topLevel', CommentIndexData(comment)
                         .getIndexValues())

    def test_similar_object_ids_are_kept_apart(self):
        self.manager.addComment('do', 'dave', 'x', 'y')
        self.manager.addComment('doc*', 'dave', 'x', 'y')
        self.assertEqual(self.manager.countThreads('doc'), 2)
        self.assertEqual(self.manager.countThreads('do'), 1)
        self.assertEqual(self.manager.countComments('doc'), 5)

    def test_indexes_stay_consistent(self):
        self.manager.edit('0000002', 'bob', text='changed')
        self.manager.remove('0000003', 'carol')
        self.manager.remove('0000001')
        self.assertEqual(self.storage.checkIndexes(), [])
        self.storage.reindexTracks()
        self.assertEqual(self.storage.checkIndexes(), [])
        self.assertEqual(subjects(self.manager.getComments('doc')), ['b'])


class ManagerSetupTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)

    def test_storage_of_plain_tracks_is_refused(self):
        provideAdapter(CommentIndexData)
        with self.assertRaises(TypeError) as cm:
            CommentManager(TrackingStorage())
        self.assertIn('Track tracks, not comments', str(cm.exception))

    def test_missing_index_data_adapter_is_noticed(self):
        with self.assertRaises(ComponentLookupError) as cm:
            CommentManager(TrackingStorage(trackFactory=Comment))
        self.assertIn('cybertools.tracking.comment', str(cm.exception))

    def test_subclass_of_comment(self):
        provideAdapter(CommentIndexData)

        class Remark(Comment):
            typeName = 'Remark'

        storage = TrackingStorage(trackFactory=Remark)
        manager = CommentManager(storage)
        manager.reply(manager.addComment('doc', 'u', 's', 't'), 'v', 's', 't')
        self.assertEqual(manager.countThreads('doc'), 1)
        self.assertEqual(manager.countChildren('0000001'), 1)


class RefusalTest(CommentTestCase):

    def test_reply_to_missing_parent(self):
        for parentId in ('0000099', '1', 1, None, ''):
            self.assertRefused(NoSuchComment, self.manager.reply,
                               parentId, 'bob', 's', 't')

    def test_reply_to_removed_parent(self):
        self.manager.remove('0000005')
        self.assertRefused(NoSuchComment, self.manager.reply,
                           '0000005', 'bob', 's', 't')

    def test_bad_fields_start_no_thread(self):
        add = self.manager.addComment
        self.assertRefused(TypeError, add, 'doc', 'bob', None, 't')
        self.assertRefused(TypeError, add, 'doc', 'bob', 's', b't')
        self.assertRefused(TypeError, add, 'doc', 'bob', 's', 't', None)
        self.assertRefused(ValueError, add, 'doc', 'bob', 's', 't', ' ')
        self.assertRefused(ValueError, add, 'doc', 'bob', 's', 't', 'text/\xe9')
        self.assertRefused(ValueError, add, 'doc', 'bob', '', '')
        self.assertRefused(ValueError, add, 'doc', 'bob', ' ', '\n')
        self.assertRefused(ValueError, add, '', 'bob', 's', 't')
        self.assertRefused(TypeError, add, 'doc', None, 's', 't')
        self.assertRefused(TypeError, add, 3, 'bob', 's', 't')

    def test_bad_fields_of_a_reply(self):
        self.assertRefused(TypeError, self.manager.reply,
                           '0000001', 'bob', 's', ['t'])
        self.assertRefused(ValueError, self.manager.reply,
                           '0000001', '', 's', 't')

    def test_subject_or_text_alone_is_enough(self):
        self.manager.addComment('doc', 'bob', '', 'text only')
        self.manager.addComment('doc', 'bob', 'subject only', '')
        self.assertEqual(self.manager.countThreads('doc'), 4)

    def test_edit_by_somebody_else(self):
        error = self.assertRefused(NotAuthorError, self.manager.edit,
                                   '0000002', 'alice', text='mine now')
        self.assertIsInstance(error, Unauthorized)
        self.assertIn("'alice' may not edit comment 0000002", str(error))

    def test_edit_that_would_empty_the_comment(self):
        self.assertRefused(ValueError, self.manager.edit,
                           '0000002', 'bob', subject='', text='  ')
        self.assertRefused(TypeError, self.manager.edit,
                           '0000002', 'bob', text=42)

    def test_edit_of_missing_comment(self):
        self.assertRefused(NoSuchComment, self.manager.edit,
                           '0000042', 'bob', text='x')

    def test_remove_by_somebody_else(self):
        self.assertRefused(NotAuthorError, self.manager.remove,
                           '0000003', 'bob')

    def test_author_cannot_remove_a_comment_with_replies(self):
        error = self.assertRefused(CommentHasReplies, self.manager.remove,
                                   '0000002', 'bob')
        self.assertIsInstance(error, ValueError)

    def test_remove_missing_comment(self):
        self.assertRefused(NoSuchComment, self.manager.remove, '0000042')
        self.assertRefused(NoSuchComment, self.manager.remove,
                           '0000042', 'bob')

    def test_missing_comment_in_queries(self):
        for call in (self.manager.getComment, self.manager.getChildren,
                     self.manager.getChildrenTree,
                     self.manager.countChildren):
            with self.assertRaises(NoSuchComment):
                call('0000042')
        self.assertIsInstance(NoSuchComment('x'), KeyError)

    def test_unknown_sort(self):
        for call, arg in ((self.manager.getComments, 'doc'),
                          (self.manager.getChildren, '0000001'),
                          (self.manager.getChildrenTree, '0000001')):
            with self.assertRaises(ValueError) as cm:
                call(arg, sort='popular')
            self.assertIn("unknown sort 'popular'", str(cm.exception))

    def test_bad_depth(self):
        tree = self.manager.getChildrenTree
        self.assertRaises(ValueError, tree, '0000001', depth=-1)
        self.assertRaises(TypeError, tree, '0000001', depth=1.5)
        self.assertRaises(TypeError, tree, '0000001', depth=True)

    def test_tree_needs_a_comment_or_an_object(self):
        tree = self.manager.getChildrenTree
        self.assertRaises(ValueError, tree)
        self.assertRaises(ValueError, tree, '0000001', taskId='doc')

    def test_bad_task_id_in_queries(self):
        for call in (self.manager.getComments, self.manager.countThreads,
                     self.manager.countComments):
            self.assertRaises(TypeError, call, None)
            self.assertRaises(ValueError, call, '')


class ReadTest(CommentTestCase):

    def test_top_level_comments(self):
        self.assertEqual(subjects(self.manager.getComments('doc')),
                         ['b', 'a'])
        self.assertEqual(subjects(self.manager.getComments('doc', 'oldest')),
                         ['a', 'b'])
        self.assertEqual(subjects(self.manager.getComments('doc2')),
                         ['other'])
        self.assertEqual(list(self.manager.getComments('nothing')), [])

    def test_children(self):
        self.assertEqual(subjects(self.manager.getChildren('0000001')),
                         ['a.2', 'a.1'])
        self.assertEqual(
            subjects(self.manager.getChildren('0000001', sort='oldest')),
            ['a.1', 'a.2'])
        self.assertEqual(list(self.manager.getChildren('0000004')), [])

    def test_tree_of_a_comment(self):
        self.assertEqual(shape(self.manager.getChildrenTree('0000001')),
                         [('a.2', []), ('a.1', [('a.1.1', [])])])
        self.assertEqual(
            shape(self.manager.getChildrenTree('0000001', sort='oldest')),
            [('a.1', [('a.1.1', [])]), ('a.2', [])])
        self.assertEqual(self.manager.getChildrenTree('0000004'), [])

    def test_tree_of_an_object(self):
        self.assertEqual(
            shape(self.manager.getChildrenTree(taskId='doc')),
            [('b', []), ('a', [('a.2', []), ('a.1', [('a.1.1', [])])])])
        self.assertEqual(self.manager.getChildrenTree(None, taskId='none'),
                         [])

    def test_depth(self):
        tree = self.manager.getChildrenTree
        self.assertEqual(tree('0000001', depth=0), [])
        self.assertEqual(shape(tree('0000001', depth=1)),
                         [('a.2', []), ('a.1', [])])
        self.assertEqual(shape(tree('0000001', depth=2)),
                         shape(tree('0000001')))
        self.assertEqual(shape(tree(taskId='doc', depth=1)),
                         [('b', []), ('a', [])])

    def test_tree_pairs_are_tuples_of_comment_and_list(self):
        comment, children = self.manager.getChildrenTree('0000002')[0]
        self.assertEqual(comment.__name__, '0000004')
        self.assertEqual(children, [])

    def test_counts(self):
        self.assertEqual(self.manager.countThreads('doc'), 2)
        self.assertEqual(self.manager.countComments('doc'), 5)
        self.assertEqual(self.manager.countThreads('doc2'), 1)
        self.assertEqual(self.manager.countComments('none'), 0)
        self.assertEqual(self.manager.countChildren('0000001'), 2)
        self.assertEqual(self.manager.countChildren('0000004'), 0)

    def test_results_are_lazy_sequences(self):
        comments = self.manager.getComments('doc')
        self.assertEqual(len(comments), 2)
        self.assertEqual(comments[-1].subject, 'a')
        self.assertEqual(subjects(comments[1:]), ['a'])
        self.assertEqual(subjects(reversed(comments)), ['a', 'b'])

    def test_deep_chain_of_replies(self):
        # deeper than Python's recursion limit
        parentId = '0000004'
        for i in range(sys.getrecursionlimit() + 100):
            parentId = self.manager.reply(parentId, 'bob', 'r%i' % i, 't')
        tree = self.manager.getChildrenTree('0000001', depth=None)
        levels = 0
        while tree:
            levels += 1
            tree = tree[-1][1]
        self.assertEqual(levels, sys.getrecursionlimit() + 102)
        removed = self.manager.remove('0000001')
        self.assertEqual(len(removed), sys.getrecursionlimit() + 104)
        self.assertEqual(self.manager.countComments('doc'), 1)


class LoadTest(CommentTestCase):
    """The manager answers from the indexes: it loads the comments it
    returns and nothing else."""

    def setUp(self):
        super().setUp()
        # more comments that must not be loaded: replies everywhere
        for parentId in ('0000001', '0000004', '0000005', '0000006'):
            for user in ('dave', 'erin'):
                self.manager.reply(parentId, user, 'more', 'more')
        self.loads = self.countLoads()

    def loaded(self):
        return sorted(track.__name__ for track in self.loads)

    def test_counts_load_nothing(self):
        self.manager.countThreads('doc')
        self.manager.countComments('doc')
        self.manager.countChildren('0000001')
        self.assertEqual(self.loads, [])

    def test_lazy_results_load_nothing_until_used(self):
        comments = self.manager.getComments('doc')
        children = self.manager.getChildren('0000001')
        self.assertEqual((len(comments), len(children)), (2, 4))
        self.assertEqual(len(children[1:3]), 2)
        self.assertEqual(self.loads, [])

    def test_children_load_only_the_children(self):
        children = list(self.manager.getChildren('0000002'))
        self.assertEqual(self.loaded(), sorted(c.__name__ for c in children))
        self.assertEqual(self.loaded(), ['0000004'])

    def test_tree_loads_only_the_comments_in_it(self):
        tree = self.manager.getChildrenTree('0000002')
        found = []
        todo = list(tree)
        while todo:
            comment, children = todo.pop()
            found.append(comment.__name__)
            todo.extend(children)
        self.assertEqual(self.loaded(), sorted(found))
        self.assertEqual(len(found), 3)

    def test_tree_with_depth_loads_only_the_levels_shown(self):
        tree = self.manager.getChildrenTree(taskId='doc', depth=2)
        shown = [comment.__name__ for comment, _ in tree]
        shown += [c.__name__ for _, children in tree for c, _ in children]
        self.assertEqual(self.loaded(), sorted(shown))
        self.assertEqual(len(shown), 2 + 4 + 2)

    def test_page_of_comments_loads_the_page(self):
        page = list(self.manager.getChildren('0000001')[:2])
        self.assertEqual(self.loaded(), sorted(c.__name__ for c in page))


class EditTest(CommentTestCase):

    def test_edit_keeps_the_time_stamp_and_the_place(self):
        before = self.manager.getComment('0000002')
        with mock.patch('time.time', return_value=before.timeStamp + 60):
            self.manager.edit('0000002', 'bob', subject='a.1 (edited)')
        after = self.manager.getComment('0000002')
        self.assertEqual(after.timeStamp, before.timeStamp)
        self.assertEqual(after.modified, before.timeStamp + 60)
        self.assertEqual(subjects(self.manager.getChildren('0000001')),
                         ['a.2', 'a.1 (edited)'])
        self.assertEqual(after.text, 'text a.1')
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_text_is_stored_as_given(self):
        text = '  <script>alert(1)</script>\n\n *raw*  \t'
        self.manager.edit('0000002', 'bob', text=text,
                          contentType='text/html')
        comment = self.manager.getComment('0000002')
        self.assertEqual((comment.text, comment.contentType),
                         (text, 'text/html'))

    def test_edit_notifies_modified(self):
        events = self.recordEvents(ITrackModifiedEvent)
        self.manager.edit('0000002', 'bob', text='new')
        self.assertEqual(events, [('TrackModified', '0000002')])

    def test_edit_without_change_stores_and_notifies_nothing(self):
        events = self.recordEvents(ITrackModifiedEvent)
        before = snapshot(self.storage)
        self.manager.edit('0000002', 'bob')
        self.manager.edit('0000002', 'bob', subject='a.1', text='text a.1')
        self.assertEqual(snapshot(self.storage), before)
        self.assertEqual(events, [])
        self.assertIsNone(self.manager.getComment('0000002').modified)

    def test_parent_and_thread_cannot_be_edited(self):
        self.assertRaises(TypeError, self.manager.edit, '0000002', 'bob',
                          parent='0000005')


class RemoveTest(CommentTestCase):

    def test_author_removes_a_comment_without_replies(self):
        self.assertEqual(self.manager.remove('0000004', 'alice'),
                         ['0000004'])
        self.assertEqual(self.manager.countChildren('0000002'), 0)
        # now bob can take back his
        self.assertEqual(self.manager.remove('0000002', 'bob'), ['0000002'])
        self.assertEqual(subjects(self.manager.getChildren('0000001')),
                         ['a.2'])

    def test_moderator_removes_the_subtree_deepest_first(self):
        events = self.recordEvents(ITrackRemovedEvent)
        self.assertEqual(self.manager.remove('0000001'),
                         ['0000004', '0000003', '0000002', '0000001'])
        self.assertEqual([name for _, name in events],
                         ['0000004', '0000003', '0000002', '0000001'])
        self.assertEqual(subjects(self.manager.getComments('doc')), ['b'])
        self.assertEqual(self.manager.countComments('doc'), 1)
        self.assertEqual(self.manager.countComments('doc2'), 1)
        self.assertEqual(self.storage.checkIndexes(), [])

    def test_moderator_removes_a_reply_with_its_replies(self):
        self.assertEqual(self.manager.remove('0000002'),
                         ['0000004', '0000002'])
        self.assertEqual(shape(self.manager.getChildrenTree(taskId='doc')),
                         [('b', []), ('a', [('a.2', [])])])

    def test_removed_thread_leaves_its_run(self):
        runId = self.manager.getComment('0000005').runId
        self.manager.remove('0000005')
        self.assertIsNotNone(self.storage.getRun(runId=runId))
        self.assertEqual(self.manager.countThreads('doc'), 1)

    def test_new_comment_after_removals(self):
        self.manager.remove('0000001')
        self.manager.remove('0000005')
        newId = self.manager.addComment('doc', 'bob', 'again', 'text')
        self.assertEqual(newId, '0000007')
        self.assertEqual(subjects(self.manager.getComments('doc')),
                         ['again'])


class EventTest(CommentTestCase):

    def test_add_and_reply_notify_added(self):
        events = self.recordEvents(ITrackAddedEvent)
        self.manager.addComment('doc', 'dave', 's', 't')
        self.manager.reply('0000007', 'erin', 's', 't')
        self.assertEqual(events, [('TrackAdded', '0000007'),
                                  ('TrackAdded', '0000008')])


class PartitionTest(unittest.TestCase):
    """Comments saved by concurrent writers (in id lanes of their own),
    merged into the indexes or not, work the same."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        provideAdapter(CommentIndexData)

    def test_discussion_across_lanes(self):
        storage = TrackingStorage(trackFactory=Comment)
        manager = CommentManager(storage)
        writers = iter(range(100))

        def writer():
            # each save as if by another writer; some merged
            if next(writers) == 2:
                storage.indexPending()
            asAnotherWriter(storage)
            return manager

        first = writer().addComment('doc', 'alice', 'a', 't')
        reply = writer().reply(first, 'bob', 'a.1', 't')
        writer().reply(reply, 'alice', 'a.1.1', 't')
        writer().reply(first, 'carol', 'a.2', 't')
        writer().addComment('doc', 'bob', 'b', 't')
        self.assertEqual(
            shape(manager.getChildrenTree(taskId='doc')),
            [('b', []), ('a', [('a.2', []), ('a.1', [('a.1.1', [])])])])
        self.assertEqual((manager.countThreads('doc'),
                          manager.countComments('doc')), (2, 5))
        writer().edit(reply, 'bob', text='edited')
        below = manager.getChildren(reply)[0].__name__
        self.assertEqual(writer().remove(reply), [below, reply])
        self.assertEqual(shape(manager.getChildrenTree(first)),
                         [('a.2', [])])
        self.assertEqual(storage.checkIndexes(), [])


class ZODBTest(unittest.TestCase):

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        provideAdapter(CommentIndexData)
        self.db = DB(DemoStorage())
        self.addCleanup(self.db.close)

    def test_discussion_survives_reopening(self):
        conn = self.db.open()
        conn.root()['comments'] = storage = TrackingStorage(Comment)
        manager = CommentManager(storage)
        first = manager.addComment('doc', 'alice', 'a', 'text')
        manager.reply(manager.reply(first, 'bob', 'a.1', 't'), 'alice',
                      'a.1.1', 't')
        transaction.commit()
        manager.edit(first, 'alice', text='edited')
        transaction.commit()
        conn.close()

        conn = self.db.open()
        manager = CommentManager(conn.root()['comments'])
        self.assertEqual(shape(manager.getChildrenTree(taskId='doc')),
                         [('a', [('a.1', [('a.1.1', [])])])])
        self.assertEqual(manager.getComment(first).text, 'edited')
        manager.remove(first)
        transaction.commit()
        self.assertEqual(manager.countComments('doc'), 0)
        conn.close()


class ConfigurationTest(unittest.TestCase):
    """The sub-package's ZCML, included by the package's, as an
    application loads it."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.storage = TrackingStorage(trackFactory=Comment)

    def test_adapters_are_registered(self):
        manager = ICommentManager(self.storage)
        self.assertIsInstance(manager, CommentManager)
        commentId = manager.addComment('doc', 'alice', 's', 't')
        comment = self.storage[commentId]
        self.assertIsInstance(ITrackIndexData(comment), CommentIndexData)
        self.assertEqual(manager.countThreads('doc'), 1)

    def test_comment_security(self):
        checker = getCheckerForInstancesOf(Comment)
        for name in IReadComment:
            self.assertEqual(checker.permission_id(name), VIEW, name)
        self.assertEqual(checker.permission_id('update'), SAVE)
        self.assertEqual(checker.setattr_permission_id('data'), SAVE)
        self.assertIsNone(checker.setattr_permission_id('subject'))

    def test_manager_security(self):
        checker = getCheckerForInstancesOf(CommentManager)
        for name in ICommentManagerQuery:
            self.assertEqual(checker.permission_id(name), VIEW, name)
        for name in ICommentManagerWrite:
            self.assertEqual(checker.permission_id(name), SAVE, name)
        self.assertIsNone(checker.permission_id('context'))

    def test_trusted_adapter_of_a_proxied_storage_is_proxied(self):
        manager = ICommentManager(ProxyFactory(self.storage))
        self.assertTrue(proxyIsInstance(manager, CommentManager))
        self.assertIsNot(removeSecurityProxy(manager), manager)
        self.assertIs(removeSecurityProxy(manager).context, self.storage)
        unproxied = ICommentManager(self.storage)
        self.assertIs(removeSecurityProxy(unproxied), unproxied)


class SecurityTest(unittest.TestCase):
    """Through real security proxies, with the permissions granted on the
    storage itself (as a site grants them locally)."""

    def setUp(self):
        zope.component.testing.setUp()
        self.addCleanup(zope.component.testing.tearDown)
        loadSecureConfiguration()
        self.addCleanup(setSecurityPolicy,
                        setSecurityPolicy(ZopeSecurityPolicy))
        self.addCleanup(endInteraction)
        self.storage = TrackingStorage(trackFactory=Comment)
        grants = IPrincipalPermissionManager(self.storage)
        for principalId, permissions in (('alice', (VIEW, SAVE)),
                                         ('bob', (VIEW, SAVE)),
                                         ('reader', (VIEW,))):
            for permission in permissions:
                grants.grantPermissionToPrincipal(permission, principalId)
        manager = CommentManager(self.storage)
        self.first = manager.addComment('doc', 'alice', 'a', 'text a')
        self.reply = manager.reply(self.first, 'bob', 'a.1', 'text a.1')

    def login(self, principalId):
        newInteraction(Participation(Principal(principalId)))
        return ICommentManager(ProxyFactory(self.storage))

    def test_author_with_save_takes_back_his_comment(self):
        manager = self.login('bob')
        self.assertEqual(manager.remove(self.reply, 'bob'), [self.reply])
        # the storage itself would not let him
        with self.assertRaises(Unauthorized):
            ProxyFactory(self.storage).removeTrack

    def test_writing_and_reading_with_save(self):
        manager = self.login('alice')
        commentId = manager.reply(self.reply, 'alice', 'a.1.1', 'text')
        manager.edit(commentId, 'alice', text='edited')
        (comment, children), = manager.getChildrenTree(self.reply)
        self.assertEqual((comment.text, children), ('edited', []))
        self.assertEqual(manager.countComments('doc'), 3)

    def test_reader_reads_but_cannot_write(self):
        manager = self.login('reader')
        self.assertEqual(subjects(manager.getComments('doc')), ['a'])
        self.assertEqual(manager.getComment(self.reply).text, 'text a.1')
        with self.assertRaises(Unauthorized):
            manager.addComment('doc', 'reader', 's', 't')
        with self.assertRaises(Unauthorized):
            manager.remove(self.reply)
        with self.assertRaises(Unauthorized):
            manager.getComment(self.reply).update({'text': 'x'})

    def test_nobody_reads_nothing(self):
        manager = self.login('nobody')
        with self.assertRaises(Unauthorized):
            manager.getComments('doc')
        self.assertEqual(self.storage[self.first].text, 'text a')


def test_suite():
    return unittest.TestSuite([
        docFileSuite('README.txt', package='cybertools.tracking.comment'),
        unittest.defaultTestLoader.loadTestsFromModule(
            sys.modules[__name__]),
    ])
