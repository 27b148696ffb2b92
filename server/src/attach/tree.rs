//! One member's tree as that member serves it, and two members compared.
//!
//! A walk goes breadth first from a root through a read session on that member alone
//! (no `sync`: a follower answers from its own tree, so its lag shows), pipelining up to
//! [`PIPELINE`] requests: `getChildren2` for a level's znodes, then `getData` for those
//! whose data is short enough to preview. It stops at a limit of znodes (the top levels
//! complete, then a part of the next), so a big tree costs a bounded number of requests.
//!
//! A comparison walks both members from the same root and compares every znode both
//! walks reached (its data, versions, zxids, children, owner); a znode counts as missing
//! on a member only where that member listed its parent's children. The `hash` digests
//! (every 128 zxids) say whether the whole trees agree at the latest zxid both listed.

use crate::zkclient::{decode_children, decode_data, Client, ServerError};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use zoolab_core::jute::proto::{OpCode, WireStat};

/// The most znodes one walk reads.
pub const TREE_LIMIT: usize = 500;
/// Requests a walk keeps in flight.
const PIPELINE: usize = 64;
/// Data longer than this is not read for the preview (its length is shown).
const DATA_READ_MAX: i32 = 4096;
/// Characters of data shown.
const DATA_PREVIEW: usize = 64;
/// Entries a comparison lists per kind of difference.
pub const LIST_LIMIT: usize = 40;

/// One znode as a member serves it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Znode {
    /// Its path.
    pub path: String,
    /// Its data as text, cut after 64 characters (`None`, JSON `null`: null data, as
    /// `create /x` without data makes; empty when longer than 4 KiB: see `bytes`).
    pub data: Option<String>,
    /// Its data's length in bytes.
    pub bytes: i32,
    /// How many children it has.
    pub children: i32,
    /// Whether a session owns it.
    pub ephemeral: bool,
    /// Its data version.
    pub version: i32,
    /// The zxid that last changed it, hexadecimal.
    pub mzxid: String,
    /// The full Stat (for comparisons).
    #[serde(skip)]
    pub stat: WireStat,
    /// Its children's names (for comparisons: a znode is missing where its parent's list
    /// lacks it).
    #[serde(skip)]
    pub names: Vec<String>,
}

/// A walk's result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Walk {
    /// The znodes read, in depth-first order (children sorted).
    pub nodes: Vec<Znode>,
    /// Whether the walk stopped at its limit with znodes left unread.
    pub truncated: bool,
    /// The highest zxid the member's replies carried (its last applied zxid then).
    pub zxid: i64,
    /// Whether the root itself was missing.
    pub no_root: bool,
}

fn child(path: &str, name: &str) -> String {
    if path == "/" {
        format!("/{name}")
    } else {
        format!("{path}/{name}")
    }
}

fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

/// Orders paths depth first with each znode's children sorted (`/a`, `/a/b`, `/a-b`).
pub fn dfs_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').filter(|s| !s.is_empty()).cmp(b.split('/').filter(|s| !s.is_empty()))
}

/// The preview of a znode's data.
pub fn preview(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    match text.char_indices().nth(DATA_PREVIEW) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// Walks `c`'s tree breadth first from `root`, reading at most `limit` znodes.
pub async fn walk(c: &Client, root: &str, limit: usize) -> Result<Walk> {
    let mut out = Walk::default();
    let mut queue = VecDeque::from([root.to_string()]);
    let mut found: Vec<Znode> = Vec::new();
    while !queue.is_empty() && found.len() < limit {
        let take = queue.len().min(PIPELINE).min(limit - found.len());
        let batch: Vec<String> = queue.drain(..take).collect();
        let mut pending = Vec::with_capacity(batch.len());
        for p in &batch {
            pending.push(c.send(OpCode::GetChildren2, |w| {
                w.string(p).bool(false);
            })?);
        }
        let mut listed = Vec::new();
        for (p, rx) in batch.into_iter().zip(pending) {
            let packet = c.wait(rx).await?;
            out.zxid = out.zxid.max(packet.header.zxid);
            match packet.ok() {
                Ok(body) => {
                    let (names, stat) = decode_children(&body)?;
                    let stat = stat.ok_or_else(|| anyhow::anyhow!("getChildren2 of {p} without a Stat"))?;
                    listed.push((p, names, stat));
                }
                // Deleted between its parent's listing and now.
                Err(ServerError(-101)) => {
                    if p == root {
                        out.no_root = true;
                    }
                }
                Err(ServerError(code)) => anyhow::bail!("reading {p}: error {code}"),
            }
        }
        let mut pending = Vec::new();
        for (p, _, stat) in &listed {
            pending.push(if stat.data_length <= DATA_READ_MAX {
                Some(c.send(OpCode::GetData, |w| {
                    w.string(p).bool(false);
                })?)
            } else {
                None
            });
        }
        for ((p, names, stat), rx) in listed.into_iter().zip(pending) {
            let (data, stat) = match rx {
                None => (Some(String::new()), stat),
                Some(rx) => match c.wait(rx).await?.ok() {
                    Ok(body) => {
                        let (data, s) = decode_data(&body)?;
                        (data.map(|d| preview(&d)), s)
                    }
                    Err(ServerError(-101)) => continue,
                    Err(ServerError(code)) => anyhow::bail!("reading {p}: error {code}"),
                },
            };
            queue.extend(names.iter().map(|n| child(&p, n)));
            found.push(Znode {
                data,
                bytes: stat.data_length,
                children: stat.num_children,
                ephemeral: stat.ephemeral_owner != 0,
                version: stat.version,
                mzxid: format!("0x{:x}", stat.mzxid),
                stat,
                names,
                path: p,
            });
        }
    }
    out.truncated = !queue.is_empty();
    found.sort_by(|a, b| dfs_order(&a.path, &b.path));
    out.nodes = found;
    Ok(out)
}

/// How one znode differs between two members.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Difference {
    /// The znode.
    pub path: String,
    /// What the first member has (the fields that differ).
    pub a: String,
    /// What the second member has.
    pub b: String,
}

/// Two members' trees compared.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Comparison {
    /// Znodes both walks read and compared.
    pub compared: usize,
    /// Znodes the first member has and the second does not (its parent's list lacks them).
    pub only_a: Vec<String>,
    /// The other way round.
    pub only_b: Vec<String>,
    /// Znodes both have, with different contents.
    pub differ: Vec<Difference>,
    /// Entries left out of the three lists (each holds at most [`LIST_LIMIT`]).
    pub more: usize,
    /// Whether either walk stopped at its limit.
    pub truncated: bool,
}

impl Comparison {
    /// Whether nothing differed.
    pub fn same(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty() && self.differ.is_empty() && self.more == 0
    }
}

fn describe(z: &Znode, fields: &[&str]) -> String {
    let s = &z.stat;
    fields
        .iter()
        .map(|f| match *f {
            "data" => match &z.data {
                None => "data null".to_string(),
                Some(d) => format!("data {d:?}"),
            },
            "version" => format!("version {}", s.version),
            "mzxid" => format!("mzxid 0x{:x}", s.mzxid),
            "children" => {
                format!("{} children (cversion {}, pzxid 0x{:x})", s.num_children, s.cversion, s.pzxid)
            }
            "bytes" => format!("{} bytes", s.data_length),
            "owner" => format!("owner 0x{:x}", s.ephemeral_owner),
            "acl" => format!("aclVersion {}", s.aversion),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares two walks from the same root.
pub fn compare(a: &Walk, b: &Walk) -> Comparison {
    fn index(w: &Walk) -> BTreeMap<&str, &Znode> {
        w.nodes.iter().map(|z| (z.path.as_str(), z)).collect()
    }
    let (ia, ib) = (index(a), index(b));
    let mut out = Comparison { truncated: a.truncated || b.truncated, ..Comparison::default() };
    let push = |list: &mut Vec<String>, more: &mut usize, p: &str| {
        if list.len() < LIST_LIMIT {
            list.push(p.to_string());
        } else {
            *more += 1;
        }
    };
    // Missing: a znode one walk read whose parent the other walk listed without it.
    let missing = |from: &BTreeMap<&str, &Znode>, other: &BTreeMap<&str, &Znode>| -> Vec<String> {
        let mut v = Vec::new();
        for p in from.keys() {
            let Some(par) = parent(p) else { continue };
            if let Some(o) = other.get(par) {
                let name = &p[p.rfind('/').map_or(0, |i| i + 1)..];
                if o.names.binary_search_by(|n| n.as_str().cmp(name)).is_err() {
                    v.push(p.to_string());
                }
            }
        }
        v
    };
    let only_a = missing(&ia, &ib);
    let only_b = missing(&ib, &ia);
    // A missing subtree lists only its top.
    let tops = |v: Vec<String>| -> Vec<String> {
        let set: BTreeSet<&str> = v.iter().map(String::as_str).collect();
        v.iter().filter(|p| parent(p).is_none_or(|q| !set.contains(q))).cloned().collect()
    };
    for p in tops(only_a) {
        push(&mut out.only_a, &mut out.more, &p);
    }
    for p in tops(only_b) {
        push(&mut out.only_b, &mut out.more, &p);
    }
    for (p, za) in &ia {
        let Some(zb) = ib.get(p) else { continue };
        out.compared += 1;
        let (sa, sb) = (&za.stat, &zb.stat);
        let mut fields = Vec::new();
        if za.data != zb.data {
            fields.push("data");
        }
        if sa.version != sb.version {
            fields.push("version");
        }
        if sa.mzxid != sb.mzxid {
            fields.push("mzxid");
        }
        if (sa.num_children, sa.cversion, sa.pzxid) != (sb.num_children, sb.cversion, sb.pzxid)
            || za.names != zb.names
        {
            fields.push("children");
        }
        if sa.data_length != sb.data_length && !fields.contains(&"data") {
            fields.push("bytes");
        }
        if sa.ephemeral_owner != sb.ephemeral_owner {
            fields.push("owner");
        }
        if sa.aversion != sb.aversion {
            fields.push("acl");
        }
        if !fields.is_empty() {
            if out.differ.len() < LIST_LIMIT {
                out.differ.push(Difference {
                    path: p.to_string(),
                    a: describe(za, &fields),
                    b: describe(zb, &fields),
                });
            } else {
                out.more += 1;
            }
        }
    }
    out
}

/// Reads the `hash` four-letter word's lines (`<zxid hex>: <digest>`).
pub fn parse_hash(text: &str) -> Vec<(u64, i64)> {
    text.lines()
        .filter_map(|l| {
            let (z, d) = l.split_once(':')?;
            Some((u64::from_str_radix(z.trim(), 16).ok()?, d.trim().parse().ok()?))
        })
        .collect()
}

/// What two members' digest histories say about their whole trees: equal or different
/// at the latest zxid both list, or nothing to compare yet.
/// (Zxid 0, the empty tree every member starts from, says nothing and is skipped.)
pub fn digest_verdict(a: &str, ha: &[(u64, i64)], b: &str, hb: &[(u64, i64)]) -> (Option<bool>, String) {
    let ha: Vec<(u64, i64)> = ha.iter().copied().filter(|(z, _)| *z != 0).collect();
    let hb: Vec<(u64, i64)> = hb.iter().copied().filter(|(z, _)| *z != 0).collect();
    let common =
        ha.iter().rev().find_map(|(z, d)| hb.iter().find(|(y, _)| y == z).map(|(_, e)| (*z, *d, *e)));
    match common {
        Some((z, da, db)) if da == db => (
            Some(true),
            format!("{a} and {b} have the same digest at zxid 0x{z:x} ({da}): the whole trees agreed there"),
        ),
        Some((z, da, db)) => (
            Some(false),
            format!("{a} and {b} DIVERGED: at zxid 0x{z:x} {a}'s digest is {da}, {b}'s is {db}"),
        ),
        None if ha.is_empty() || hb.is_empty() => (
            None,
            "no digest to compare yet (`hash` lists the tree's digest every 128 zxids; \
             its whitelist must allow it)"
                .into(),
        ),
        None => (None, format!("{a} and {b} list no zxid in common in `hash` yet")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(path: &str, data: &str, mzxid: i64, names: &[&str]) -> Znode {
        let stat = WireStat { mzxid, num_children: names.len() as i32, ..WireStat::default() };
        Znode {
            path: path.into(),
            data: Some(data.into()),
            bytes: data.len() as i32,
            children: names.len() as i32,
            ephemeral: false,
            version: 0,
            mzxid: format!("0x{mzxid:x}"),
            stat,
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn paths_sort_depth_first() {
        let mut v = vec!["/a-b", "/a/b", "/", "/a", "/b/c", "/b"];
        v.sort_by(|a, b| dfs_order(a, b));
        assert_eq!(v, ["/", "/a", "/a/b", "/a-b", "/b", "/b/c"]);
        assert_eq!((parent("/"), parent("/a"), parent("/a/b")), (None, Some("/"), Some("/a")));
    }

    #[test]
    fn comparisons_find_missing_and_different_znodes() {
        let a = Walk {
            nodes: vec![
                node("/", "", 1, &["x", "y"]),
                node("/x", "1", 5, &["deep"]),
                node("/x/deep", "", 5, &[]),
                node("/y", "old", 3, &[]),
            ],
            ..Walk::default()
        };
        let b = Walk {
            nodes: vec![node("/", "", 1, &["y", "z"]), node("/y", "new", 7, &[]), node("/z", "", 8, &[])],
            truncated: true,
            ..Walk::default()
        };
        let c = compare(&a, &b);
        assert_eq!(c.only_a, ["/x"], "a missing subtree lists its top");
        assert_eq!(c.only_b, ["/z"]);
        assert_eq!(c.differ.len(), 2, "{:?}", c.differ);
        let root = &c.differ[0];
        assert_eq!(root.path, "/");
        let y = &c.differ[1];
        assert_eq!(
            (y.path.as_str(), y.a.as_str(), y.b.as_str()),
            ("/y", "data \"old\", mzxid 0x3", "data \"new\", mzxid 0x7")
        );
        assert_eq!(c.compared, 2);
        assert!(c.truncated && !c.same());
        assert!(compare(&a, &a).same());
    }

    #[test]
    fn null_data_differs_from_empty_data() {
        let a = Walk { nodes: vec![node("/", "", 1, &["n"]), node("/n", "", 2, &[])], ..Walk::default() };
        let mut b = a.clone();
        b.nodes[1].data = None;
        let c = compare(&a, &b);
        assert_eq!(c.differ.len(), 1, "{c:?}");
        assert_eq!((c.differ[0].a.as_str(), c.differ[0].b.as_str()), ("data \"\"", "data null"));
        let json = serde_json::to_value(&b.nodes[1]).unwrap();
        assert!(json["data"].is_null(), "{json}");
        assert_eq!(serde_json::to_value(&a.nodes[1]).unwrap()["data"], "");
    }

    #[test]
    fn a_znode_the_other_walk_did_not_reach_is_not_missing() {
        // b listed /x among /'s children but stopped before reading it.
        let a = Walk { nodes: vec![node("/", "", 1, &["x"]), node("/x", "", 2, &[])], ..Walk::default() };
        let b = Walk { nodes: vec![node("/", "", 1, &["x"])], truncated: true, ..Walk::default() };
        let c = compare(&a, &b);
        assert!(c.same(), "{c:?}");
        assert_eq!(c.compared, 1);
    }

    #[test]
    fn digests_are_compared_at_the_latest_common_zxid() {
        let a = parse_hash("80: 11\n100: 22\n180: 33\n");
        let b = parse_hash("80: 11\n100: 22\n");
        assert_eq!(a, [(0x80, 11), (0x100, 22), (0x180, 33)]);
        let (same, text) = digest_verdict("s1", &a, "s2", &b);
        assert_eq!(same, Some(true));
        assert!(text.contains("0x100"), "{text}");
        let (same, text) = digest_verdict("s1", &a, "s2", &parse_hash("100: 23\n"));
        assert_eq!(same, Some(false));
        assert!(text.contains("DIVERGED"), "{text}");
        assert_eq!(digest_verdict("s1", &a, "s2", &[]).0, None);
        assert_eq!(digest_verdict("s1", &a, "s2", &parse_hash("200: 1")).0, None);
        assert_eq!(
            digest_verdict("s1", &parse_hash("0: 5"), "s2", &parse_hash("0: 5")).0,
            None,
            "zxid 0 says nothing"
        );
    }

    #[test]
    fn previews_are_cut() {
        assert!(preview(&[b'x'; 100]).ends_with('…'));
        assert_eq!(preview(b"short"), "short");
    }
}
