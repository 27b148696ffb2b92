//! Access control as ZooKeeper does it: ACL entries `(perms, scheme:id)`, the schemes
//! `world`, `auth`, `digest` and `ip`, a super user, and the per-session
//! authentication info they are checked against.
//!
//! Which node is checked for which permission (the same as ZooKeeper):
//! create → CREATE on the parent; delete → DELETE on the parent; setData → WRITE;
//! setACL → ADMIN; check (in multi) → READ; getData, getChildren, getAllChildrenNumber →
//! READ; getACL → READ or ADMIN (digest ids are masked as `user:x` without ADMIN);
//! exists, getEphemerals, sync → none.

use super::error::ZkError;
use super::java::string_hash as java_string_hash;
use crate::vecmap::VecMap;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A set of permissions (`ZooDefs.Perms`), a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Perms(pub i32);

impl Perms {
    /// Read data and list children.
    pub const READ: Perms = Perms(1);
    /// Set data.
    pub const WRITE: Perms = Perms(2);
    /// Create children.
    pub const CREATE: Perms = Perms(4);
    /// Delete children.
    pub const DELETE: Perms = Perms(8);
    /// Set the ACL.
    pub const ADMIN: Perms = Perms(16);
    /// Everything.
    pub const ALL: Perms = Perms(31);

    /// Whether any of `other`'s bits are here.
    pub fn intersects(self, other: Perms) -> bool {
        self.0 & other.0 != 0
    }

    /// Parses zkCli's letters (`"cdrwa"`, any order); `None` on another letter.
    pub fn from_letters(s: &str) -> Option<Perms> {
        let mut p = 0;
        for c in s.chars() {
            p |= match c {
                'r' => 1,
                'w' => 2,
                'c' => 4,
                'd' => 8,
                'a' => 16,
                _ => return None,
            };
        }
        Some(Perms(p))
    }

    /// zkCli's letters, in its order `c d r w a`.
    pub fn letters(self) -> String {
        let mut s = String::new();
        for (bit, c) in [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')] {
            if self.0 & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

/// An identity: `scheme:id` (e.g. `world:anyone`, `digest:bob:hash=`, `ip:10.0.0.0/8`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    /// The scheme.
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

impl Id {
    /// Builds an id.
    pub fn new(scheme: &str, id: &str) -> Id {
        Id { scheme: scheme.to_owned(), id: id.to_owned() }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme, self.id)
    }
}

/// One ACL entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    /// What it allows.
    pub perms: Perms,
    /// To whom.
    pub id: Id,
}

impl Acl {
    /// Builds an entry.
    pub fn new(perms: Perms, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id::new(scheme, id) }
    }

    /// `world:anyone` with every permission (`Ids.OPEN_ACL_UNSAFE`).
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, "world", "anyone")]
    }

    /// `world:anyone` read-only (`Ids.READ_ACL_UNSAFE`).
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::READ, "world", "anyone")]
    }

    /// `auth:` with every permission (`Ids.CREATOR_ALL_ACL`).
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, "auth", "")]
    }
}

/// `user:base64(sha1("user:password"))`: the id a digest ACL names
/// (`DigestAuthenticationProvider.generateDigest`).
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = sha1_smol::Sha1::from(user_password.as_bytes()).digest().bytes();
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// Java's `String.split(sep)`: trailing empty strings dropped.
fn java_split_count(s: &str, sep: char) -> usize {
    let parts: Vec<&str> = s.split(sep).collect();
    let trailing_empty = parts.iter().rev().take_while(|p| p.is_empty()).count();
    (parts.len() - trailing_empty).max(if s.is_empty() { 1 } else { 0 })
}

fn ipv4(addr: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        let v: i32 = p.parse().ok()?;
        b[i] = u8::try_from(v).ok()?;
    }
    Some(b)
}

fn ip_bits(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let a = ipv4(addr)?;
    let bits = match bits {
        None => 32,
        Some(b) => {
            let b: i32 = b.parse().ok()?;
            if !(0..=32).contains(&b) {
                return None;
            }
            b as u32
        }
    };
    Some((a, bits))
}

fn mask(a: [u8; 4], bits: u32) -> u32 {
    let v = u32::from_be_bytes(a);
    if bits == 0 {
        0
    } else {
        v & (u32::MAX << (32 - bits))
    }
}

/// Whether an `ip` ACL expression (`a.b.c.d` or `a.b.c.d/bits`) matches an address
/// (`IPAuthenticationProvider.matches`; IPv4 only, as in ZooKeeper).
pub fn ip_matches(addr: &str, expr: &str) -> bool {
    match (ip_bits(expr), ipv4(addr)) {
        (Some((acl, bits)), Some(remote)) => mask(acl, bits) == mask(remote, bits),
        _ => false,
    }
}

/// Whether ZooKeeper's registry would accept this id for this scheme.
fn valid_id(id: &Id) -> bool {
    match id.scheme.as_str() {
        "digest" => java_split_count(&id.id, ':') == 2,
        "ip" => ip_bits(&id.id).is_some(),
        _ => false,
    }
}

/// The jute-generated `Id.hashCode`.
fn java_id_hash(id: &Id) -> i32 {
    let r = 17i32.wrapping_mul(37).wrapping_add(java_string_hash(&id.scheme));
    r.wrapping_mul(37).wrapping_add(java_string_hash(&id.id))
}

/// What a session has authenticated as (ZooKeeper's per-connection `authInfo`), in the
/// order added. Not replicated: the leader receives it with each request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthInfo {
    /// The ids, in the order they were added, without duplicates.
    pub ids: Vec<Id>,
}

impl AuthInfo {
    /// A connection from `ip` (ZooKeeper adds `ip:<address>` to every connection).
    pub fn from_ip(ip: &str) -> AuthInfo {
        AuthInfo { ids: vec![Id::new("ip", ip)] }
    }

    fn push(&mut self, id: Id) {
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }

    /// `addAuth(scheme, auth)`: `digest` adds `digest:user:hash` (and `super:` when it
    /// matches `super_digest`, a `user:hash` as in `zookeeper.DigestAuthenticationProvider.superDigest`);
    /// `ip` adds the connection's own address. Other schemes: `AUTHFAILED`.
    pub fn add(&mut self, scheme: &str, auth: &[u8], super_digest: Option<&str>) -> Result<(), ZkError> {
        match scheme {
            "digest" => {
                let digest = digest_id(&String::from_utf8_lossy(auth));
                if super_digest == Some(digest.as_str()) {
                    self.push(Id::new("super", ""));
                }
                self.push(Id::new("digest", &digest));
                Ok(())
            }
            "ip" => Ok(()),
            _ => Err(ZkError::AuthFailed),
        }
    }

    /// The ids in the order ZooKeeper's server lists them: its per-connection set is a
    /// `ConcurrentHashMap` key set, iterated by bin (`spread(hashCode) & (size - 1)`),
    /// in insertion order within a bin. This is the order in which an `auth` ACL entry
    /// expands.
    pub fn server_order(&self) -> Vec<&Id> {
        let mut bins = 16usize;
        while self.ids.len() > bins - bins / 4 {
            bins *= 2;
        }
        let mut ids: Vec<(usize, usize, &Id)> = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let h = java_id_hash(id) as u32;
                ((((h ^ (h >> 16)) & 0x7fff_ffff) as usize) & (bins - 1), i, id)
            })
            .collect();
        ids.sort_by_key(|&(bin, i, _)| (bin, i));
        ids.into_iter().map(|(_, _, id)| id).collect()
    }

    /// Whether this is the super user.
    pub fn is_super(&self) -> bool {
        self.ids.iter().any(|i| i.scheme == "super")
    }
}

/// `checkACL`: passes if the ACL is empty, the session is super, or an entry with one of
/// `perm`'s bits matches one of the session's ids. Otherwise `NOAUTH`.
pub fn check(acl: &[Acl], perm: Perms, auth: &AuthInfo) -> Result<(), ZkError> {
    if acl.is_empty() || auth.is_super() {
        return Ok(());
    }
    for a in acl {
        if !a.perms.intersects(perm) {
            continue;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return Ok(());
        }
        let matched = auth.ids.iter().any(|mine| {
            mine.scheme == a.id.scheme
                && match a.id.scheme.as_str() {
                    "digest" => mine.id == a.id.id,
                    "ip" => ip_matches(&mine.id, &a.id.id),
                    _ => false,
                }
        });
        if matched {
            return Ok(());
        }
    }
    Err(ZkError::NoAuth)
}

/// `fixupACL`: drops duplicates, refuses an empty list, expands `auth` to the session's
/// authenticated ids (`digest` ones; `INVALIDACL` if none), and refuses unknown schemes
/// and malformed ids with `INVALIDACL`.
pub fn fixup(acls: &[Acl], auth: &AuthInfo) -> Result<Vec<Acl>, ZkError> {
    let mut unique: Vec<&Acl> = Vec::new();
    for a in acls {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ZkError::InvalidAcl);
    }
    let mut out = Vec::new();
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut any = false;
            for mine in auth.server_order() {
                // Only providers that authenticate (digest) count; ip does not.
                if mine.scheme == "digest" {
                    any = true;
                    out.push(Acl { perms: a.perms, id: mine.clone() });
                }
            }
            if !any {
                return Err(ZkError::InvalidAcl);
            }
        } else if valid_id(&a.id) {
            out.push(a.clone());
        } else {
            return Err(ZkError::InvalidAcl);
        }
    }
    Ok(out)
}

/// What `getACL` shows a session without ADMIN: digest ids as `user:x`.
pub fn masked_for_reader(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("");
                Acl::new(a.perms, "digest", &format!("{user}:x"))
            } else {
                a.clone()
            }
        })
        .collect()
}

/// The tree's ACL table (ZooKeeper's `ReferenceCountedACLCache`): nodes hold an index;
/// equal lists share one entry; an entry goes when its last node does. Index
/// [`AclTable::OPEN`] (`-1` in ZooKeeper) is `world:anyone:cdrwa` and never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclTable {
    pub(crate) by_index: VecMap<u64, (Arc<[Acl]>, u64)>,
    pub(crate) by_list: VecMap<Arc<[Acl]>, u64>,
    pub(crate) last_index: u64,
    open: Arc<[Acl]>,
}

impl Default for AclTable {
    fn default() -> Self {
        AclTable {
            by_index: VecMap::new(),
            by_list: VecMap::new(),
            last_index: 0,
            open: Acl::open_unsafe().into(),
        }
    }
}

impl AclTable {
    /// The built-in open ACL's index (ZooKeeper's `-1`).
    pub const OPEN: u64 = u64::MAX;

    /// The index for a list, adding a reference.
    pub fn intern(&mut self, acl: &[Acl]) -> u64 {
        if let Some(&i) = self.by_list.get(acl) {
            self.by_index.get_mut(&i).expect("table is consistent").1 += 1;
            return i;
        }
        self.last_index += 1;
        let i = self.last_index;
        let list: Arc<[Acl]> = acl.into();
        self.by_list.insert(list.clone(), i);
        self.by_index.insert(i, (list, 1));
        i
    }

    /// Drops a reference.
    pub fn release(&mut self, index: u64) {
        if index == AclTable::OPEN {
            return;
        }
        if let Some(entry) = self.by_index.get_mut(&index) {
            entry.1 -= 1;
            if entry.1 == 0 {
                let (list, _) = self.by_index.remove(&index).expect("present");
                self.by_list.remove(&*list);
            }
        }
    }

    /// The list behind an index (shared, cheap to clone).
    pub fn get(&self, index: u64) -> Arc<[Acl]> {
        if index == AclTable::OPEN {
            return self.open.clone();
        }
        self.by_index.get(&index).map(|e| e.0.clone()).unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// How many distinct lists are stored.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// Whether none is stored.
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_user_colon_base64_sha1_of_user_colon_password() {
        // The example in ZooKeeper's documentation (zookeeperProgrammers, "digest").
        assert_eq!(digest_id("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn world_anyone_passes_and_digest_must_match() {
        let open = Acl::open_unsafe();
        assert_eq!(check(&open, Perms::WRITE, &AuthInfo::default()), Ok(()));
        let bob = vec![Acl::new(Perms::ALL, "digest", &digest_id("bob:pw"))];
        let mut auth = AuthInfo::from_ip("127.0.0.1");
        assert_eq!(check(&bob, Perms::READ, &auth), Err(ZkError::NoAuth));
        auth.add("digest", b"bob:pw", None).unwrap();
        assert_eq!(check(&bob, Perms::READ, &auth), Ok(()));
    }

    #[test]
    fn check_acl_needs_one_of_the_requested_bits() {
        let ro = Acl::read_unsafe();
        assert_eq!(check(&ro, Perms::WRITE, &AuthInfo::default()), Err(ZkError::NoAuth));
        assert_eq!(check(&ro, Perms::READ | Perms::ADMIN, &AuthInfo::default()), Ok(()));
        assert_eq!(check(&[], Perms::WRITE, &AuthInfo::default()), Ok(()));
    }

    #[test]
    fn super_digest_grants_everything() {
        let mut auth = AuthInfo::default();
        let sup = digest_id("admin:secret");
        auth.add("digest", b"admin:secret", Some(&sup)).unwrap();
        assert!(auth.is_super());
        assert_eq!(check(&[Acl::new(Perms::READ, "digest", "x:y")], Perms::ADMIN, &auth), Ok(()));
    }

    #[test]
    fn ip_acls_match_by_prefix() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_matches("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_matches("11.1.2.3", "10.0.0.0/0"));
        assert!(!ip_matches("10.1.2.3", "10.0.0.0/33"));
        let acl = vec![Acl::new(Perms::ALL, "ip", "127.0.0.1")];
        assert_eq!(check(&acl, Perms::READ, &AuthInfo::from_ip("127.0.0.1")), Ok(()));
    }

    #[test]
    fn fixup_acl_expands_auth_and_rejects_the_invalid() {
        let mut auth = AuthInfo::from_ip("127.0.0.1");
        assert_eq!(fixup(&Acl::creator_all(), &auth), Err(ZkError::InvalidAcl));
        auth.add("digest", b"u:p", None).unwrap();
        assert_eq!(
            fixup(&Acl::creator_all(), &auth),
            Ok(vec![Acl::new(Perms::ALL, "digest", &digest_id("u:p"))])
        );
        assert_eq!(fixup(&[], &auth), Err(ZkError::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "world", "bob")], &auth), Err(ZkError::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "digest", "nohash")], &auth), Err(ZkError::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "digest", "a:b:c")], &auth), Err(ZkError::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(Perms::ALL, "ip", "1.2.3")], &auth), Err(ZkError::InvalidAcl));
        let twice = vec![Acl::new(Perms::READ, "world", "anyone"), Acl::new(Perms::READ, "world", "anyone")];
        assert_eq!(fixup(&twice, &auth).unwrap().len(), 1);
    }

    #[test]
    fn auth_acl_expands_in_zookeepers_hash_set_order() {
        // Orders a real ZooKeeper 3.8.0 returned from getACL after these add_auth calls.
        let cases: [(&[&str], &[&str]); 3] = [
            (&["alice:pw", "bob:pw2"], &["bob", "alice"]),
            (&["bob:pw2", "alice:pw"], &["bob", "alice"]),
            (&["u1:a", "u2:b", "u3:c", "zed:q", "amy:w"], &["u3", "zed", "amy", "u1", "u2"]),
        ];
        for (added, want) in cases {
            let mut auth = AuthInfo::from_ip("127.0.0.1");
            for a in added {
                auth.add("digest", a.as_bytes(), None).unwrap();
            }
            let acl = fixup(&Acl::creator_all(), &auth).unwrap();
            let users: Vec<&str> = acl.iter().map(|a| a.id.id.split(':').next().unwrap()).collect();
            assert_eq!(users, want, "after {added:?}");
        }
    }

    #[test]
    fn perms_letters_round_trip() {
        assert_eq!(Perms::from_letters("cdrwa"), Some(Perms::ALL));
        assert_eq!(Perms::ALL.letters(), "cdrwa");
        assert_eq!(Perms::from_letters("rw").unwrap().letters(), "rw");
        assert_eq!(Perms::from_letters("x"), None);
    }

    #[test]
    fn acl_table_shares_and_frees_entries() {
        let mut t = AclTable::default();
        let a = t.intern(&Acl::read_unsafe());
        let b = t.intern(&Acl::read_unsafe());
        assert_eq!(a, b);
        t.release(a);
        assert_eq!(t.len(), 1);
        t.release(b);
        assert!(t.is_empty());
        assert_eq!(&*t.get(AclTable::OPEN), Acl::open_unsafe().as_slice());
    }
}
