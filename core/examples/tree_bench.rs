//! Benchmark of the data tree (not a test): applies per second and heap bytes per
//! znode for 1M znodes of 100 bytes, plus snapshot size and speed.
//!
//! ```text
//! cargo run --release -p zoolab-core --example tree_bench [-- <znodes>]
//! ```
//! Nodes are `/bench/p<i / 1000>/n<i % 1000>` (1000 children per parent), created by
//! one session with the open ACL. "apply" is `DataTree::apply` of already prepared
//! transactions (what a follower does); "prepare+apply" is the leader's path too.
//! Heap bytes are counted by a wrapping global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;
use zoolab_core::ids::{SessionId, Zxid};
use zoolab_core::tree::{
    snapshot, Acl, AuthInfo, Create, CreateMode, DataTree, Origin, Preparer, TreeConfig, WriteRequest,
};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// This process's CPU time (user + system) in seconds, from /proc (Linux; 0 elsewhere):
/// on a shared machine it measures the work, not the wait for a core.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let n: usize =
        std::env::args().nth(1).map(|a| a.parse().expect("a number of znodes")).unwrap_or(1_000_000);
    let start_heap = LIVE.load(Ordering::Relaxed);
    let session = SessionId(0x100);
    let auth = AuthInfo::default();
    let mut prep = Preparer::new(TreeConfig::default());
    let mut tree = DataTree::new();
    let mut zxid = 0u64;
    let mut next = |tree: &DataTree, prep: &mut Preparer, req: WriteRequest| {
        zxid += 1;
        prep.prepare(tree, &req, &Origin { session, auth: &auth, zxid: Zxid(zxid), time: zxid as i64 })
    };
    let create = |path: String| {
        WriteRequest::Create(Create {
            path,
            data: vec![b'x'; 100].into(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
        })
    };

    // Setup: the session, /bench and the parents.
    let mut setup = vec![WriteRequest::CreateSession { timeout_ms: 10000 }, create("/bench".into())];
    setup.extend((0..n.div_ceil(1000)).map(|p| create(format!("/bench/p{p}"))));
    for req in setup {
        let t = next(&tree, &mut prep, req);
        tree.apply(&t);
        prep.committed(t.zxid);
    }

    // Leader path: prepare and apply each create in turn.
    let half = n / 2;
    let (t0, c0) = (Instant::now(), cpu_secs());
    for i in 0..half {
        let t = next(&tree, &mut prep, create(format!("/bench/p{}/n{}", i / 1000, i % 1000)));
        tree.apply(&t);
        prep.committed(t.zxid);
    }
    let lead_secs = t0.elapsed().as_secs_f64();
    let lead_cpu = cpu_secs() - c0;

    // Follower path: apply transactions prepared beforehand (prepared against a copy).
    let mut shadow = tree.clone();
    let txns: Vec<_> = (half..n)
        .map(|i| {
            let t = next(&shadow, &mut prep, create(format!("/bench/p{}/n{}", i / 1000, i % 1000)));
            shadow.apply(&t);
            prep.committed(t.zxid);
            t
        })
        .collect();
    drop(shadow);
    let (t0, c0) = (Instant::now(), cpu_secs());
    for t in &txns {
        tree.apply(t);
    }
    let apply_secs = t0.elapsed().as_secs_f64();
    let apply_cpu = cpu_secs() - c0;
    drop(txns);
    assert_eq!(tree.digest(), tree.recompute_digest());
    let applied_heap = LIVE.load(Ordering::Relaxed) - start_heap;

    // Heap per znode: build a fresh tree of n znodes from the snapshot and count.
    let t0 = Instant::now();
    let bytes = snapshot::encode(&tree);
    let encode_secs = t0.elapsed().as_secs_f64();
    drop(tree);
    let before = LIVE.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let restored = snapshot::decode(&bytes).expect("decodes");
    let decode_secs = t0.elapsed().as_secs_f64();
    let heap = LIVE.load(Ordering::Relaxed) - before;
    let znodes = restored.node_count();

    println!("znodes in tree:            {znodes} ({n} of 100 bytes)");
    let rate = |n: usize, secs: f64| if secs > 0.0 { n as f64 / secs } else { f64::NAN };
    println!(
        "prepare+apply (leader):    {:.0} creates/s wall, {:.0} per CPU-second ({half} in {lead_secs:.2} s)",
        rate(half, lead_secs),
        rate(half, lead_cpu)
    );
    println!(
        "apply (follower):          {:.0} applies/s wall, {:.0} per CPU-second ({} in {apply_secs:.2} s)",
        rate(n - half, apply_secs),
        rate(n - half, apply_cpu),
        n - half
    );
    let per = |h: isize| (h as f64 / znodes as f64, h as f64 / 1048576.0);
    let (a, am) = per(applied_heap);
    let (r, rm) = per(heap);
    println!("heap per znode, applied:   {a:.0} bytes ({am:.1} MiB total, tree built by applies)");
    println!("heap per znode, restored:  {r:.0} bytes ({rm:.1} MiB total, tree decoded from a snapshot)");
    println!(
        "snapshot per znode:        {:.1} bytes ({:.1} MiB)",
        bytes.len() as f64 / znodes as f64,
        bytes.len() as f64 / 1048576.0
    );
    println!("snapshot encode / decode:  {encode_secs:.2} s / {decode_secs:.2} s");
    println!("digest:                    {:#018x}", restored.digest());
}
