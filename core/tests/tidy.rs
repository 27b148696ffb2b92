//! House rules of `zoolab-core`, checked on its source text.
//!
//! The core is sans-IO and deterministic (see ARCHITECTURE.md): it must not reach for a
//! clock, a socket, a runtime, the browser, an unseeded random source or stdout.
//! Same scenario + same seed must give a byte-identical trace on every platform.

use std::fs;
use std::path::{Path, PathBuf};

/// (pattern, why it is forbidden)
const FORBIDDEN: &[(&str, &str)] = &[
    ("tokio", "the core never runs an async runtime; drivers do"),
    ("web_sys", "the core never touches the browser; zoolab-web does"),
    ("js_sys", "the core never touches the browser; zoolab-web does"),
    ("std::time::Instant", "time is an input, never read from a clock"),
    ("Instant::now", "time is an input, never read from a clock"),
    ("SystemTime", "time is an input, never read from a clock"),
    ("thread_rng", "randomness comes from the seeded simulator PRNG only"),
    ("OsRng", "randomness comes from the seeded simulator PRNG only"),
    ("from_entropy", "randomness comes from the seeded simulator PRNG only"),
    ("getrandom", "randomness comes from the seeded simulator PRNG only"),
    ("rand::random", "randomness comes from the seeded simulator PRNG only"),
    ("println!", "the core returns traces; drivers print them"),
    ("eprintln!", "the core returns traces; drivers print them"),
    ("std::net", "the core never opens sockets"),
    ("std::thread", "the core is single-threaded and stepped by its driver"),
    ("std::fs", "the core never touches files; persistence is an output"),
    ("std::collections::HashMap", "iteration order must not depend on a hash seed; use BTreeMap"),
    ("std::collections::HashSet", "iteration order must not depend on a hash seed; use BTreeSet"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Finds forbidden patterns in code lines (comments are allowed to name them).
fn violations(source: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for &(pattern, why) in FORBIDDEN {
            if code.contains(pattern) {
                found.push((n + 1, pattern, why));
            }
        }
    }
    found
}

#[test]
fn core_is_sans_io_and_deterministic() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() >= 2, "found the core's sources");
    let mut report = String::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable source");
        for (line, pattern, why) in violations(&text) {
            report.push_str(&format!("{}:{line}: `{pattern}`: {why}\n", file.display()));
        }
    }
    assert!(report.is_empty(), "house rules broken in core/src:\n{report}");
}

#[test]
fn core_manifest_has_no_io_dependencies() {
    let manifest = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    for dep in ["tokio", "web-sys", "js-sys", "getrandom", "mio"] {
        assert!(
            !manifest.lines().any(|l| l.trim_start().starts_with(dep)),
            "core/Cargo.toml depends on {dep}"
        );
    }
}

#[test]
fn the_tidy_check_catches_what_it_forbids() {
    // The check must be able to fail: feed it each forbidden pattern.
    for &(pattern, _) in FORBIDDEN {
        let line = format!("let x = {pattern};");
        assert!(!violations(&line).is_empty(), "{pattern} slipped through");
    }
    assert!(violations("// println! in a comment is fine").is_empty());
}
