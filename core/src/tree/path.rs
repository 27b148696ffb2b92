//! Znode paths, validated as ZooKeeper's `PathUtils.validatePath` validates them.
//!
//! A path is absolute (`/` first), has no empty component (`//`), no trailing `/`
//! (except the root itself), no `.` or `..` component, and no forbidden character:
//! NUL, the controls U+0001–U+001F and U+007F–U+009F, U+D800–U+F8FF and
//! U+FFF0–U+FFFF. Java sees a path as UTF-16, so every character outside the Basic
//! Multilingual Plane (a surrogate pair there) is forbidden too.

use super::error::ZkError;

/// The root of the tree.
pub const ROOT: &str = "/";
/// ZooKeeper's own subtree.
pub const ZOOKEEPER: &str = "/zookeeper";
/// Where quotas live.
pub const QUOTA: &str = "/zookeeper/quota";
/// The dynamic configuration node (world-readable only).
pub const CONFIG: &str = "/zookeeper/config";
/// The prefix the digest leaves out (ZooKeeper's `ZOOKEEPER_NODE_SUBTREE`).
pub const ZOOKEEPER_SUBTREE: &str = "/zookeeper/";

fn forbidden(c: char) -> bool {
    let c = c as u32;
    (0x01..=0x1f).contains(&c)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || (0xfff0..=0xffff).contains(&c)
        || c > 0xffff
}

/// Why a path is invalid, in `PathUtils`'s words.
pub fn invalid_reason(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("Path length must be > 0");
    }
    if !path.starts_with('/') {
        return Some("Path must start with / character");
    }
    if path.len() == 1 {
        return None;
    }
    if path.ends_with('/') {
        return Some("Path must not end with / character");
    }
    for component in path[1..].split('/') {
        if component.is_empty() {
            return Some("empty node name specified");
        }
        if component == "." || component == ".." {
            return Some("relative paths not allowed");
        }
        for c in component.chars() {
            if c == '\0' {
                return Some("null character not allowed");
            }
            if forbidden(c) {
                return Some("invalid character");
            }
        }
    }
    None
}

/// Validates a path; `BADARGUMENTS` if ZooKeeper would refuse it.
pub fn validate(path: &str) -> Result<(), ZkError> {
    match invalid_reason(path) {
        None => Ok(()),
        Some(_) => Err(ZkError::BadArguments),
    }
}

/// The parent of a path as ZooKeeper splits it (at the last `/`), with the root's
/// alias `""` written `/`. `None` if the path has no `/` or holds a NUL (ZooKeeper
/// answers `BADARGUMENTS` before looking further).
pub fn parent(path: &str) -> Option<&str> {
    if path.contains('\0') {
        return None;
    }
    let slash = path.rfind('/')?;
    Some(if slash == 0 { ROOT } else { &path[..slash] })
}

/// The last component of a path (`""` for the root).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, name: &str) -> String {
    if parent == ROOT {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The nodes ZooKeeper owns and refuses to delete: `/`, `/zookeeper`,
/// `/zookeeper/quota`, `/zookeeper/config` (`DataTree.isSpecialPath`).
pub fn is_special(path: &str) -> bool {
    matches!(path, ROOT | ZOOKEEPER | QUOTA | CONFIG)
}

/// The path and every ancestor up to the root, nearest first: `/a/b`, `/a`, `/`.
pub fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current == ROOT { None } else { parent(current) };
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_utils_accepts_ordinary_paths() {
        for p in ["/", "/a", "/a/b", "/a.b", "/..a", "/a..", "/.a/b.", "/zookeeper", "/é", "/a b"] {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn path_utils_rejects_what_zookeeper_rejects() {
        for p in [
            "",
            "a",
            "a/b",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a\0b",
            "/\u{1}",
            "/\u{7f}",
            "/\u{9f}",
            "/\u{e000}",
            "/\u{f8ff}",
            "/\u{fff0}",
            "/\u{1f600}",
        ] {
            assert_eq!(validate(p), Err(ZkError::BadArguments), "{p:?}");
        }
    }

    #[test]
    fn parent_splits_at_the_last_slash_with_root_alias() {
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a/"), Some("/a"));
        assert_eq!(parent("a"), None);
        assert_eq!(parent("/a\0"), None);
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(self_and_ancestors("/a/b").collect::<Vec<_>>(), vec!["/a/b", "/a", "/"]);
    }

    #[test]
    fn special_paths_are_the_four_reserved_nodes() {
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            assert!(is_special(p));
        }
        assert!(!is_special("/zookeeper/x"));
    }
}
