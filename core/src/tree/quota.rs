//! Quota bookkeeping, as ZooKeeper 3.8 keeps it (quotas are not enforced by default,
//! `zookeeper.enforceQuota=false`, and are not enforced here).
//!
//! `setquota` (zkCli) creates `/zookeeper/quota/<path>/zookeeper_limits` and
//! `.../zookeeper_stats`. Creating the limits node marks `<path>` as having a quota;
//! creating the stats node recounts the subtree (`count=N,bytes=M`: nodes and data bytes,
//! `<path>` included). From then on every create, delete and setData under the deepest
//! such `<path>` adjusts the stats node's data in place, without a new zxid or version
//! (so only its data and dataLength change), exactly as `DataTree.updateQuotaStat` does.

use super::datatree::DataTree;
use super::path::{self, QUOTA};
use crate::vecmap::VecMap;

/// The limits node's name.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// The stats node's name.
pub const STAT_NODE: &str = "zookeeper_stats";

/// ZooKeeper's `StatsTrack`: `count=..,bytes=..` plus optional extra keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsTrack {
    values: VecMap<String, i64>,
}

impl StatsTrack {
    /// Parses `count=1,bytes=2=;byteHardLimit=3` (pairs separated by `,` or `;`).
    pub fn parse(text: &str) -> StatsTrack {
        let mut values = VecMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = pair.split('=');
            let k = kv.next().unwrap_or("");
            let v = kv.next().filter(|v| !v.is_empty()).and_then(|v| v.parse().ok()).unwrap_or(-1);
            values.insert(k.to_owned(), v);
        }
        StatsTrack { values }
    }

    fn get(&self, k: &str) -> i64 {
        self.values.get(k).copied().unwrap_or(-1)
    }

    /// The node count.
    pub fn count(&self) -> i64 {
        self.get("count")
    }

    /// The data bytes.
    pub fn bytes(&self) -> i64 {
        self.get("bytes")
    }

    /// With new count and bytes.
    pub fn with(mut self, count: i64, bytes: i64) -> StatsTrack {
        self.values.insert("count".into(), count);
        self.values.insert("bytes".into(), bytes);
        self
    }

    /// ZooKeeper's rendering: `count=C,bytes=B`, then `=` and `;key=value` for any other
    /// keys in order.
    pub fn render(&self) -> String {
        let mut s = format!("count={},bytes={}", self.count(), self.bytes());
        let extra: Vec<(&String, &i64)> =
            self.values.iter().filter(|(k, _)| k.as_str() != "count" && k.as_str() != "bytes").collect();
        if !extra.is_empty() {
            s.push('=');
            for (k, v) in extra {
                s.push_str(&format!(";{k}={v}"));
            }
        }
        s
    }
}

impl DataTree {
    /// The deepest path with a quota that is `path` or one of its ancestors
    /// (`getMaxPrefixWithQuota`; never `/`).
    pub fn quota_prefix(&self, p: &str) -> Option<String> {
        if self.quotas.is_empty() {
            return None;
        }
        path::self_and_ancestors(p).find(|a| *a != path::ROOT && self.quotas.contains(*a)).map(str::to_owned)
    }

    /// After a node was created: quota nodes register, and the subtree's stats move.
    pub(crate) fn quota_created(&mut self, p: &str, bytes: usize) {
        // (A limits node registered its path when it was inserted.)
        if let Some(target) = path::parent(p).and_then(|parent| parent.strip_prefix(QUOTA)) {
            if path::name(p) == STAT_NODE {
                let target = target.to_owned();
                self.recount_quota(&target);
            }
        }
        if let Some(prefix) = self.quota_prefix(p) {
            self.adjust_quota(&prefix, bytes as i64, 1);
        }
    }

    /// After a node was deleted.
    pub(crate) fn quota_deleted(&mut self, p: &str, bytes: usize) {
        // (A limits node unregistered its path when it was removed.)
        if let Some(prefix) = self.quota_prefix(p) {
            self.adjust_quota(&prefix, -(bytes as i64), -1);
        }
    }

    /// After a node's data changed size.
    pub(crate) fn quota_data_set(&mut self, p: &str, bytes_diff: i64) {
        if let Some(prefix) = self.quota_prefix(p) {
            self.adjust_quota(&prefix, bytes_diff, 0);
        }
    }

    /// `updateQuotaStat`: the stats node's data, in place.
    fn adjust_quota(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = format!("{QUOTA}{prefix}/{STAT_NODE}");
        let Some(n) = self.nodes.get_mut(&stat_path).map(std::sync::Arc::make_mut) else { return };
        let st = StatsTrack::parse(&String::from_utf8_lossy(&n.data));
        let (c, b) = (st.count() + count_diff, st.bytes() + bytes_diff);
        // Under /zookeeper/: outside the digest, so no digest bookkeeping is needed.
        n.data = st.with(c, b).render().into_bytes().into();
    }

    /// `updateQuotaForPath`: count the subtree afresh.
    fn recount_quota(&mut self, target: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        if let Some(n) = self.nodes.get(target) {
            count += 1;
            bytes += n.data.len() as i64;
            let prefix = format!("{target}/");
            for (_, d) in self.nodes.range_from(&prefix).take_while(|(k, _)| k.starts_with(&prefix)) {
                count += 1;
                bytes += d.data.len() as i64;
            }
        }
        let stat_path = format!("{QUOTA}{target}/{STAT_NODE}");
        if let Some(n) = self.nodes.get_mut(&stat_path).map(std::sync::Arc::make_mut) {
            n.data = StatsTrack::default().with(count, bytes).render().into_bytes().into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;
    use super::*;

    #[test]
    fn stats_track_renders_as_zookeeper() {
        let st = StatsTrack::parse("count=1,bytes=2");
        assert_eq!(st.render(), "count=1,bytes=2");
        let st = StatsTrack::parse("count=1,bytes=2=;countHardLimit=5;byteHardLimit=9");
        assert_eq!(st.render(), "count=1,bytes=2=;byteHardLimit=9;countHardLimit=5");
        assert_eq!(StatsTrack::parse("").render(), "count=-1,bytes=-1");
    }

    #[test]
    fn quota_stats_follow_creates_deletes_and_sets_under_the_path() {
        // The same steps on a real ZooKeeper 3.8.0 read the same zookeeper_stats texts.
        let mut s = TestServer::new();
        for p in ["/app", "/app/a", "/zookeeper/quota/app"] {
            s.create(p, CreateMode::Persistent).unwrap(); // data "d": 1 byte each
        }
        s.create("/zookeeper/quota/app/zookeeper_limits", CreateMode::Persistent).unwrap();
        s.create("/zookeeper/quota/app/zookeeper_stats", CreateMode::Persistent).unwrap();
        let stats = |s: &TestServer| {
            String::from_utf8(s.tree.node("/zookeeper/quota/app/zookeeper_stats").unwrap().data.to_vec())
                .unwrap()
        };
        assert_eq!(stats(&s), "count=2,bytes=2");
        let version = s.stat("/zookeeper/quota/app/zookeeper_stats").version;
        s.create("/app/b", CreateMode::Persistent).unwrap();
        s.create("/other", CreateMode::Persistent).unwrap();
        assert_eq!(stats(&s), "count=3,bytes=3");
        s.write(A, WriteRequest::SetData { path: "/app/a".into(), data: b"12345".into(), version: -1 })
            .result
            .unwrap();
        assert_eq!(stats(&s), "count=3,bytes=7");
        s.write(A, WriteRequest::Delete { path: "/app/b".into(), version: -1 }).result.unwrap();
        assert_eq!(stats(&s), "count=2,bytes=6");
        assert_eq!(s.stat("/zookeeper/quota/app/zookeeper_stats").version, version, "updated in place");
        s.write(
            A,
            WriteRequest::Delete { path: "/zookeeper/quota/app/zookeeper_limits".into(), version: -1 },
        )
        .result
        .unwrap();
        s.create("/app/c", CreateMode::Persistent).unwrap();
        assert_eq!(stats(&s), "count=2,bytes=6", "no quota any more");
        assert_eq!(s.tree.digest(), s.tree.recompute_digest());
    }
}
