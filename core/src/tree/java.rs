//! The iteration orders of Java's hash sets, where ZooKeeper lets them show: the
//! children a getChildren lists, the ephemerals a closeSession deletes, the ids an
//! `auth` ACL expands to. Emulated so that zoolab answers in ZooKeeper's order; each is
//! pinned by a test with orders a real ZooKeeper 3.8.0 produced.

/// Java's `String.hashCode` (over UTF-16 code units).
pub(crate) fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `HashMap.hash`: the bits that pick a bucket.
fn spread(h: i32) -> usize {
    let h = h as u32;
    (h ^ (h >> 16)) as usize
}

/// The capacity of a `HashMap` that started at `initial` buckets and once held `max`
/// entries (it doubles when its size exceeds three quarters of its buckets).
fn capacity(initial: usize, max: usize) -> usize {
    let mut cap = initial.max(1);
    while max > cap - cap / 4 {
        cap *= 2;
    }
    cap
}

/// The order a `java.util.HashSet<String>` with `buckets` buckets iterates strings
/// given in insertion order: by bucket, insertion order within a bucket.
pub(crate) fn hash_set_order(items: Vec<String>, buckets: usize) -> Vec<String> {
    let mut keyed: Vec<(usize, usize, String)> =
        items.into_iter().enumerate().map(|(i, s)| (spread(string_hash(&s)) & (buckets - 1), i, s)).collect();
    keyed.sort_by_key(|k| (k.0, k.1));
    keyed.into_iter().map(|k| k.2).collect()
}

/// A `HashSet<String>` created with `initial` buckets that once held `max` entries
/// and now holds `items` (in insertion order): its iteration order.
pub(crate) fn grown_set_order(items: Vec<String>, initial: usize, max: usize) -> Vec<String> {
    let max = max.max(items.len());
    hash_set_order(items, capacity(initial, max))
}

/// The order of `(HashSet<String>) set.clone()` for a set created with 16 buckets
/// (ZooKeeper's per-session ephemerals, copied by `getEphemerals`): the copy is sized
/// for its contents (`tableSizeFor(n / 0.75 + 1)`) and filled in the source's order.
pub(crate) fn cloned_set_order(items: Vec<String>) -> Vec<String> {
    let n = items.len();
    let source = grown_set_order(items, 16, n);
    let copy_buckets = ((n as f32 / 0.75 + 1.0) as usize).max(1).next_power_of_two();
    hash_set_order(source, copy_buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_matches_java() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("/a"), 47 * 31 + 97);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE, a well-known Java fact.
        assert_eq!(string_hash("polygenelubricants"), i32::MIN);
    }

    fn own(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn children_come_in_zookeepers_hash_set_order() {
        // getChildren orders from a real ZooKeeper 3.8.0 (children sets start at 8 buckets).
        let c: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let want = own(&[
            "c11", "c10", "c13", "c12", "c15", "c14", "c17", "c16", "c19", "c18", "c0", "c1", "c2", "c3",
            "c4", "c5", "c6", "c7", "c8", "c9",
        ]);
        assert_eq!(grown_set_order(c, 8, 20), want);
        let q = own(&["zeta", "alpha", "m-1", "m-2", "b", "lock-0000000001", "x"]);
        assert_eq!(
            grown_set_order(q, 8, 7),
            own(&["zeta", "m-1", "b", "m-2", "alpha", "lock-0000000001", "x"])
        );
        // 10 created, the even ones deleted: the set kept its 16 buckets.
        let r = own(&["n1", "n3", "n5", "n7", "n9"]);
        assert_eq!(grown_set_order(r, 8, 10), own(&["n1", "n3", "n5", "n7", "n9"]));
        let root = own(&["zookeeper", "p", "q", "r"]);
        assert_eq!(grown_set_order(root, 8, 4), own(&["p", "q", "r", "zookeeper"]));
    }

    #[test]
    fn close_session_lists_ephemerals_in_java_hash_set_order() {
        // Deletion orders a real ZooKeeper 3.8.0 reported (NODE_DELETED events) when a
        // session that had created these ephemerals, in this order, closed.
        let e: Vec<String> = (0..10).map(|i| format!("/e{i}")).collect();
        assert_eq!(
            cloned_set_order(e),
            own(&["/e6", "/e7", "/e8", "/e9", "/e0", "/e1", "/e2", "/e3", "/e4", "/e5"])
        );
        let mixed = own(&["/p/x", "/p/a", "/zz", "/b", "/p/q-1"]);
        assert_eq!(cloned_set_order(mixed), own(&["/p/q-1", "/b", "/p/a", "/p/x", "/zz"]));
        let k: Vec<String> = (0..14).map(|i| format!("/k{i}")).collect();
        let want = own(&[
            "/k13", "/k11", "/k12", "/k10", "/k0", "/k1", "/k2", "/k3", "/k4", "/k5", "/k6", "/k7", "/k8",
            "/k9",
        ]);
        assert_eq!(cloned_set_order(k), want);
    }

    #[test]
    fn container_candidates_in_zookeepers_order() {
        // ContainerManager.getCandidates: the containers set (a ConcurrentHashMap key set,
        // 16 bins) copied into a HashSet; NODE_DELETED order seen on a real 3.8.0.
        let created =
            own(&["/c0", "/c1", "/c2", "/c3", "/c4", "/c5", "/c6", "/c7", "/c8", "/c9", "/box", "/a/b"]);
        let n = created.len();
        let chm = grown_set_order(created, 16, n);
        let want =
            own(&["/c4", "/c5", "/c6", "/c7", "/a/b", "/c8", "/c9", "/box", "/c0", "/c1", "/c2", "/c3"]);
        assert_eq!(grown_set_order(chm, 16, n), want);
    }
}
