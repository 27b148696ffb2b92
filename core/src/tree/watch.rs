//! Watches: a per-server table (not replicated) of who watches what, fed with the
//! [`Trigger`]s that applying a transaction returns.
//!
//! As ZooKeeper's `WatchManager`, there are two tables, *data* (getData and exists
//! watches) and *child* (getChildren watches); `addWatch` puts a persistent or
//! persistent-recursive watch in both (ZooKeeper 3.8's `DataTree.addWatch`), so
//! `removeWatches` can remove either half. A watcher holds at most one watch per path and table,
//! with one mode (the last one set wins, as in ZooKeeper); standard watches are
//! one-shot; a recursive watch on a path fires for every event on the path or below it,
//! except `NodeChildrenChanged`. A trigger notifies each watcher at most once.
//!
//! **Ordering rule for drivers:** deliver the events [`WatchManager::trigger`] returns
//! for a transaction *before* the response of any request that reflects it (ZooKeeper
//! guarantees a client sees the watch event before the new data).

use super::acl::{self, Acl, AuthInfo, Perms};
use super::error::ZkError;
use crate::ids::SessionId;
use crate::vecmap::StringSet;
use crate::vecmap::{VecMap, VecSet};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Who watches: the session (one connection per session).
pub type Watcher = SessionId;

/// What a transaction did to a path, for the watch tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// What happened.
    pub kind: TriggerKind,
    /// Where (for `ChildrenChanged`, the parent).
    pub path: String,
    /// The ACL of that node (the deleted node's for `Deleted`): events go only to
    /// watchers with READ on it (ZooKeeper 3.8.4+, CVE-2024-23944).
    pub acl: Arc<[Acl]>,
}

/// The kinds of [`Trigger`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerKind {
    /// A node was created.
    Created,
    /// A node was deleted.
    Deleted,
    /// A node's data was set.
    DataChanged,
    /// A node gained or lost a child.
    ChildrenChanged,
}

/// A watch event's type (`Watcher.Event.EventType`), with its wire number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// 1
    NodeCreated,
    /// 2
    NodeDeleted,
    /// 3
    NodeDataChanged,
    /// 4
    NodeChildrenChanged,
    /// 5 (client-side only)
    DataWatchRemoved,
    /// 6 (client-side only)
    ChildWatchRemoved,
    /// 7 (client-side only)
    PersistentWatchRemoved,
}

impl EventType {
    /// The number on the wire.
    pub fn code(self) -> i32 {
        match self {
            EventType::NodeCreated => 1,
            EventType::NodeDeleted => 2,
            EventType::NodeDataChanged => 3,
            EventType::NodeChildrenChanged => 4,
            EventType::DataWatchRemoved => 5,
            EventType::ChildWatchRemoved => 6,
            EventType::PersistentWatchRemoved => 7,
        }
    }

    /// Its name in Java's `Watcher.Event.EventType` (`NodeCreated`, ...), as the trace and
    /// the console print it.
    pub fn java_name(self) -> &'static str {
        match self {
            EventType::NodeCreated => "NodeCreated",
            EventType::NodeDeleted => "NodeDeleted",
            EventType::NodeDataChanged => "NodeDataChanged",
            EventType::NodeChildrenChanged => "NodeChildrenChanged",
            EventType::DataWatchRemoved => "DataWatchRemoved",
            EventType::ChildWatchRemoved => "ChildWatchRemoved",
            EventType::PersistentWatchRemoved => "PersistentWatchRemoved",
        }
    }

    /// The name kazoo and the conformance goldens use (`NODE_CREATED`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventType::NodeCreated => "NODE_CREATED",
            EventType::NodeDeleted => "NODE_DELETED",
            EventType::NodeDataChanged => "NODE_DATA_CHANGED",
            EventType::NodeChildrenChanged => "NODE_CHILDREN_CHANGED",
            EventType::DataWatchRemoved => "DATA_WATCH_REMOVED",
            EventType::ChildWatchRemoved => "CHILD_WATCH_REMOVED",
            EventType::PersistentWatchRemoved => "PERSISTENT_WATCH_REMOVED",
        }
    }
}

/// One notification to one watcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedEvent {
    /// Who receives it.
    pub watcher: Watcher,
    /// What happened.
    pub event: EventType,
    /// Where.
    pub path: String,
}

/// How a watch behaves (`WatcherMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatchMode {
    /// One-shot (getData, exists, getChildren).
    Standard,
    /// Stays after firing (`addWatch` PERSISTENT).
    Persistent,
    /// Stays, and covers the whole subtree (`addWatch` PERSISTENT_RECURSIVE).
    PersistentRecursive,
}

/// Which watches `removeWatches` removes (`WatcherType`: Children 1, Data 2, Any 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatcherType {
    /// Child watches.
    Children,
    /// Data (and exists) watches.
    Data,
    /// Both.
    Any,
}

/// One table (data or child).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Table {
    by_path: crate::vecmap::BrowserMap<String, VecMap<Watcher, WatchMode>>,
    by_watcher: VecMap<Watcher, StringSet>,
    recursive: usize,
}

impl Table {
    fn add(&mut self, path: &str, w: Watcher, mode: WatchMode) {
        let old = self.by_path.entry(path.to_owned()).or_default().insert(w, mode);
        if old == Some(WatchMode::PersistentRecursive) {
            self.recursive -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive += 1;
        }
        self.by_watcher.entry(w).or_default().insert(path.to_owned());
    }

    fn remove(&mut self, path: &str, w: Watcher) -> bool {
        let Some(watchers) = self.by_path.get_mut(path) else { return false };
        let Some(mode) = watchers.remove(&w) else { return false };
        if mode == WatchMode::PersistentRecursive {
            self.recursive -= 1;
        }
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        if let Some(paths) = self.by_watcher.get_mut(&w) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_watcher.remove(&w);
            }
        }
        true
    }

    fn remove_watcher(&mut self, w: Watcher) {
        for path in self.by_watcher.remove(&w).unwrap_or_default() {
            if let Some(watchers) = self.by_path.get_mut(&path) {
                if watchers.remove(&w) == Some(WatchMode::PersistentRecursive) {
                    self.recursive -= 1;
                }
                if watchers.is_empty() {
                    self.by_path.remove(&path);
                }
            }
        }
    }

    /// `WatchManager.triggerWatch`: who to notify; one-shot watches at the path go.
    fn trigger(&mut self, path: &str, event: EventType, suppress: &VecSet<Watcher>) -> VecSet<Watcher> {
        let mut fired = VecSet::new();
        let mut spent = Vec::new();
        let walk: Vec<&str> =
            if self.recursive == 0 { vec![path] } else { super::path::self_and_ancestors(path).collect() };
        for (i, p) in walk.iter().enumerate() {
            let Some(watchers) = self.by_path.get(*p) else { continue };
            for (&w, &mode) in watchers {
                match mode {
                    WatchMode::PersistentRecursive if event != EventType::NodeChildrenChanged => {
                        fired.insert(w);
                    }
                    WatchMode::PersistentRecursive => {}
                    _ if i == 0 => {
                        fired.insert(w);
                        if mode == WatchMode::Standard {
                            spent.push(w);
                        }
                    }
                    _ => {}
                }
            }
        }
        for w in spent {
            self.remove(path, w);
        }
        fired.retain(|w| !suppress.contains(w));
        fired
    }
}

/// A server's watches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchManager {
    data: Table,
    child: Table,
}

impl WatchManager {
    /// No watches.
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// A getData or exists watch (exists may watch a path that does not exist yet).
    pub fn add_data_watch(&mut self, path: &str, w: Watcher) {
        self.data.add(path, w, WatchMode::Standard);
    }

    /// A getChildren watch.
    pub fn add_child_watch(&mut self, path: &str, w: Watcher) {
        self.child.add(path, w, WatchMode::Standard);
    }

    /// `addWatch`: the watch goes in both tables, whatever its mode (ZooKeeper 3.8's
    /// `DataTree.addWatch`; later versions keep recursive ones out of the child table).
    /// A recursive watch in the child table never fires there: it ignores
    /// NodeChildrenChanged, and its NodeDeleted was already sent from the data table.
    pub fn add_watch(&mut self, path: &str, w: Watcher, mode: WatchMode) {
        self.data.add(path, w, mode);
        self.child.add(path, w, mode);
    }

    /// `removeWatches`: `NOWATCHER` if nothing of that type was there.
    pub fn remove_watches(&mut self, path: &str, w: Watcher, kind: WatcherType) -> Result<(), ZkError> {
        let removed = match kind {
            WatcherType::Children => self.child.remove(path, w),
            WatcherType::Data => self.data.remove(path, w),
            WatcherType::Any => {
                let c = self.child.remove(path, w);
                let d = self.data.remove(path, w);
                c || d
            }
        };
        if removed {
            Ok(())
        } else {
            Err(ZkError::NoWatcher)
        }
    }

    /// `checkWatches`: as ZooKeeper 3.8's `containsWatcher`, a path counts as watched if
    /// *any* watcher watches it in the table asked for (not only this one).
    pub fn check_watches(&self, path: &str, kind: WatcherType) -> Result<(), ZkError> {
        let watched = |t: &Table| t.by_path.contains_key(path);
        let found = match kind {
            WatcherType::Children => watched(&self.child),
            WatcherType::Data => watched(&self.data),
            WatcherType::Any => watched(&self.child) || watched(&self.data),
        };
        if found {
            Ok(())
        } else {
            Err(ZkError::NoWatcher)
        }
    }

    /// Drops every watch of a watcher (its session closed or its connection went).
    pub fn remove_watcher(&mut self, w: Watcher) {
        self.data.remove_watcher(w);
        self.child.remove_watcher(w);
    }

    /// Whether a watcher has any watch at all.
    pub fn has_watches(&self, w: Watcher) -> bool {
        self.data.by_watcher.contains_key(&w) || self.child.by_watcher.contains_key(&w)
    }

    /// How many (path, watcher) pairs are registered in both tables.
    pub fn len(&self) -> usize {
        let count = |t: &Table| t.by_path.values().map(VecMap::len).sum::<usize>();
        count(&self.data) + count(&self.child)
    }

    /// Whether there is no watch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events a transaction's triggers cause, in order (as `DataTree` fires them:
    /// create → NodeCreated on the path's data watches, NodeChildrenChanged on the
    /// parent's child watches; delete → NodeDeleted on data watches, then on child
    /// watches of the path for watchers not already told, then the parent's
    /// NodeChildrenChanged; setData → NodeDataChanged on data watches).
    ///
    /// `auth` gives each watcher's authentication: an event is delivered only if the
    /// watcher may READ the node it is about, but a one-shot watch is spent either way.
    pub fn trigger<'a>(
        &mut self,
        triggers: &[Trigger],
        auth: impl Fn(Watcher) -> Option<&'a AuthInfo>,
    ) -> Vec<WatchedEvent> {
        let mut out = Vec::new();
        let none = VecSet::new();
        let mut emit = |set: VecSet<Watcher>, event: EventType, t: &Trigger| {
            for watcher in set {
                let allowed = match auth(watcher) {
                    Some(a) => acl::check(&t.acl, Perms::READ, a).is_ok(),
                    None => acl::check(&t.acl, Perms::READ, &AuthInfo::default()).is_ok(),
                };
                if allowed {
                    out.push(WatchedEvent { watcher, event, path: t.path.clone() });
                }
            }
        };
        for t in triggers {
            let p = t.path.as_str();
            match t.kind {
                TriggerKind::Created => {
                    emit(self.data.trigger(p, EventType::NodeCreated, &none), EventType::NodeCreated, t)
                }
                TriggerKind::DataChanged => emit(
                    self.data.trigger(p, EventType::NodeDataChanged, &none),
                    EventType::NodeDataChanged,
                    t,
                ),
                TriggerKind::ChildrenChanged => emit(
                    self.child.trigger(p, EventType::NodeChildrenChanged, &none),
                    EventType::NodeChildrenChanged,
                    t,
                ),
                TriggerKind::Deleted => {
                    let told = self.data.trigger(p, EventType::NodeDeleted, &none);
                    let also = self.child.trigger(p, EventType::NodeDeleted, &told);
                    emit(told, EventType::NodeDeleted, t);
                    emit(also, EventType::NodeDeleted, t);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Watcher = SessionId(1);
    const B: Watcher = SessionId(2);

    fn t(kind: TriggerKind, p: &str) -> Trigger {
        Trigger { kind, path: p.into(), acl: Acl::open_unsafe().into() }
    }

    fn created(p: &str) -> Vec<Trigger> {
        vec![
            t(TriggerKind::Created, p),
            t(TriggerKind::ChildrenChanged, super::super::path::parent(p).unwrap()),
        ]
    }

    fn fire(m: &mut WatchManager, triggers: &[Trigger]) -> Vec<WatchedEvent> {
        m.trigger(triggers, |_| None)
    }

    #[test]
    fn standard_watches_are_one_shot() {
        let mut m = WatchManager::new();
        m.add_data_watch("/a", A);
        assert_eq!(fire(&mut m, &[t(TriggerKind::DataChanged, "/a")]).len(), 1);
        assert!(fire(&mut m, &[t(TriggerKind::DataChanged, "/a")]).is_empty());
    }

    #[test]
    fn a_watcher_is_notified_once_per_trigger() {
        let mut m = WatchManager::new();
        m.add_data_watch("/a", A);
        m.add_data_watch("/a", A);
        m.add_child_watch("/a", A);
        let ev = fire(&mut m, &[t(TriggerKind::Deleted, "/a")]);
        assert_eq!(ev, vec![WatchedEvent { watcher: A, event: EventType::NodeDeleted, path: "/a".into() }]);
        assert!(m.is_empty());
    }

    #[test]
    fn persistent_watch_sees_data_and_children_and_stays() {
        let mut m = WatchManager::new();
        m.add_watch("/p", A, WatchMode::Persistent);
        let ev = fire(&mut m, &created("/p/c"));
        assert_eq!(ev[0].event, EventType::NodeChildrenChanged);
        let ev = fire(&mut m, &created("/p/d"));
        assert_eq!(ev.len(), 1);
        assert!(fire(&mut m, &created("/p/c/x")).is_empty(), "not recursive");
    }

    #[test]
    fn persistent_recursive_watch_sees_the_subtree_but_not_child_events() {
        let mut m = WatchManager::new();
        m.add_watch("/p", A, WatchMode::PersistentRecursive);
        m.add_child_watch("/p", B);
        let ev = fire(&mut m, &created("/p/c/x"));
        assert_eq!(
            ev,
            vec![WatchedEvent { watcher: A, event: EventType::NodeCreated, path: "/p/c/x".into() }]
        );
        let ev = fire(&mut m, &created("/p/y"));
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].watcher, ev[0].event), (A, EventType::NodeCreated));
        assert_eq!((ev[1].watcher, ev[1].event), (B, EventType::NodeChildrenChanged));
    }

    #[test]
    fn remove_watches_reports_nowatcher() {
        let mut m = WatchManager::new();
        assert_eq!(m.remove_watches("/a", A, WatcherType::Any), Err(ZkError::NoWatcher));
        m.add_child_watch("/a", A);
        assert_eq!(m.remove_watches("/a", A, WatcherType::Data), Err(ZkError::NoWatcher));
        assert_eq!(m.remove_watches("/a", A, WatcherType::Any), Ok(()));
        assert!(m.is_empty());
    }

    #[test]
    fn last_mode_set_wins_per_path() {
        let mut m = WatchManager::new();
        m.add_watch("/a", A, WatchMode::Persistent);
        m.add_data_watch("/a", A);
        fire(&mut m, &[t(TriggerKind::DataChanged, "/a")]);
        assert!(fire(&mut m, &[t(TriggerKind::DataChanged, "/a")]).is_empty());
    }

    #[test]
    fn events_need_read_permission_but_spend_the_watch() {
        let mut m = WatchManager::new();
        m.add_data_watch("/s", A);
        let secret = Trigger {
            kind: TriggerKind::DataChanged,
            path: "/s".into(),
            acl: vec![Acl::new(Perms::ALL, "digest", "u:x")].into(),
        };
        assert!(m.trigger(std::slice::from_ref(&secret), |_| None).is_empty());
        assert!(m.is_empty(), "the one-shot watch is spent");
        let mut su = AuthInfo::default();
        su.add("digest", b"root:pw", Some(&acl::digest_id("root:pw"))).unwrap();
        m.add_data_watch("/s", A);
        assert_eq!(m.trigger(&[secret], |_| Some(&su)).len(), 1);
    }

    #[test]
    fn add_watch_puts_a_recursive_watch_in_both_tables() {
        // ZooKeeper 3.8.0: removeWatches(children) on a recursive watch succeeds (found
        // by random differential testing against a real server).
        let mut m = WatchManager::new();
        m.add_watch("/a", A, WatchMode::PersistentRecursive);
        assert_eq!(m.remove_watches("/a", A, WatcherType::Children), Ok(()));
        let ev = fire(&mut m, &created("/a/b"));
        assert_eq!(ev.len(), 1, "the data half still reports the subtree");
    }
}
