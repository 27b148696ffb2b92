//! The built-in scenarios (`scenarios/*.zk`) and exercises (`exercises/*.toml`) in the
//! page.
//!
//! Their names, and the exercises' titles and levels (the exercise list), are compiled in
//! ([`SCENARIOS`], [`EXERCISES`]; a test keeps them equal to the core's libraries). Their
//! texts are not: in the page they are files served beside it (`scripts/build-web.sh`
//! copies them to `www/pkg/scenarios/` and `www/pkg/exercises/`), fetched when one is
//! opened ([`load`], which `Source::prepare` calls before the model opens it), and kept
//! for the page's life. That keeps about 16 KB gzipped (60 KB raw) out of the bundle.
//!
//! Natively (the model's tests, the server's and the e2e tests' use of this crate) and in
//! the wasm tests, [`text`] reads the core's compiled-in texts and [`load`] does nothing,
//! so everything there stays synchronous.

/// What kind of built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A built-in scenario (`scenarios/NAME.zk`).
    Scenario,
    /// A classroom exercise (`exercises/NAME.toml`).
    Exercise,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario",
            Kind::Exercise => "exercise",
        }
    }
}

/// The built-in scenarios' names, in the core's order (`scenario::library::LIBRARY`).
pub const SCENARIOS: [&str; 26] = [
    "commit-without-quorum-loses-a-write",
    "ephemeral-removed-on-expiry",
    "follower-far-behind-gets-snap",
    "leader-crash-during-broadcast",
    "leader-gc-pause",
    "lossy-network-converges",
    "lost-quorum-stale-reads",
    "lost-reply-during-leader-change",
    "migrate-copy-and-cut-over",
    "migrate-observer-join",
    "migrate-rollback-after-freeze",
    "migrate-target-leader-crash",
    "minority-cannot-commit",
    "observer-reads-lag",
    "one-way-partition",
    "reconfig-3-to-5",
    "reconfig-grow-and-shrink",
    "reconfig-leader-removes-itself",
    "reconfig-refused-without-quorum",
    "reconnect-to-behind-server-refused",
    "sequential-names-across-leader-change",
    "session-moves-late-write-refused",
    "slow-link-follower-lags",
    "stale-read-then-sync",
    "trunc-uncommitted-proposal",
    "watch-fires-once",
];

/// The built-in exercises, easiest first (the core's `exercise::LIBRARY` order): name,
/// title and level, what the exercise list shows before any is opened.
pub const EXERCISES: [(&str, &str, u8); 14] = [
    ("first-write", "Make the first write", 1),
    ("leader-and-epoch", "Find the leader and explain its epoch", 1),
    ("kill-the-leader", "Kill the leader and watch the ensemble recover", 2),
    ("break-the-quorum", "Break the quorum so that writes stall", 2),
    ("minority-partition", "Partition the client into the minority", 3),
    ("far-behind-gets-snap", "Leave a follower so far behind that it needs a SNAP", 3),
    ("stale-read-then-sync", "Observe a stale read, then fix it with sync", 3),
    ("ephemeral-vanishes", "Make an ephemeral node vanish without touching it", 3),
    ("provoke-a-trunc", "Explain and provoke a TRUNC", 4),
    ("lock-without-herd", "Build ZooKeeper's lock recipe without a herd", 4),
    ("find-the-protocol-bug", "Find the flaw in a broken ZooKeeper", 5),
    ("reconfig-3-to-5", "Grow an ensemble from 3 to 5 servers without losing it", 4),
    ("migrate-under-load", "Migrate a cluster to another with no lost write under load", 5),
    ("faulty-migration", "Find the broken step in a faulty migration", 5),
];

fn known(kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Scenario => SCENARIOS.contains(&name),
        Kind::Exercise => EXERCISES.iter().any(|(n, _, _)| *n == name),
    }
}

fn unknown(kind: Kind, name: &str) -> String {
    format!("there is no built-in {} {name:?}", kind.noun())
}

/// A built-in's text: the core's (natively and in the wasm tests), or the one [`load`]
/// fetched (in the page; an error says why it is not there).
pub fn text(kind: Kind, name: &str) -> Result<String, String> {
    if !known(kind, name) {
        return Err(unknown(kind, name));
    }
    page::text(kind, name)
}

/// Fetches a built-in's text so that [`text`] has it (in the page; elsewhere nothing to
/// do). A failure is kept for [`text`] to report, and a later call tries again.
pub async fn load(kind: Kind, name: &str) {
    if known(kind, name) {
        page::load(kind, name).await;
    }
}

/// Where the texts come from outside the page: compiled in by the core.
#[cfg(not(all(target_arch = "wasm32", not(test))))]
mod page {
    use super::{unknown, Kind};

    pub fn text(kind: Kind, name: &str) -> Result<String, String> {
        let found = match kind {
            Kind::Scenario => zoolab_core::scenario::library::builtin(name),
            Kind::Exercise => zoolab_core::exercise::builtin(name),
        };
        found.map(str::to_string).ok_or_else(|| unknown(kind, name))
    }

    pub async fn load(_: Kind, _: &str) {}
}

/// Where the texts come from in the page: fetched beside it, kept for the page's life.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod page {
    use super::Kind;
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen(inline_js = "export function fetch_text(url) {
        return fetch(url).then((r) => r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status)));
    }")]
    extern "C" {
        fn fetch_text(url: &str) -> js_sys::Promise;
    }

    type Key = (Kind, String);

    /// A rejection's message.
    fn why(e: &JsValue) -> String {
        match e.dyn_ref::<js_sys::Error>() {
            Some(e) => e.message().into(),
            None => e.as_string().unwrap_or_default(),
        }
    }

    thread_local! {
        /// What each fetch gave: the text, or why there is none.
        static TEXTS: RefCell<Vec<(Key, Result<String, String>)>> = const { RefCell::new(Vec::new()) };
    }

    fn url(kind: Kind, name: &str) -> String {
        match kind {
            Kind::Scenario => format!("pkg/scenarios/{name}.zk"),
            Kind::Exercise => format!("pkg/exercises/{name}.toml"),
        }
    }

    pub fn text(kind: Kind, name: &str) -> Result<String, String> {
        TEXTS
            .with_borrow(|t| t.iter().find(|((k, n), _)| *k == kind && n == name).map(|(_, r)| r.clone()))
            .unwrap_or_else(|| Err(format!("the built-in {} {name:?} is not loaded", kind.noun())))
    }

    pub async fn load(kind: Kind, name: &str) {
        if text(kind, name).is_ok() {
            return;
        }
        let url = url(kind, name);
        let got = wasm_bindgen_futures::JsFuture::from(fetch_text(&url)).await;
        let got = match got.map(|t| t.as_string()) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(format!("{url}: not text")),
            Err(e) => Err(format!("the built-in {} {name:?} did not load ({url}: {})", kind.noun(), why(&e))),
        };
        TEXTS.with_borrow_mut(|t| {
            t.retain(|((k, n), _)| !(*k == kind && n == name));
            t.push(((kind, name.to_string()), got));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_the_cores_libraries_in_their_order() {
        let core: Vec<&str> = zoolab_core::scenario::library::LIBRARY.iter().map(|(n, _)| *n).collect();
        assert_eq!(SCENARIOS.to_vec(), core, "scenarios/*.zk: keep SCENARIOS equal to the core's LIBRARY");
        let core: Vec<(String, String, u8)> = zoolab_core::exercise::LIBRARY
            .iter()
            .map(|(n, t)| {
                let e = crate::exercise_file::read(t).unwrap();
                (n.to_string(), e.title, e.level)
            })
            .collect();
        let ours: Vec<(String, String, u8)> =
            EXERCISES.iter().map(|(n, t, l)| (n.to_string(), t.to_string(), *l)).collect();
        assert_eq!(ours, core, "exercises/*.toml: keep EXERCISES equal to the core's LIBRARY");
    }

    #[test]
    fn texts_are_the_cores_outside_the_page() {
        assert_eq!(
            text(Kind::Scenario, "watch-fires-once").unwrap(),
            zoolab_core::scenario::library::builtin("watch-fires-once").unwrap()
        );
        assert_eq!(
            text(Kind::Exercise, "first-write").unwrap(),
            zoolab_core::exercise::builtin("first-write").unwrap()
        );
        assert_eq!(text(Kind::Exercise, "nope").unwrap_err(), "there is no built-in exercise \"nope\"");
        assert!(text(Kind::Scenario, "first-write").is_err());
    }
}
