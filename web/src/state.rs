//! The playground's model and the reducer that changes it.
//!
//! The state of the page IS a scenario run: a core [`Runner`] over a [`Scenario`].
//! Every user action (a kill, a partition, a write, a step, a tick of the play timer)
//! becomes a scenario step appended to it, so Share is the runner's link and opening a
//! link replays to the same trace hash. Scrubbing the timeline replays the scenario to
//! an earlier event count (deterministic replay) from the nearest [checkpoint](Checkpoints)
//! before it; acting from there forks the run.
//!
//! [`Playground::apply`] is a plain function of the model: tested natively and in the
//! browser. [`Model`] wraps it for Yew's `use_reducer` (the runner is not `Clone`, so the
//! model lives in a `RefCell` and each action bumps a version).

use crate::codec::{self, Made};
use crate::library::{self, Kind};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;
use zoolab_core::exercise::{Exercise, Grade};
use zoolab_core::ids::ServerId;
use zoolab_core::scenario::classroom::{Control, Lock};
use zoolab_core::scenario::migrate::MigrationAction;
use zoolab_core::scenario::run::{Check, Driver, Options, Runner};
use zoolab_core::scenario::sim::{runner, SimDriver};
use zoolab_core::scenario::{self, Action as Step, ClientDecl, Endpoint, Scenario, ServerName};
use zoolab_core::sim::World;
use zoolab_core::vecmap::VecMap;

/// The replicated state of the simulator the scenarios run on.
pub type SimWorld = World<zoolab_core::zab::zkdb::ZkDatabase>;

/// The play timer's period, in real milliseconds: while playing, every `TICK_MS` of real
/// time appends one `run` step of the speed's simulated time (a "tick").
pub const TICK_MS: u32 = 100;
/// The most simulation one animation frame may run while playing, in real milliseconds:
/// a tick that needs more is cut and goes on in the next frames (`Playground::frame`),
/// so the page keeps drawing at 60 frames a second and high speeds run as fast as the
/// machine allows instead. The rest of the frame's 16.7 ms is for the page's render.
/// A frame that came late (the machine is busy) halves the budget, down to
/// [`FRAME_BUDGET_MIN_MS`]; each frame on time gives back a little.
pub const FRAME_BUDGET_MS: f64 = 4.0;
/// Late frames in a row that may skip their render (the simulation still runs; the
/// next frame draws it): on a busy machine the page then draws less often instead of
/// missing more frames.
pub const LATE_FRAMES_UNDRAWN: u32 = 2;
/// The least simulation a frame runs while playing (so play never stops).
pub const FRAME_BUDGET_MIN_MS: f64 = 1.0;
/// A frame later than this after the previous one, in microseconds, was missed (60 Hz
/// frames are 16,667 µs apart).
pub const LATE_FRAME_US: u32 = 25_000;
/// Events run between two looks at the clock while a frame plays.
pub const FRAME_CHUNK: u64 = 64;
/// The speeds offered: a label and the simulated milliseconds one tick runs.
pub const SPEEDS: [(&str, u64); 8] = [
    ("0.1×", 10),
    ("0.25×", 25),
    ("0.5×", 50),
    ("1×", 100),
    ("2×", 200),
    ("5×", 500),
    ("10×", 1_000),
    ("100×", 10_000),
];
/// Real time over which the speed reached while playing is measured, in microseconds
/// ([`Playground::reached`]: updated once per window).
pub const SPEED_WINDOW_US: u32 = 1_000_000;
/// How far "step to the next message of a kind" looks ahead, in events.
pub const MAX_LOOKAHEAD: u64 = 5_000;
/// The message kinds "step to" offers.
pub const STEP_KINDS: [&str; 6] = ["NOTIFICATION", "PROPOSAL", "ACK", "COMMIT", "LEADERINFO", "UPTODATE"];
/// The speed a fresh playground plays at (1×).
pub const DEFAULT_SPEED: usize = 3;
/// The most trace lines the runner keeps for its report (the hash covers all).
pub const MAX_REPORT_LINES: usize = 100_000;
/// The scenario a first visit opens: two ensembles side by side, nothing run yet.
pub const FRESH: &str = "scenario \"Two ensembles, ready to play\"\nseed 1\n\
    cluster a with 3 servers\ncluster b with 5 servers\n";

/// What a first visit reads above the clusters.
pub const WELCOME: &str = "New here? Two ZooKeeper ensembles are about to elect leaders: ▶ Play (space) \
    or Step (→), then kill a leader, partition, write — or open a ready scenario (top right).";

/// What the page asks to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The first-visit scenario ([`FRESH`]).
    Fresh,
    /// A built-in scenario by name, run through to its end.
    Builtin(String),
    /// A built-in scenario's topology only (its steps left for the user).
    BuiltinTopology(String),
    /// A share link (a URL, or its `#z2.…` fragment).
    Link(String),
    /// A scenario's text (a topology to play with, or a whole scenario), run through.
    Text(String),
    /// A built-in exercise by name: its setup, run through, with its instructions.
    Exercise(String),
}

impl Source {
    /// Whether opening it must wait for [`Source::prepare`]: in the page, built-ins'
    /// texts are fetched and links inflated by the browser first; natively and in the
    /// wasm tests never.
    pub fn needs_preparing(&self) -> bool {
        cfg!(all(target_arch = "wasm32", not(test)))
            && matches!(
                self,
                Source::Builtin(_) | Source::BuiltinTopology(_) | Source::Exercise(_) | Source::Link(_)
            )
    }

    /// Fetches and inflates what [`Playground::open`] will need, so that it opens
    /// synchronously: a built-in's text (`library::load`), a link inflated
    /// (`codec::inflate`) and the exercise it names. A failure is left for `open` to
    /// report.
    pub async fn prepare(&self) {
        match self {
            Source::Builtin(name) | Source::BuiltinTopology(name) => {
                library::load(Kind::Scenario, name).await
            }
            Source::Exercise(name) => library::load(Kind::Exercise, name).await,
            Source::Link(l) => {
                codec::inflate(l).await;
                if let Ok((sc, _)) = codec::decode(l) {
                    if let Some(name) = &sc.classroom.exercise {
                        library::load(Kind::Exercise, name).await;
                    }
                }
            }
            Source::Fresh | Source::Text(_) => {}
        }
    }
}

/// Worlds to start from: a label and the scenario's header.
pub const TOPOLOGIES: [(&str, &str); 7] = [
    ("3 + 5 servers", FRESH),
    ("1 cluster of 3", "seed 1\ncluster a with 3 servers\n"),
    ("5 servers + 1 observer", "seed 1\ncluster a with 5 servers and 1 observer\n"),
    (
        "3 clusters of 3",
        "seed 1\ncluster a with 3 servers\ncluster b with 3 servers\ncluster c with 3 servers\n",
    ),
    ("9 servers", "seed 1\ncluster a with 9 servers\n"),
    (
        "3 clusters of 5",
        "seed 1\ncluster a with 5 servers\ncluster b with 5 servers\ncluster c with 5 servers\n",
    ),
    (
        "5 clusters of 3",
        "seed 1\ncluster a with 3 servers\ncluster b with 3 servers\ncluster c with 3 servers\n\
         cluster d with 3 servers\ncluster e with 3 servers\n",
    ),
];

/// What the user can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Replace the run with another scenario.
    Open(Source),
    /// Start the play timer.
    Play,
    /// Stop the play timer.
    Pause,
    /// Play if paused, pause if playing (the space bar).
    TogglePlay,
    /// One tick of the play timer: run the speed's simulated time (all of it at once).
    Tick,
    /// One animation frame while playing, with the real time since the previous one in
    /// microseconds: runs the ticks due, within the frame's budget ([`FRAME_BUDGET_MS`]).
    Frame(u32),
    /// Choose a speed (an index into [`SPEEDS`]).
    SetSpeed(usize),
    /// Run exactly one event (the → key).
    StepEvent,
    /// Run events until a message of this kind (PROPOSAL, COMMIT, …) is delivered;
    /// recorded as `step N`.
    StepToKind(&'static str),
    /// Deliver by hand, now, the earliest message of this kind in flight from one
    /// server of a cluster to another (recorded as `deliver a3 -> a1 PROPOSAL`).
    Deliver {
        /// The cluster.
        cluster: String,
        /// The sender's id.
        from: u64,
        /// The receiver's id.
        to: u64,
        /// The message's kind.
        kind: &'static str,
    },
    /// Let this many simulated milliseconds pass.
    RunFor(u64),
    /// Crash a server.
    Kill(ServerName),
    /// Restart a crashed server.
    Restart(ServerName),
    /// A long GC pause of a server (one second).
    Freeze(ServerName),
    /// Cut a server off from the rest of its cluster.
    Isolate(ServerName),
    /// Repair every cut.
    Heal,
    /// Split a cluster into groups of server ids.
    Partition(String, Vec<Vec<u8>>),
    /// A client write to a cluster (through the page's own client of that cluster).
    Write(String),
    /// Any step in the scenario language, typed by the user (`c1: get /x`, …).
    Command(String),
    /// Show a server in the inspector (or close it).
    Select(Option<ServerName>),
    /// Show the run as it was after this many events (replayed from the scenario).
    Scrub(u64),
    /// Back one event in time (the ← key).
    Back,
    /// Back to the latest state of the run.
    Live,
    /// Make the share link of the run.
    Share,
    /// Start the same world over: the scenario's topology and seed, no step run.
    Reset,
    /// Start the same world over with another seed.
    Reseed(u64),
    /// Close the banner.
    Dismiss,
    /// Show a cluster's client console, for one of its clients (or its first).
    Console(String, Option<String>),
    /// Grade the run against the open exercise's goals.
    Check,
    /// Reveal the open exercise's next hint.
    Hint,
    /// Grade the run and make its submit link (the attempt, with the exercise's name).
    Submit,
    /// Make the teacher's locked link of the open exercise: its setup, leaving the
    /// student these controls.
    TeacherLink(Vec<Control>),
    /// A migration statement (start, step, run, abort), appended as the language's
    /// `migrate …` / `migration …` step (the migration panel, `components/migration.rs`).
    Migrate(MigrationAction),
    /// Add a server (a spare, or one removed before) to its cluster's configuration as
    /// a voter: the page's client of the cluster sends `reconfig -add server.N=…`.
    AddToConfig(ServerName),
    /// Remove a server from its cluster's configuration (`reconfig -remove N`).
    RemoveFromConfig(ServerName),
    /// Compare two servers' trees in the inspector (or stop comparing).
    Compare(Option<(ServerName, ServerName)>),
    /// Add a cluster of this many servers to the world (the header changes: the run
    /// replays its steps over the edited world; `worldedit.rs`).
    AddCluster(u8),
    /// Remove a cluster from the world (refused while a step uses it).
    RemoveCluster(String),
    /// Say why a form's input cannot become a step (a banner; the run is untouched).
    Refuse(String),
    /// A link the page finished (deflated by the browser: [`Playground::sealing`]), or
    /// why it could not, for request number `.1` ([`Playground::sealings`]): shown only
    /// if no link was asked for and no run opened since.
    Linked(LinkKind, u64, Result<String, String>),
}

/// What the last link made is for (the banner above it says so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Share: reopens this state.
    Share,
    /// A student's attempt at an exercise, for `zoolab grade`.
    Submit,
    /// A teacher's locked exercise link, for the class.
    Teacher,
}

/// How far a student got with an exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Checked at least once, not solved yet.
    Attempted,
    /// Solved (never downgraded).
    Solved,
}

/// The student's progress over the exercises, as kept in the browser's local storage
/// (`name=solved;name=attempted`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress(pub VecMap<String, Status>);

/// The local-storage key of [`Progress`].
pub const PROGRESS_KEY: &str = "zoolab.exercises";

impl Progress {
    /// Reads the stored text; what it does not understand is skipped.
    pub fn parse(text: &str) -> Progress {
        let mut p = Progress::default();
        for entry in text.split(';').take(256) {
            let status = match entry.split_once('=') {
                Some((name, "solved")) => Some((name, Status::Solved)),
                Some((name, "attempted")) => Some((name, Status::Attempted)),
                _ => None,
            };
            if let Some((name, st)) = status.filter(|(n, _)| !n.is_empty() && n.len() <= 64) {
                p.record(name, st);
            }
        }
        p
    }

    /// The text to store.
    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, s)| format!("{n}={}", if *s == Status::Solved { "solved" } else { "attempted" }))
            .collect();
        parts.join(";")
    }

    /// Notes a check's outcome; solved stays solved.
    pub fn record(&mut self, name: &str, status: Status) {
        let e = self.0.entry(name.to_string()).or_insert(status);
        *e = (*e).max(status);
    }

    /// An exercise's status, if the student has checked it.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.0.get(name).copied()
    }
}

/// The exercise open in the page.
#[derive(Clone, Debug, PartialEq)]
pub struct ExerciseRun {
    /// Its name (`break-the-quorum`).
    pub name: String,
    /// Its file, parsed.
    pub exercise: Exercise,
    /// How many of the run's steps are the setup's (kept apart when compacting, so the
    /// attempt still starts with them).
    pub setup_steps: usize,
    /// Hints revealed so far.
    pub hints_shown: usize,
    /// The last check's verdict (or why the run could not be graded).
    pub grade: Option<Result<Grade, String>>,
}

impl ExerciseRun {
    fn new(name: &str) -> Result<ExerciseRun, String> {
        // Not `Exercise::parse`: its TOML parser would double the page's download.
        let exercise = crate::exercise_file::builtin(name)?;
        let setup_steps = exercise.setup_scenario().map_err(|e| e.to_string())?.steps.len();
        Ok(ExerciseRun { name: name.to_string(), exercise, setup_steps, hints_shown: 0, grade: None })
    }

    /// Whether the last check solved it.
    pub fn solved(&self) -> bool {
        matches!(&self.grade, Some(Ok(g)) if g.solved())
    }
}

/// A message for the user above the clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Banner {
    /// Something the user should read (a link that did not open, a step refused).
    Error(String),
    /// A neutral note.
    Info(String),
}

/// The run as it was at an earlier event count.
struct Past {
    /// The run stopped there (possibly inside a step: [`Runner::scenario_so_far`] is the
    /// scenario that reproduces exactly this state, to continue from it).
    runner: Runner<SimDriver>,
    /// The latest run's "maximum plus one" lines, to show again when back to now.
    head_rules: Rules,
}

/// Events between two checkpoints at first; the spacing doubles whenever
/// [`MAX_CHECKPOINTS`] would be passed, so a run of E events keeps at most
/// `MAX_CHECKPOINTS` of them, about E / `MAX_CHECKPOINTS` apart.
pub const CHECKPOINT_EVERY: u64 = 2_000;
/// The most checkpoints kept (each holds its world with [`CHECKPOINT_TRACE`] trace
/// records, a block of the runner's lines and the scenario: BENCHMARKS.md has the
/// memory measured).
pub const MAX_CHECKPOINTS: usize = 48;
/// The trace records a checkpoint's world keeps (the page draws a few hundred of the
/// latest; an election's "maximum plus one" is kept beside it).
pub const CHECKPOINT_TRACE: usize = 2_048;
/// A scrub that runs more events than this from its starting point also keeps
/// [`LADDER`] - 1 copies on the way (replacing the previous scrub's), so stepping back
/// from where it landed (←) replays an eighth of the way, not all of it.
pub const LADDER_MIN: u64 = 1_000;
/// How many stretches a long scrub is cut into.
pub const LADDER: u64 = 8;

/// Each cluster's latest "maximum plus one" lines: its election's epoch, and its
/// reconfiguration's version.
type Rules = (Vec<Option<String>>, Vec<Option<String>>);

/// A copy of the run at an event position.
struct Checkpoint {
    runner: Runner<SimDriver>,
    /// Each cluster's latest "maximum plus one" lines there.
    rules: Rules,
}

impl Checkpoint {
    fn position(&self) -> u64 {
        self.runner.driver().events()
    }

    fn records(&self) -> u64 {
        self.runner.driver().world().records()
    }
}

/// Copies of the run taken every so many events as the run goes (the core's
/// [`Runner::checkpoint`]: a copy that keeps only its recent trace and shares the
/// runner's lines). Scrubbing to a position resumes the nearest one before it, instead
/// of replaying the scenario from the start; memory is bounded by [`MAX_CHECKPOINTS`].
struct Checkpoints {
    kept: Vec<Checkpoint>,
    /// The copies the latest long scrub kept on its way (see [`LADDER`]).
    recent: Vec<Checkpoint>,
    every: u64,
    /// Off: every scrub replays from the start (the tests compare the two).
    enabled: bool,
}

impl Checkpoints {
    fn new(enabled: bool) -> Checkpoints {
        Checkpoints { kept: Vec::new(), recent: Vec::new(), every: CHECKPOINT_EVERY, enabled }
    }

    /// The next checkpoint's position (`None`: checkpoints are off).
    fn next(&self) -> Option<u64> {
        self.enabled.then(|| self.kept.last().map_or(0, Checkpoint::position) + self.every)
    }

    /// Where the run should stop next for a checkpoint (`None`: no more).
    fn next_stop(&self, events: u64) -> Option<u64> {
        self.next().map(|at| at.max(events + 1))
    }

    /// Whether a run stopped at `events` is at or past the next checkpoint's position
    /// (a play frame that ran out of time there left it for the next frame).
    fn due(&self, events: u64) -> bool {
        self.next().is_some_and(|at| events >= at)
    }

    /// Keeps a copy of `r` (stopped at a checkpoint position), with its rules found in
    /// the trace since the previous checkpoint (or those of that one).
    fn take(&mut self, r: &mut Runner<SimDriver>, names: &[String]) {
        let copy = r.checkpoint(|d| d.checkpoint(CHECKPOINT_TRACE));
        let (prev, since) = match self.kept.last() {
            Some(c) => (c.rules.clone(), c.records()),
            None => ((vec![None; names.len()], vec![None; names.len()]), 0),
        };
        let rules = rules_since(copy.driver().world(), names, since, &prev);
        self.kept.push(Checkpoint { runner: copy, rules });
        if self.kept.len() > MAX_CHECKPOINTS {
            // Every other one goes: the rest stay evenly spaced, twice as far apart.
            let mut i = 0;
            self.kept.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            self.every *= 2;
        }
    }

    /// The position of the latest checkpoint at or before `position`.
    fn nearest(&self, position: u64) -> Option<u64> {
        self.kept.iter().chain(&self.recent).map(Checkpoint::position).filter(|&c| c <= position).max()
    }

    /// The latest checkpoint at or before `position` that is a state of `sc`'s run (a
    /// copy of it, carrying on with `sc`), with its rules; ones that are not (the run
    /// forked before them) are dropped.
    fn before(&mut self, position: u64, sc: &Scenario) -> Option<(Runner<SimDriver>, Rules)> {
        loop {
            let at = self.nearest(position)?;
            let list = if self.recent.iter().any(|c| c.position() == at) {
                &mut self.recent
            } else {
                &mut self.kept
            };
            let i = list.iter().position(|c| c.position() == at)?;
            let mut copy = list[i].runner.checkpoint(|d| d.checkpoint(usize::MAX));
            if copy.continue_as(sc) {
                return Some((copy, list[i].rules.clone()));
            }
            list.remove(i);
        }
    }

    /// Drops the checkpoints that are not states of `sc`'s run (after a fork), and
    /// lets the others carry on with it.
    fn follow(&mut self, sc: &Scenario) {
        self.kept.retain_mut(|c| c.runner.continue_as(sc));
        self.recent.retain_mut(|c| c.runner.continue_as(sc));
    }
}

/// Each cluster's latest "maximum plus one" lines, looked for in the trace records made
/// since `since` (and the records kept before them: an election that began earlier);
/// `prev`'s where none is found.
fn rules_since(w: &SimWorld, names: &[String], since: u64, prev: &Rules) -> Rules {
    let new = usize::try_from(w.records().saturating_sub(since)).unwrap_or(usize::MAX);
    let lookback = new.saturating_add(crate::view::RULE_LOOKBACK);
    let old = |v: &Vec<Option<String>>, c: usize| v.get(c).cloned().flatten();
    let epochs = names
        .iter()
        .enumerate()
        .map(|(c, n)| crate::view::epoch_rule(w, c, n, lookback).or_else(|| old(&prev.0, c)))
        .collect();
    let configs = names
        .iter()
        .enumerate()
        .map(|(c, n)| crate::view::config_rule(w, c, n, new).or_else(|| old(&prev.1, c)))
        .collect();
    (epochs, configs)
}

/// The playground: a scenario run, the view's choices, and what to show the user.
pub struct Playground {
    head: Runner<SimDriver>,
    past: Option<Past>,
    checkpoints: Checkpoints,
    /// Whether the play timer runs.
    pub playing: bool,
    /// The speed (index into [`SPEEDS`]).
    pub speed: usize,
    /// A message for the user, if any.
    pub banner: Option<Banner>,
    /// The server shown in the inspector.
    pub selected: Option<ServerName>,
    /// The last share link made.
    pub link: Option<String>,
    /// In the page, a link asked for and not finished yet: its payload, for the App to
    /// deflate with the browser's `CompressionStream` and give back as
    /// [`Action::Linked`] (`codec.rs`). [`Playground::sealings`] counts the requests.
    pub sealing: Option<(Vec<u8>, LinkKind)>,
    /// How many links the page was asked to finish (the App's effect follows it).
    pub sealings: u64,
    /// Where the scenario came from, for the menu (a built-in's name, "link" or "fresh").
    pub origin: String,
    /// The checks of the run shown (`expect`, `run until`, steps that could not run).
    pub checks: Vec<Check>,
    /// Each cluster's latest "maximum plus one" (kept across play ticks, so an
    /// election long ago is still shown without reading the whole trace every frame).
    pub rules: Vec<Option<String>>,
    /// Each cluster's latest reconfiguration's version rule (kept the same way).
    pub config_rules: Vec<Option<String>>,
    /// The trace records of the world shown when `rules` were last looked for.
    rules_at: u64,
    /// Real time played since the latest tick, in microseconds (at most one tick's).
    due_us: u32,
    /// The simulation the next play frame may run, in milliseconds (see
    /// [`FRAME_BUDGET_MS`]).
    budget_ms: f64,
    /// Late frames in a row whose render was skipped.
    undrawn: u32,
    /// The speed reached while playing, in hundredths (870: 8.7×): simulated time over
    /// real time in the latest [`SPEED_WINDOW_US`], at most the speed asked (`None`
    /// until a window has passed since Play or a speed change). Shown only while
    /// playing; it changes nothing in the run.
    pub reached: Option<u64>,
    /// The current window: real microseconds played in it, and the simulated time
    /// (ms) at its start (`None`: starts at the next frame).
    window: Option<(u32, u64)>,
    writes: u64,
    /// The exercise open, if any.
    pub exercise: Option<ExerciseRun>,
    /// The student's progress over the exercises (kept across opens; the page stores it).
    pub progress: Progress,
    /// What the last link made is for.
    pub link_kind: LinkKind,
    /// The client console shown: a cluster and maybe a client of it (else the first
    /// cluster, its first client).
    pub console: Option<(String, Option<String>)>,
    /// Two servers whose trees the inspector compares.
    pub compare: Option<(ServerName, ServerName)>,
}

fn options(stop: Option<u64>) -> Options {
    Options { stop_at_events: stop, max_trace_lines: MAX_REPORT_LINES, ..Options::default() }
}

/// Gives every cluster that no client of the scenario serves the page's own client
/// (`you_a` for cluster `a`). A client connects (and opens a session, a transaction) as
/// soon as the world starts, so adding one changes the run: clusters that already have a
/// client keep the scenario exactly as written, and a built-in scenario opened in the
/// page runs exactly as `zoolab run` runs it.
fn with_page_clients(mut sc: Scenario) -> Scenario {
    for c in sc.clusters.clone() {
        let served = sc.clients.iter().any(|cl| serves(cl, &c.name));
        if !served && sc.clients.len() < scenario::MAX_CLIENTS {
            sc.clients.push(ClientDecl {
                name: page_client(&c.name),
                connect: vec![Endpoint::Cluster(c.name.clone())],
            });
        }
    }
    sc
}

/// Whether a client's connect string names a server of `cluster`.
fn serves(client: &ClientDecl, cluster: &str) -> bool {
    client.connect.iter().any(|e| match e {
        Endpoint::Cluster(n) => n == cluster,
        Endpoint::Server(s) => s.cluster == cluster,
    })
}

/// The client the Write button uses for a cluster: the page's own if the scenario has
/// it, else the first client that connects to the cluster.
pub fn writer_of(sc: &Scenario, cluster: &str) -> Option<String> {
    let own = page_client(cluster);
    if sc.client(&own).is_some() {
        return Some(own);
    }
    sc.clients.iter().find(|c| serves(c, cluster)).map(|c| c.name.clone())
}

/// The page's client of a cluster.
pub fn page_client(cluster: &str) -> String {
    format!("you_{cluster}")
}

/// The scenario with its consecutive `run`s and `step`s merged: the same world, the
/// same trace hash, a shorter link (the play timer appends a `run` per tick).
pub fn compact(sc: &Scenario) -> Scenario {
    compact_after(sc, 0)
}

/// [`compact`], leaving the first `keep` steps as they are (an exercise's setup, which
/// an attempt must start with).
pub fn compact_after(sc: &Scenario, keep: usize) -> Scenario {
    let mut out = sc.clone();
    let keep = keep.min(sc.steps.len());
    out.steps.truncate(keep);
    let mut merged = Vec::new();
    // Once a migration runs, its controller works between events at every step's
    // boundary too, so `run 50ms` twice is not `run 100ms`: merge only before it.
    let mut migrating = sc.steps[..keep].iter().any(|s| matches!(s, Step::Migration(_)));
    for s in &sc.steps[keep..] {
        migrating |= matches!(s, Step::Migration(_));
        if migrating {
            merged.push(s.clone());
            continue;
        }
        match (merged.last_mut(), s) {
            (Some(Step::Run(a)), Step::Run(b)) => a.0 = a.0.saturating_add(b.0),
            (Some(Step::Step(a)), Step::Step(b)) => *a = a.saturating_add(*b),
            _ => merged.push(s.clone()),
        }
    }
    out.steps.extend(merged);
    out
}

impl Playground {
    /// Opens a source; a link or scenario that does not open gives its error, and
    /// nothing half-loaded.
    pub fn open(source: &Source) -> Result<Playground, String> {
        let (sc, position, origin, run_through) = match source {
            Source::Fresh => {
                (scenario::parse(FRESH).map_err(|e| e.to_string())?, None, "fresh".into(), false)
            }
            Source::Builtin(name) | Source::BuiltinTopology(name) => {
                let text = library::text(Kind::Scenario, name)?;
                let mut sc = scenario::parse(&text).map_err(|e| format!("{name}: {e}"))?;
                let through = matches!(source, Source::Builtin(_));
                if !through {
                    sc.steps.clear();
                }
                (sc, None, name.clone(), through)
            }
            Source::Text(t) => (scenario::parse(t).map_err(|e| e.to_string())?, None, "text".into(), true),
            Source::Link(l) => {
                let (sc, position) = codec::decode(l).map_err(|e| {
                    format!("This link does not open: {}.", e.to_string().trim_end_matches('.'))
                })?;
                (sc, Some(position), "link".into(), true)
            }
            Source::Exercise(name) => {
                let ex = ExerciseRun::new(name)?;
                let mut sc = ex.exercise.setup_scenario().map_err(|e| e.to_string())?;
                sc.classroom.exercise = Some(name.clone());
                (sc, None, format!("exercise {name}"), true)
            }
        };
        let mut pg = Playground::start(sc, position, origin, run_through, *source == Source::Fresh)?;
        pg.attach_exercise();
        Ok(pg)
    }

    /// Opens the exercise the run's header names (`exercise "…"`), if it is a built-in.
    fn attach_exercise(&mut self) {
        let Some(name) = self.head.scenario().classroom.exercise.clone() else { return };
        match ExerciseRun::new(&name) {
            Ok(ex) => self.exercise = Some(ex),
            Err(e) => {
                self.banner =
                    Some(Banner::Error(format!("This run names an exercise this page does not have: {e}")))
            }
        }
    }

    /// The teacher's lock of this run, if any.
    pub fn lock(&self) -> Option<&Lock> {
        self.head.scenario().classroom.lock.as_ref()
    }

    /// Whether the student may use a control (always, without a lock).
    pub fn allows(&self, c: Control) -> bool {
        self.lock().is_none_or(|l| l.allows(c))
    }

    /// How many leading steps compaction keeps as they are (the exercise's setup).
    fn kept_steps(&self) -> usize {
        self.exercise.as_ref().map_or(0, |e| e.setup_steps)
    }

    /// The scenario of the state shown, compacted: what a link carries and what a check grades.
    pub fn attempt(&self) -> (Scenario, u64) {
        match &self.past {
            Some(p) => (compact_after(&p.runner.scenario_so_far(), self.kept_steps()), self.position()),
            None => (self.scenario(), self.head_events()),
        }
    }

    /// Grades the run shown against the open exercise and notes the progress.
    fn check(&mut self) {
        let (sc, _) = self.attempt();
        let Some(ex) = self.exercise.as_mut() else {
            return self.error("No exercise is open: choose one in the Exercises list.");
        };
        let grade = ex.exercise.grade(&sc).map_err(|e| e.to_string());
        let status = if matches!(&grade, Ok(g) if g.solved()) { Status::Solved } else { Status::Attempted };
        ex.grade = Some(grade);
        let name = ex.name.clone();
        self.progress.record(&name, status);
    }

    /// The teacher's link: the exercise's setup, run through, locked to `allow`.
    fn teacher_link(&self, allow: &[Control]) -> Result<Made, String> {
        let ex = self.exercise.as_ref().ok_or("No exercise is open.")?;
        let mut sc = ex.exercise.setup_scenario().map_err(|e| e.to_string())?;
        sc.classroom.exercise = Some(ex.name.clone());
        sc.classroom.lock = Some(Lock { allow: allow.iter().copied().collect() });
        let mut r = runner(&sc, options(None))?;
        r.run_all();
        codec::encode(&sc, r.driver().events()).map_err(|e| e.to_string())
    }

    /// A playground over a scenario, replayed to `position` (a link's) or, with
    /// `run_through`, to its end.
    fn start(
        sc: Scenario,
        position: Option<u64>,
        origin: String,
        run_through: bool,
        welcome: bool,
    ) -> Result<Playground, String> {
        // An exercise's world stays exactly its setup's (an attempt must keep it).
        let sc = if sc.classroom.exercise.is_some() { sc } else { with_page_clients(sc) };
        let mut pg = Playground {
            head: runner(&sc, options(None))?,
            past: None,
            checkpoints: Checkpoints::new(true),
            playing: false,
            due_us: 0,
            budget_ms: FRAME_BUDGET_MS,
            undrawn: 0,
            reached: None,
            window: None,
            speed: DEFAULT_SPEED,
            banner: welcome.then(|| Banner::Info(WELCOME.into())),
            selected: None,
            link: None,
            sealing: None,
            sealings: 0,
            origin,
            checks: Vec::new(),
            rules: Vec::new(),
            config_rules: Vec::new(),
            rules_at: 0,
            writes: 0,
            exercise: None,
            progress: Progress::default(),
            link_kind: LinkKind::Share,
            console: None,
            compare: None,
        };
        if run_through || position.is_some() {
            pg.run_head(|h| {
                h.run_all();
                Ok(())
            })?;
        }
        if let Some(p) = position {
            // A link made at the end of its run (the usual case, and always a submitted
            // or teacher's link) reopens its scenario as written. One made in the past
            // reopens that state as its own run: the step it cut short becomes what ran
            // of it (`step N`), as acting there would have made it.
            if pg.head_events() != p {
                pg.past = Some(pg.restore(p)?);
                pg.fork_if_past();
            }
        }
        Ok(pg.with_checks())
    }

    /// Runs the head (`f`: a step appended, or every step), stopping every so often
    /// to keep a checkpoint.
    fn run_head(
        &mut self,
        f: impl FnOnce(&mut Runner<SimDriver>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.run_head_within(f, None)
    }

    /// [`Playground::run_head`], and, with `more`, every [`FRAME_CHUNK`] events a look at
    /// whether there is time for more: if not, the head stays stopped where it is, its
    /// step cut (a later frame resumes it, [`Playground::frame`]; any other action
    /// finishes it first, [`Playground::finish_frames`]).
    fn run_head_within(
        &mut self,
        f: impl FnOnce(&mut Runner<SimDriver>) -> Result<(), String>,
        mut more: Option<&mut dyn FnMut() -> bool>,
    ) -> Result<(), String> {
        let names = self.clusters();
        let chunked = more.is_some();
        let stops = |pg: &Self| {
            let at = pg.head.driver().events();
            let checkpoint = pg.checkpoints.next_stop(at);
            let chunk = chunked.then_some(at + FRAME_CHUNK);
            let stop = match (checkpoint, chunk) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (checkpoint, stop)
        };
        // A checkpoint a play frame had no time left for is taken first.
        if self.head.is_stopped() && self.checkpoints.due(self.head.driver().events()) {
            self.checkpoints.take(&mut self.head, &names);
        }
        let (mut checkpoint, stop) = stops(self);
        self.head.resume(stop);
        let r = f(&mut self.head);
        while self.head.is_stopped() {
            // The frame's time is looked at before a checkpoint (a copy of the world,
            // the longest step of a frame): one due after the budget is spent is left
            // for the next frame, which takes it first.
            if let Some(more) = more.as_mut() {
                if !more() {
                    break;
                }
            }
            if checkpoint.is_some_and(|c| self.head.driver().events() >= c) {
                self.checkpoints.take(&mut self.head, &names);
            }
            let stop;
            (checkpoint, stop) = stops(self);
            self.head.resume(stop);
            self.head.run_all();
        }
        r
    }

    /// Plays one animation frame: `elapsed_us` of real time since the previous frame
    /// makes ticks due (one `run` step of the speed's simulated time every [`TICK_MS`],
    /// exactly the steps a timer would append), and they run while `more` says the
    /// frame has time left. A tick that does not fit is cut and goes on in the next
    /// frame; no new one is due before it ends, and at most one is ever owed, so a
    /// machine too slow for the speed plays slower rather than falling behind. What
    /// happens is the same however the ticks are cut (the run is a function of its
    /// steps), only when it is shown changes. Whether anything ran (else nothing
    /// changed to draw).
    pub fn play_frame(&mut self, elapsed_us: u32, mut more: impl FnMut() -> bool) -> bool {
        if !self.playing {
            return false;
        }
        let tick = TICK_MS * 1_000;
        let (played_us, start_ms) = *self.window.get_or_insert((0, self.head.driver().now().0));
        // At most one tick is ever owed (after a stall, or while a cut one runs).
        self.due_us = self.due_us.saturating_add(elapsed_us).min(tick);
        let mut ran = false;
        loop {
            if self.head.is_stopped() {
                ran = true;
                let _ = self.run_head_within(
                    |h| {
                        h.run_all();
                        Ok(())
                    },
                    Some(&mut more),
                );
                self.stop_if_broken();
                if self.head.is_stopped() || !self.playing {
                    break;
                }
            }
            if self.due_us < tick || !more() {
                break;
            }
            self.due_us -= tick;
            ran = true;
            let ms = SPEEDS[self.speed.min(SPEEDS.len() - 1)].1;
            self.append_within(Step::Run(scenario::Millis(ms)), Some(&mut more));
            if !self.playing {
                break;
            }
        }
        let played_us = played_us.saturating_add(elapsed_us);
        let now_ms = self.head.driver().now().0;
        self.window = Some(if played_us >= SPEED_WINDOW_US {
            // Hundredths of simulated per real time (integers: no float formatting in
            // the bundle). A window may hold a tick more than its share: at most asked.
            let asked = SPEEDS[self.speed.min(SPEEDS.len() - 1)].1 * 100 / u64::from(TICK_MS);
            let sim_ms = now_ms.saturating_sub(start_ms);
            self.reached = Some((sim_ms.saturating_mul(100_000) / u64::from(played_us)).min(asked));
            (0, now_ms)
        } else {
            (played_us, start_ms)
        });
        ran
    }

    /// [`Playground::play_frame`] within the frame's budget of the page's clock
    /// ([`FRAME_BUDGET_MS`], less after late frames). Whether to draw: something ran,
    /// and the frame is on time or [`LATE_FRAMES_UNDRAWN`] late ones went undrawn; or
    /// nothing ran and the last frame was not drawn.
    pub fn frame(&mut self, elapsed_us: u32) -> bool {
        let late = elapsed_us > LATE_FRAME_US;
        self.budget_ms = if late {
            (self.budget_ms / 2.0).max(FRAME_BUDGET_MIN_MS)
        } else {
            (self.budget_ms + 0.25).min(FRAME_BUDGET_MS)
        };
        let deadline = crate::profile::now() + self.budget_ms;
        let ran = self.play_frame(elapsed_us, || crate::profile::now() < deadline);
        if !ran {
            // What a late frame left undrawn is drawn now.
            return std::mem::take(&mut self.undrawn) > 0;
        }
        self.refresh_rules();
        if late && self.undrawn < LATE_FRAMES_UNDRAWN {
            self.undrawn += 1;
            return false;
        }
        self.undrawn = 0;
        true
    }

    /// Runs what the play frames left cut, so that every other action sees whole
    /// ticks, as if each had run at once.
    fn finish_frames(&mut self) {
        if self.head.is_stopped() {
            let _ = self.run_head(|h| {
                h.run_all();
                Ok(())
            });
            self.stop_if_broken();
        }
    }

    /// A broken invariant stops the play.
    fn stop_if_broken(&mut self) {
        if self.head.driver().violation().is_some() {
            self.playing = false;
        }
    }

    /// The run stopped at `position` events: resumed from the nearest state before it
    /// (the past shown, or a checkpoint), else replayed from the start.
    fn restore(&mut self, position: u64) -> Result<Past, String> {
        let nearest = self.checkpoints.nearest(position);
        let head_rules = match self.past.take() {
            Some(p) => {
                let at = p.runner.driver().events();
                if at <= position && nearest.is_none_or(|c| c <= at) {
                    // Forward from the past shown: no copy, no replay.
                    let mut r = p.runner;
                    let since = r.driver().world().records();
                    r.resume(Some(position));
                    r.run_all();
                    let names = self.clusters();
                    let rules = rules_since(r.driver().world(), &names, since, &self.shown_rules());
                    self.set_rules(rules);
                    self.rules_at = r.driver().world().records();
                    return Ok(Past { runner: r, head_rules: p.head_rules });
                }
                p.head_rules
            }
            None => self.shown_rules(),
        };
        let names = self.clusters();
        let sc = self.head.scenario().clone();
        let (mut r, mut rules, mut since) = match self.checkpoints.before(position, &sc) {
            Some((r, rules)) => {
                let since = r.driver().world().records();
                (r, rules, since)
            }
            None => (runner(&sc, options(None))?, (vec![None; names.len()], vec![None; names.len()]), 0),
        };
        let from = r.driver().events();
        let way = position.saturating_sub(from);
        if way >= LADDER_MIN && self.checkpoints.enabled {
            // Copies on the way, so that going back a little from here is cheap too.
            self.checkpoints.recent.clear();
            for i in 1..LADDER {
                r.resume(Some(from + way * i / LADDER));
                r.run_all();
                if !r.is_stopped() {
                    break;
                }
                rules = rules_since(r.driver().world(), &names, since, &rules);
                since = r.driver().world().records();
                let copy = r.checkpoint(|d| d.checkpoint(CHECKPOINT_TRACE));
                self.checkpoints.recent.push(Checkpoint { runner: copy, rules: rules.clone() });
            }
        }
        r.resume(Some(position));
        r.run_all();
        self.set_rules(rules_since(r.driver().world(), &names, since, &rules));
        self.rules_at = r.driver().world().records();
        Ok(Past { runner: r, head_rules })
    }

    /// Keeps checkpoints as the run goes (the default), or not: every scrub then
    /// replays from the start (to compare, and to measure).
    pub fn set_checkpoints(&mut self, on: bool) {
        self.checkpoints = Checkpoints::new(on);
    }

    /// How many checkpoints the run keeps now.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.kept.len()
    }

    /// The runner whose world the page shows (the past one while scrubbed back).
    pub fn shown(&self) -> &Runner<SimDriver> {
        self.past.as_ref().map_or(&self.head, |p| &p.runner)
    }

    /// The world the page shows.
    pub fn world(&self) -> &SimWorld {
        self.shown().driver().world()
    }

    /// The scenario of the whole run (compacted: what a link carries).
    pub fn scenario(&self) -> Scenario {
        compact_after(self.head.scenario(), self.kept_steps())
    }

    /// Events run at the head of the run (the timeline's length).
    pub fn head_events(&self) -> u64 {
        self.head.driver().events()
    }

    /// The event count shown.
    pub fn position(&self) -> u64 {
        self.shown().driver().events()
    }

    /// Whether the page shows an earlier state than the latest.
    pub fn in_past(&self) -> bool {
        self.past.is_some()
    }

    /// The step of the scenario (as a link and the page's scenario text write it:
    /// compacted) that was running when the run shown stopped — numbered from 1 — and
    /// its text: where a broken invariant or migration rule happened.
    pub fn stopping_step(&self) -> Option<(usize, String)> {
        let r = self.shown();
        let ran = r.steps_run();
        if ran == 0 {
            return None;
        }
        let mut upto = r.scenario().clone();
        upto.steps.truncate(ran);
        let steps = compact_after(&upto, self.kept_steps()).steps;
        Some((steps.len(), steps.last()?.to_string()))
    }

    /// The trace hash of the state shown.
    pub fn trace_hash(&self) -> u64 {
        self.world().trace_hash()
    }

    /// The cluster names, in the scenario's order (index = the world's cluster index).
    pub fn clusters(&self) -> Vec<String> {
        self.head.scenario().clusters.iter().map(|c| c.name.clone()).collect()
    }

    /// The share link of the run as it is now (the head, or the fork shown), made with
    /// the core's deflate (not the page's way: see [`Playground::sealing`]).
    pub fn make_link(&self) -> Result<String, String> {
        let (sc, position) = self.attempt();
        zoolab_core::scenario::link::encode(&sc, position).map_err(|e| e.to_string())
    }

    /// Shows a link made for `kind`: at once, or (in the page) once the browser has
    /// deflated it; until then no link is shown, so a link shown is never an older one.
    fn offer_link(&mut self, made: Result<Made, String>, kind: LinkKind) {
        match made {
            Ok(Made::Link(l)) => {
                self.link = Some(l);
                self.link_kind = kind;
            }
            Ok(Made::Payload(p)) => {
                self.link = None;
                self.sealing = Some((p, kind));
                self.sealings += 1;
            }
            Err(e) => self.error(format!("No link: {e}")),
        }
    }

    fn error(&mut self, e: impl Into<String>) {
        self.banner = Some(Banner::Error(e.into()));
    }

    /// Continues from the past state shown: the run forks there (the later events are
    /// dropped, and the checkpoints after the fork with them).
    fn fork_if_past(&mut self) {
        if let Some(p) = self.past.take() {
            let mut r = p.runner;
            r.end_here();
            self.head = r;
            self.checkpoints.follow(self.head.scenario());
        }
    }

    /// Appends a step to the run (forking first when scrubbed back).
    fn append(&mut self, step: Step) {
        self.append_within(step, None);
    }

    /// [`Playground::append`], cut when `more` says so ([`Playground::run_head_within`]).
    fn append_within(&mut self, step: Step, more: Option<&mut dyn FnMut() -> bool>) {
        if let Some(lock) = self.lock() {
            if !lock.permits(&step) {
                return self.error(format!(
                    "`{step}` is locked: this exercise's link leaves you only the clock{}.",
                    if lock.allow.is_empty() {
                        String::new()
                    } else {
                        format!(" and {}", lock.allow.iter().map(|c| c.word()).collect::<Vec<_>>().join(", "))
                    }
                ));
            }
        }
        self.fork_if_past();
        if let Err(e) = self.run_head_within(|h| h.append(step), more) {
            self.error(format!("That step cannot run: {e}"));
        }
        self.stop_if_broken();
    }

    /// Reads one step of the scenario language in the context of this scenario.
    pub fn parse_step(&self, line: &str) -> Result<Step, String> {
        let mut header = self.head.scenario().clone();
        header.steps.clear();
        let line = line.trim();
        if line.is_empty() || line.contains('\n') {
            return Err("type one step, e.g. `kill a1` or `you_a: create /x 1`".into());
        }
        let text = format!("{header}{line}\n");
        let mut sc = scenario::parse(&text).map_err(|e| {
            // The error's line is the step's; say only what was expected.
            let msg = e.to_string();
            msg.split_once(": ").map_or(msg.clone(), |(_, m)| m.to_string())
        })?;
        sc.steps.pop().ok_or_else(|| "that is not a step".to_string())
    }

    fn append_text(&mut self, line: &str) {
        match self.parse_step(line) {
            Ok(step) => self.append(step),
            Err(e) => self.error(format!("`{line}`: {e}")),
        }
    }

    /// Adds a server to its cluster's configuration, or removes it, through the page's
    /// client of the cluster.
    fn reconfig(&mut self, s: &ServerName, add: bool) {
        match writer_of(self.head.scenario(), &s.cluster) {
            Some(client) => self.append_text(&reconfig_line(&client, s, add)),
            None => self.error(format!("No client connects to cluster {}.", s.cluster)),
        }
    }

    /// Replays the run over an edited world (a cluster added or removed), keeping the
    /// view's choices; an edit that cannot be made leaves the run as it was.
    fn edit_world(&mut self, edited: Result<Scenario, String>) {
        let started = edited.and_then(|sc| Playground::start(sc, None, self.origin.clone(), true, false));
        match started {
            Ok(p) => {
                let keep = (std::mem::take(&mut self.progress), self.speed);
                *self = p;
                (self.progress, self.speed) = keep;
            }
            Err(e) => self.error(e),
        }
    }

    fn with_checks(mut self) -> Playground {
        self.refresh_checks();
        self.refresh_rules();
        self
    }

    /// Looks for each cluster's latest election in the trace records new since the
    /// last look (a replaced world sets its rules and `rules_at` itself).
    fn refresh_rules(&mut self) {
        let names = self.clusters();
        let w = self.world();
        let records = w.records();
        if records != self.rules_at || self.rules.len() != names.len() {
            let rules = rules_since(w, &names, self.rules_at, &self.shown_rules());
            self.set_rules(rules);
            self.rules_at = records;
        }
    }

    /// The "maximum plus one" lines shown.
    fn shown_rules(&self) -> Rules {
        (self.rules.clone(), self.config_rules.clone())
    }

    fn set_rules(&mut self, (epochs, configs): Rules) {
        self.rules = epochs;
        self.config_rules = configs;
    }

    /// Back to the latest state of the run.
    fn live(&mut self) {
        if let Some(p) = self.past.take() {
            self.set_rules(p.head_rules);
            self.rules_at = self.head.driver().world().records();
        }
    }

    /// Reads the checks of the run shown from its report (not on every play tick: the
    /// report copies the trace).
    fn refresh_checks(&mut self) {
        self.checks = self.shown().checks().to_vec();
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        if let Action::Frame(us) = action {
            self.frame(us);
            return;
        }
        self.finish_frames();
        let refresh = !matches!(
            action,
            Action::Tick
                | Action::Select(_)
                | Action::SetSpeed(_)
                | Action::Dismiss
                | Action::Share
                | Action::Linked(..)
                | Action::Hint
                | Action::Console(..)
                | Action::TeacherLink(_)
                | Action::Compare(_)
                | Action::Refuse(_)
        );
        self.apply_inner(action);
        if refresh {
            self.refresh_checks();
        }
        self.refresh_rules();
    }

    fn apply_inner(&mut self, action: Action) {
        match action {
            Action::Open(source) => match Playground::open(&source) {
                Ok(p) => {
                    let progress = std::mem::take(&mut self.progress);
                    // Counted on, not reset: a link asked for in the run left behind is
                    // not shown in this one (`Action::Linked`).
                    let sealings = self.sealings + 1;
                    *self = p;
                    self.progress = progress;
                    self.sealings = sealings;
                }
                Err(e) => {
                    self.playing = false;
                    self.error(e);
                }
            },
            Action::Play => {
                // A broken ZAB invariant or migration rule stops the run for good.
                if self.shown().driver().violation().is_none() {
                    self.playing = true;
                    self.due_us = 0;
                    (self.reached, self.window) = (None, None);
                }
            }
            Action::Pause => self.playing = false,
            Action::TogglePlay => {
                let play = !self.playing;
                self.apply(if play { Action::Play } else { Action::Pause });
            }
            Action::Tick => {
                if self.playing {
                    let ms = SPEEDS[self.speed.min(SPEEDS.len() - 1)].1;
                    self.append(Step::Run(scenario::Millis(ms)));
                }
            }
            Action::Frame(_) => {}
            Action::SetSpeed(i) => {
                self.speed = i.min(SPEEDS.len() - 1);
                // The speed reached is measured afresh at the new speed.
                (self.reached, self.window) = (None, None);
            }
            Action::StepEvent => self.append(Step::Step(1)),
            Action::RunFor(ms) => self.append(Step::Run(scenario::Millis(ms))),
            Action::StepToKind(kind) => {
                // One event at a time (recorded as `step`s, merged in the link) until a
                // message of that kind is delivered, at most MAX_LOOKAHEAD events.
                for _ in 0..MAX_LOOKAHEAD {
                    let mark = self.world().trace().len();
                    let before = self.head_events();
                    self.append(Step::Step(1));
                    let w = self.world();
                    if self.banner.as_ref().is_some_and(|b| matches!(b, Banner::Error(_)))
                        || w.violation().is_some()
                        || self.head_events() == before
                    {
                        return;
                    }
                    let t = w.trace();
                    let found = t.range(mark.min(t.len())..).any(|e| {
                        matches!(&e.kind, zoolab_core::sim::TraceKind::Deliver { msg, .. } if msg.kind() == kind)
                    });
                    if found {
                        return;
                    }
                }
                self.error(format!("No {kind} was delivered within {MAX_LOOKAHEAD} events."));
            }
            Action::Deliver { cluster, from, to, kind } => {
                self.append_text(&format!("deliver {cluster}{from} -> {cluster}{to} {kind}"))
            }
            Action::Kill(s) => self.append_text(&format!("kill {}{}", s.cluster, s.id)),
            Action::Restart(s) => self.append_text(&format!("restart {}{}", s.cluster, s.id)),
            Action::Freeze(s) => self.append_text(&format!("pause {}{} for 1s", s.cluster, s.id)),
            Action::Isolate(s) => self.append_text(&format!("isolate {}{}", s.cluster, s.id)),
            Action::Heal => self.append_text("heal"),
            Action::Partition(cluster, groups) => {
                let groups: Vec<String> = groups
                    .iter()
                    .filter(|g| !g.is_empty())
                    .map(|g| g.iter().map(|id| format!("{cluster}{id}")).collect::<Vec<_>>().join(" "))
                    .collect();
                if groups.len() < 2 {
                    self.error("A partition needs servers in at least two groups.");
                } else {
                    self.append_text(&format!("partition {}", groups.join(" | ")));
                }
            }
            Action::Write(cluster) => match writer_of(self.head.scenario(), &cluster) {
                Some(client) => {
                    self.writes += 1;
                    let n = self.writes;
                    self.append_text(&format!("{client}: create -s /w- {n}"));
                }
                None => self.error(format!("No client connects to cluster {cluster}.")),
            },
            Action::Command(line) => self.append_text(&line),
            Action::Select(s) => self.selected = s,
            Action::Scrub(position) => {
                self.playing = false;
                if position >= self.head_events() {
                    self.live();
                } else {
                    match self.restore(position) {
                        Ok(past) => self.past = Some(past),
                        Err(e) => self.error(e),
                    }
                }
            }
            Action::Live => self.live(),
            Action::Back => {
                let p = self.position();
                if p > 0 {
                    self.apply(Action::Scrub(p - 1));
                }
            }
            Action::Share => {
                let (sc, position) = self.attempt();
                self.offer_link(codec::encode(&sc, position).map_err(|e| e.to_string()), LinkKind::Share);
            }
            Action::Linked(kind, n, made) => {
                if n == self.sealings {
                    self.offer_link(made.map(Made::Link), kind);
                }
            }
            Action::Dismiss => self.banner = None,
            Action::Reseed(_) if self.lock().is_some() => {
                self.error("The seed is locked: this exercise's link fixes the world.")
            }
            Action::Reset | Action::Reseed(_) => {
                // An exercise starts over from its setup, run through; anything else
                // from its topology, nothing run.
                let mut sc = self.head.scenario().clone();
                let keep = self.kept_steps();
                sc.steps.truncate(keep);
                if let Action::Reseed(seed) = action {
                    sc.seed = seed;
                }
                match Playground::start(sc, None, self.origin.clone(), keep > 0, false) {
                    Ok(p) => {
                        let progress = std::mem::take(&mut self.progress);
                        let exercise = self.exercise.take().map(|e| ExerciseRun { grade: None, ..e });
                        *self = p;
                        self.progress = progress;
                        self.exercise = exercise;
                    }
                    Err(e) => self.error(e),
                }
            }
            Action::Check => self.check(),
            Action::Console(cluster, client) => self.console = Some((cluster, client)),
            Action::Hint => {
                if let Some(ex) = self.exercise.as_mut() {
                    ex.hints_shown = (ex.hints_shown + 1).min(ex.exercise.hints.len());
                }
            }
            Action::Submit => {
                if self.exercise.is_none() {
                    return self.error("No exercise is open: Submit is for an exercise's attempt.");
                }
                self.check();
                let (sc, position) = self.attempt();
                self.offer_link(codec::encode(&sc, position).map_err(|e| e.to_string()), LinkKind::Submit);
            }
            Action::TeacherLink(allow) => {
                let made = self.teacher_link(&allow);
                self.offer_link(made, LinkKind::Teacher);
            }
            Action::Migrate(m) => self.append_text(&m.to_string()),
            Action::AddToConfig(s) => self.reconfig(&s, true),
            Action::RemoveFromConfig(s) => self.reconfig(&s, false),
            Action::Compare(pair) => self.compare = pair,
            Action::AddCluster(_) | Action::RemoveCluster(_) if self.lock().is_some() => {
                self.error("The world is locked: this exercise's link fixes its clusters.")
            }
            Action::AddCluster(n) => {
                let edited = crate::worldedit::add_cluster(self.head.scenario(), n);
                self.edit_world(edited)
            }
            Action::RemoveCluster(name) => {
                let edited = crate::worldedit::remove_cluster(self.head.scenario(), &name);
                self.edit_world(edited)
            }
            Action::Refuse(why) => self.error(why),
        }
    }
}

/// The playground as Yew's reducer holds it: the model in a cell, and a version that
/// changes with every action (so the page re-renders).
#[derive(Clone)]
pub struct Model {
    /// The playground.
    pub pg: Rc<RefCell<Playground>>,
    /// Bumped by every action.
    pub version: u64,
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.pg, &other.pg) && self.version == other.version
    }
}

impl Model {
    /// A model over a playground.
    pub fn new(pg: Playground) -> Model {
        Model { pg: Rc::new(RefCell::new(pg)), version: 0 }
    }
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        if let Action::Frame(us) = action {
            let ran = self.pg.borrow_mut().frame(us);
            crate::profile::mark(1);
            if !ran {
                return self; // nothing to draw
            }
        } else {
            self.pg.borrow_mut().apply(action);
        }
        Rc::new(Model { pg: self.pg.clone(), version: self.version + 1 })
    }
}

/// The client command that adds a server to its cluster's configuration as a voter, or
/// removes it (ZooKeeper's `reconfig`, in the cluster's default server spec).
pub fn reconfig_line(client: &str, s: &ServerName, add: bool) -> String {
    if add {
        format!("{client}: reconfig -add server.{0}=server{0}:2888:3888:participant;2181", s.id)
    } else {
        format!("{client}: reconfig -remove {}", s.id)
    }
}

/// A server's name in the scenario language (`a3`).
pub fn name(cluster: &str, id: ServerId) -> ServerName {
    ServerName { cluster: cluster.to_string(), id: id.0 as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::sim::Role;

    fn fresh() -> Playground {
        Playground::open(&Source::Fresh).unwrap()
    }

    fn leader(p: &Playground, c: usize) -> Option<ServerId> {
        p.world().leader(c)
    }

    #[test]
    fn a_fresh_playground_is_two_ensembles_electing() {
        let p = fresh();
        assert_eq!(p.clusters(), ["a", "b"]);
        assert_eq!(p.world().servers_in(0).len(), 3);
        assert_eq!(p.world().servers_in(1).len(), 5);
        assert!(p.world().servers_in(0).iter().all(|s| s.role == Role::Looking));
        assert_eq!(p.head_events(), 0);
    }

    #[test]
    fn every_action_is_a_step_of_the_scenario() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        let l = leader(&p, 0).expect("a leader in a second");
        p.apply(Action::Write("a".into()));
        p.apply(Action::StepEvent);
        p.apply(Action::Kill(name("a", l)));
        p.apply(Action::Play);
        p.apply(Action::Tick);
        p.apply(Action::Tick);
        p.apply(Action::Pause);
        p.apply(Action::Tick); // paused: nothing
        let text = p.scenario().to_string();
        assert!(text.contains("run 1s\nyou_a: create -s /w- 1\nstep\nkill a3\nrun 200ms\n"), "{text}");
        assert_eq!(p.banner, Some(Banner::Info(WELCOME.into())), "no error");
    }

    #[test]
    fn killing_the_leader_elects_another_in_a_higher_epoch() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        let old = leader(&p, 0).unwrap();
        let old_epoch = p.world().servers_in(0)[(old.0 - 1) as usize].epoch;
        p.apply(Action::Kill(name("a", old)));
        p.apply(Action::RunFor(3_000));
        let new = leader(&p, 0).expect("re-elected");
        assert_ne!(new, old);
        assert!(p.world().servers_in(0)[(new.0 - 1) as usize].epoch > old_epoch);
        assert!(p.world().violation().is_none());
    }

    #[test]
    fn a_minority_partition_stalls_while_the_majority_commits() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Partition("b".into(), vec![vec![1, 2], vec![3, 4, 5]]));
        p.apply(Action::RunFor(2_000));
        let b = p.world().servers_in(1);
        assert_eq!(b[0].role, Role::Looking, "{b:?}");
        assert_eq!(b[1].role, Role::Looking, "{b:?}");
        assert!(leader(&p, 1).is_some_and(|l| l.0 >= 3));
        assert!(p.world().blocked_in(1).len() == 12);
        p.apply(Action::Heal);
        assert!(p.world().blocked_in(1).is_empty());
    }

    #[test]
    fn a_link_reopens_the_same_state() {
        let mut p = fresh();
        p.apply(Action::RunFor(700));
        p.apply(Action::Write("b".into()));
        for _ in 0..5 {
            p.apply(Action::StepEvent);
        }
        p.apply(Action::Play);
        for _ in 0..30 {
            p.apply(Action::Tick);
        }
        p.apply(Action::Share);
        let l = p.link.clone().unwrap();
        assert!(l.starts_with("z2."), "{l}");
        assert!(l.len() < 2_000, "{} characters", l.len());
        let q = Playground::open(&Source::Link(format!("http://x/#{l}"))).unwrap();
        assert_eq!(q.trace_hash(), p.trace_hash());
        assert_eq!(q.head_events(), p.head_events());
    }

    #[test]
    fn a_malformed_link_opens_nothing_and_says_why() {
        let mut p = fresh();
        p.apply(Action::RunFor(500));
        let before = p.trace_hash();
        p.apply(Action::Open(Source::Link("#z1.AAAAbroken".into())));
        assert!(matches!(&p.banner, Some(Banner::Error(e)) if e.starts_with("This link does not open")));
        assert_eq!(p.trace_hash(), before, "the run is untouched");
        assert!(Playground::open(&Source::Link("#z9.x".into())).is_err());
    }

    #[test]
    fn scrubbing_back_and_forward_replays_the_same_states() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        let mid = p.head_events();
        let mid_hash = p.trace_hash();
        p.apply(Action::Kill(name("a", leader(&p, 0).unwrap())));
        p.apply(Action::RunFor(1_500));
        let end = p.head_events();
        let end_hash = p.trace_hash();
        p.apply(Action::Scrub(mid));
        assert!(p.in_past());
        assert_eq!(p.position(), mid);
        assert_eq!(p.trace_hash(), mid_hash);
        p.apply(Action::Scrub(mid / 2));
        assert_eq!(p.world().steps(), mid / 2);
        p.apply(Action::Back);
        assert_eq!(p.position(), mid / 2 - 1);
        p.apply(Action::Scrub(end));
        assert!(!p.in_past());
        assert_eq!(p.trace_hash(), end_hash);
    }

    #[test]
    fn acting_in_the_past_forks_the_run_exactly_there() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Write("a".into()));
        p.apply(Action::RunFor(1_000));
        let k = p.head_events() - 37;
        p.apply(Action::Scrub(k));
        let hash = p.trace_hash();
        // The fork's link reopens to exactly the state shown.
        let l = p.make_link().unwrap();
        let q = Playground::open(&Source::Link(l)).unwrap();
        assert_eq!(q.trace_hash(), hash);
        assert_eq!(q.head_events(), k);
        p.apply(Action::StepEvent);
        assert!(!p.in_past());
        assert_eq!(p.head_events(), k + 1);
    }

    /// The same play, with and without checkpoints.
    fn played(checkpoints: bool) -> Playground {
        let mut p = fresh();
        p.set_checkpoints(checkpoints);
        p.speed = 6; // 10×
        p.apply(Action::Play);
        for i in 0..40 {
            p.apply(Action::Tick);
            if i == 10 {
                p.apply(Action::Write("a".into()));
            }
            if i == 20 {
                let l = leader(&p, 1).unwrap();
                p.apply(Action::Kill(name("b", l)));
            }
        }
        p.apply(Action::Pause);
        p
    }

    /// The "3 clusters of 5" world at 100×, playing.
    pub(super) fn fifteen_playing() -> Playground {
        let (_, text) = TOPOLOGIES.iter().find(|(l, _)| *l == "3 clusters of 5").unwrap();
        let mut p = Playground::open(&Source::Text(text.to_string())).unwrap();
        p.speed = SPEEDS.len() - 1;
        p.apply(Action::Play);
        p
    }

    /// A frame budget of `chunks` looks at the clock.
    fn budget(chunks: u32) -> impl FnMut() -> bool {
        let mut left = chunks;
        move || {
            let go = left > 0;
            left = left.saturating_sub(1);
            go
        }
    }

    /// Plays `frames` frames of 60 Hz with budgets from a seeded sequence; how many
    /// ended with a tick cut.
    fn play_frames(p: &mut Playground, frames: usize, seed: u64) -> usize {
        let mut x = seed;
        let mut cut = 0;
        for _ in 0..frames {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let chunks = (x >> 33) as u32 % 6;
            p.play_frame(16_667, budget(chunks));
            cut += usize::from(p.head.is_stopped());
        }
        cut
    }

    /// The same world played by `ticks` whole ticks.
    fn ticked(ticks: usize) -> Playground {
        let mut p = fifteen_playing();
        for _ in 0..ticks {
            p.apply(Action::Tick);
        }
        p
    }

    #[test]
    fn frames_cut_ticks_and_the_run_is_the_same_as_whole_ticks() {
        for seed in [1, 2, 3] {
            let mut framed = fifteen_playing();
            let steps = framed.head.scenario().steps.len();
            let cut = play_frames(&mut framed, 60, seed);
            assert!(cut > 0, "seed {seed}: some ticks were cut");
            framed.apply(Action::Pause); // finishes the tick cut
            let ticks = framed.head.scenario().steps.len() - steps;
            assert!(ticks >= 2, "seed {seed}: {ticks} ticks");
            let ticked = ticked(ticks);
            same_state(&ticked, &framed, &format!("seed {seed}"));
            assert_eq!(ticked.scenario().to_string(), framed.scenario().to_string(), "seed {seed}");
            // A checkpoint a frame had no time left for is taken by the next one, at the
            // same position as whole ticks take it.
            let positions =
                |p: &Playground| p.checkpoints.kept.iter().map(Checkpoint::position).collect::<Vec<_>>();
            assert!(!positions(&ticked).is_empty(), "seed {seed}: no checkpoint to compare");
            assert_eq!(positions(&ticked), positions(&framed), "seed {seed}: checkpoint positions");
        }
    }

    #[test]
    fn an_action_while_a_tick_is_cut_finishes_the_tick_first() {
        let mut ticked = ticked(1);
        ticked.apply(Action::Write("b".into()));
        ticked.apply(Action::Tick);
        let mut framed = fifteen_playing();
        framed.play_frame(TICK_MS * 1_000, budget(2));
        assert!(framed.head.is_stopped(), "the tick was cut");
        let cut_at = framed.head_events();
        framed.apply(Action::Write("b".into()));
        assert!(!framed.head.is_stopped());
        assert!(framed.head_events() > cut_at, "the tick ran to its end");
        framed.play_frame(TICK_MS * 1_000, budget(u32::MAX));
        same_state(&ticked, &framed, "a write between ticks");
    }

    #[test]
    fn late_frames_skip_at_most_two_renders_in_a_row() {
        let mut p = fifteen_playing();
        let (mut drawn, mut undrawn_in_a_row, mut most) = (0, 0, 0);
        for _ in 0..60 {
            let before = p.head_events();
            let draw = p.frame(LATE_FRAME_US + 1);
            if draw {
                drawn += 1;
                undrawn_in_a_row = 0;
            } else if p.head_events() != before {
                undrawn_in_a_row += 1;
                most = most.max(undrawn_in_a_row);
            }
        }
        assert!(drawn > 0, "late frames are still drawn now and then");
        assert_eq!(most, LATE_FRAMES_UNDRAWN, "{most} late frames in a row went undrawn");
        // An on-time frame with nothing to run draws what a late one left undrawn.
        p.undrawn = 1;
        p.due_us = 0;
        if !p.head.is_stopped() {
            assert!(p.frame(1), "the undrawn state is drawn");
            assert!(!p.frame(1), "then nothing to draw");
        }
    }

    #[test]
    fn the_speed_reached_is_measured_over_a_second_of_frames() {
        let mut p = fresh();
        p.apply(Action::SetSpeed(6)); // 10×
        p.apply(Action::Play);
        // Frames with time for every tick reach the speed asked.
        for _ in 0..59 {
            p.play_frame(16_667, budget(u32::MAX));
        }
        assert_eq!(p.reached, None, "not before a whole window");
        p.play_frame(16_667, budget(u32::MAX));
        let r = p.reached.expect("measured after a second");
        assert!((900..=1_000).contains(&r), "{r} hundredths at 10×");
        // Frames with no time to run ticks: far below it.
        for _ in 0..60 {
            p.play_frame(16_667, budget(0));
        }
        let slow = p.reached.unwrap();
        assert!(slow < 200, "{slow} hundredths with no time to run");
        // Paused, it is not measured; played again, it starts afresh.
        p.apply(Action::Pause);
        p.play_frame(2_000_000, budget(u32::MAX));
        assert_eq!(p.reached, Some(slow));
        p.apply(Action::Play);
        assert_eq!(p.reached, None);
    }

    #[test]
    fn frames_owe_at_most_one_tick_and_none_while_paused() {
        let mut p = fifteen_playing();
        let steps = p.head.scenario().steps.len();
        // A frame after a long stall (a hidden tab): one tick, not a backlog.
        assert!(p.play_frame(60_000_000, budget(u32::MAX)));
        assert_eq!(p.head.scenario().steps.len(), steps + 1);
        assert!(!p.play_frame(1, budget(u32::MAX)), "nothing due");
        // Less than a tick of real time: nothing runs, nothing to draw.
        assert!(!p.play_frame(TICK_MS * 1_000 - 2, budget(u32::MAX)));
        p.apply(Action::Pause);
        let at = p.head_events();
        assert!(!p.play_frame(TICK_MS * 10_000, budget(u32::MAX)));
        assert_eq!(p.head_events(), at);
    }

    fn same_state(a: &Playground, b: &Playground, at: &str) {
        assert_eq!(a.position(), b.position(), "{at}");
        assert_eq!(a.trace_hash(), b.trace_hash(), "{at}");
        assert_eq!(a.rules, b.rules, "{at}");
        assert_eq!(a.config_rules, b.config_rules, "{at}");
        assert_eq!(a.checks, b.checks, "{at}");
        assert_eq!(a.make_link(), b.make_link(), "{at}");
        assert_eq!(
            crate::view::trace_tail(a.world(), 8, &a.clusters()),
            crate::view::trace_tail(b.world(), 8, &b.clusters()),
            "{at}"
        );
        assert_eq!(crate::view::spacetime(a), crate::view::spacetime(b), "{at}");
    }

    #[test]
    fn scrubbing_from_checkpoints_shows_exactly_what_replaying_from_the_start_shows() {
        let (mut a, mut b) = (played(true), played(false));
        same_state(&a, &b, "played");
        assert!(a.checkpoint_count() >= 3, "{} checkpoints", a.checkpoint_count());
        assert_eq!(b.checkpoint_count(), 0);
        let end = a.head_events();
        // Back and forth, near checkpoints and between them.
        for pos in [end / 3, end / 7, end / 2 + 11, end - 1, 5, end * 4 / 5, end / 3 + 1, 2_000, 1_999, 4_001]
        {
            a.apply(Action::Scrub(pos));
            b.apply(Action::Scrub(pos));
            same_state(&a, &b, &format!("scrubbed to {pos}"));
            a.apply(Action::Back);
            b.apply(Action::Back);
            same_state(&a, &b, &format!("back from {pos}"));
        }
        // Acting in the past forks both runs the same way; scrubbing the fork too.
        a.apply(Action::Scrub(end / 2));
        b.apply(Action::Scrub(end / 2));
        a.apply(Action::Write("b".into()));
        b.apply(Action::Write("b".into()));
        a.apply(Action::RunFor(2_000));
        b.apply(Action::RunFor(2_000));
        same_state(&a, &b, "forked");
        assert_eq!(a.scenario(), b.scenario());
        for pos in [end / 2 - 3, end / 4, end / 2 + 300] {
            a.apply(Action::Scrub(pos));
            b.apply(Action::Scrub(pos));
            same_state(&a, &b, &format!("fork scrubbed to {pos}"));
        }
        a.apply(Action::Live);
        b.apply(Action::Live);
        same_state(&a, &b, "back to now");
        let q = Playground::open(&Source::Link(a.make_link().unwrap())).unwrap();
        assert_eq!(q.trace_hash(), a.trace_hash(), "the fork's link reopens it");
    }

    #[test]
    fn checkpoints_stay_few_and_evenly_spread_on_a_long_run() {
        let mut p = fresh();
        p.speed = SPEEDS.len() - 1;
        p.apply(Action::Play);
        for _ in 0..40 {
            p.apply(Action::Tick);
        }
        let n = p.checkpoint_count();
        assert!((MAX_CHECKPOINTS / 2..=MAX_CHECKPOINTS).contains(&n), "{n} checkpoints");
        let at: Vec<u64> = p.checkpoints.kept.iter().map(Checkpoint::position).collect();
        let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g <= 2 * p.checkpoints.every), "{at:?}");
        assert!(p.head_events() - at.last().unwrap() <= 2 * p.checkpoints.every);
    }

    #[test]
    fn acting_inside_a_migration_run_continues_from_there() {
        let mut p = Playground::open(&Source::BuiltinTopology("migrate-copy-and-cut-over".into())).unwrap();
        p.apply(Action::Command("run until c1 is connected".into()));
        p.apply(Action::Command("c1: create /app v1".into()));
        p.apply(Action::Command("migrate a -> b via snapshot".into()));
        let began = p.head_events();
        p.apply(Action::Command("migration run".into()));
        let end = p.head_events();
        assert!(end > began + 100, "the migration ran ({began}..{end})");
        let mid = began + (end - began) / 2;
        p.apply(Action::Scrub(mid));
        let hash = p.trace_hash();
        p.apply(Action::Command("c1: get /app".into()));
        let text = p.scenario().to_string();
        assert!(
            text.contains(&format!("migration run for {} events\nc1: get /app\n", mid - began)),
            "{text}"
        );
        assert!(p.head_events() < end, "the rest of the migration run was dropped");
        let l = p.make_link().unwrap();
        let q = Playground::open(&Source::Link(l)).unwrap();
        assert_eq!(q.trace_hash(), p.trace_hash());
        let mut r = Playground::open(&Source::BuiltinTopology("migrate-copy-and-cut-over".into())).unwrap();
        for line in text.split("\n\n").nth(1).unwrap().lines().filter(|l| !l.starts_with("c1: get")) {
            r.apply(Action::Command(line.into()));
        }
        assert_eq!(r.trace_hash(), hash, "the scenario so far is the state acted on");
    }

    #[test]
    fn a_link_finished_by_the_page_shows_only_if_it_is_the_latest_asked_for() {
        // In the page, Share leaves a payload (`sealing`) and the browser's deflate comes
        // back as `Linked`, numbered; natively `Linked` is applied by hand.
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.sealings = 2;
        p.apply(Action::Linked(LinkKind::Submit, 1, Ok("z1.older".into())));
        assert_eq!(p.link, None, "a request overtaken by a later one");
        p.apply(Action::Linked(LinkKind::Submit, 2, Ok("z1.latest".into())));
        assert_eq!((p.link.as_deref(), p.link_kind), (Some("z1.latest"), LinkKind::Submit));
        p.apply(Action::Open(Source::Fresh));
        assert_eq!(p.sealings, 3, "opening a run counts on");
        p.apply(Action::Linked(LinkKind::Share, 2, Ok("z1.before-open".into())));
        assert_eq!(p.link, None, "a link of the run left behind");
        p.apply(Action::Linked(LinkKind::Share, 3, Err("no CompressionStream".into())));
        assert!(matches!(&p.banner, Some(Banner::Error(e)) if e == "No link: no CompressionStream"));
    }

    #[test]
    fn every_builtin_opens_and_runs_through() {
        for name in library::SCENARIOS {
            let p = Playground::open(&Source::Builtin(name.to_string())).unwrap();
            assert!(p.head_events() > 0, "{name}");
            assert!(p.shown().report().passed(), "{name}: {}", p.shown().report().summary());
        }
        let p = Playground::open(&Source::Builtin("minority-cannot-commit".into())).unwrap();
        assert!(p.checks.len() >= 10 && p.checks.iter().all(|c| c.passed), "{:?}", p.checks);
        let mut p = Playground::open(&Source::BuiltinTopology("minority-cannot-commit".into())).unwrap();
        assert_eq!(p.head_events(), 0);
        assert!(p.checks.is_empty());
        p.apply(Action::Command("expect a has a leader".into()));
        assert_eq!(p.checks.len(), 1);
        assert!(!p.checks[0].passed);
    }

    #[test]
    fn typed_steps_run_and_bad_ones_say_why() {
        let mut p = fresh();
        p.apply(Action::Command("run until a has a leader".into()));
        assert!(leader(&p, 0).is_some());
        p.apply(Action::Command("kill a9".into()));
        assert!(matches!(&p.banner, Some(Banner::Error(e)) if e.contains("a9")), "{:?}", p.banner);
        p.apply(Action::Dismiss);
        assert_eq!(p.banner, None);
    }

    #[test]
    fn reset_and_reseed_start_the_same_world_over() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        let h = p.trace_hash();
        p.apply(Action::Reset);
        assert_eq!(p.head_events(), 0);
        assert!(p.scenario().steps.is_empty());
        p.apply(Action::RunFor(1_000));
        assert_eq!(p.trace_hash(), h, "same seed, same run");
        p.apply(Action::Reseed(7));
        assert_eq!(p.scenario().seed, 7);
        p.apply(Action::RunFor(1_000));
        assert_ne!(p.trace_hash(), h);
    }

    #[test]
    fn the_network_presets_are_steps_of_the_language() {
        let p = fresh();
        for (label, step) in crate::components::NETWORKS {
            assert!(p.parse_step(step).is_ok(), "{label}: {step}");
        }
    }

    #[test]
    fn every_topology_opens_and_elects() {
        for (label, text) in TOPOLOGIES {
            let mut p =
                Playground::open(&Source::Text(text.into())).unwrap_or_else(|e| panic!("{label}: {e}"));
            p.apply(Action::RunFor(2_000));
            for c in 0..p.clusters().len() {
                assert!(p.world().leader(c).is_some(), "{label}: cluster {c}");
            }
        }
        assert!(Playground::open(&Source::Text("cluster a with 10 servers\n".into())).is_err());
    }

    #[test]
    fn stepping_to_the_next_proposal_delivers_one_and_is_recorded_as_steps() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Write("a".into()));
        p.apply(Action::StepToKind("PROPOSAL"));
        let last = p
            .world()
            .trace()
            .iter()
            .rev()
            .find(|e| matches!(e.kind, zoolab_core::sim::TraceKind::Deliver { .. }));
        assert!(last.unwrap().to_string().contains("PROPOSAL"), "{last:?}");
        assert!(p.scenario().to_string().contains("you_a: create -s /w- 1\nstep "), "{}", p.scenario());
        let l = p.make_link().unwrap();
        assert_eq!(Playground::open(&Source::Link(l)).unwrap().trace_hash(), p.trace_hash());
    }

    #[test]
    fn a_message_delivered_by_hand_is_a_step_of_the_shared_run() {
        let mut p = fresh();
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Write("a".into()));
        let mut pending = None;
        for _ in 0..20 {
            // A connection delivers in order: the PROPOSAL must be the first in flight
            // between its two servers.
            let all = p.world().in_flight(usize::MAX);
            pending = all
                .iter()
                .enumerate()
                .find(|(i, m)| {
                    m.msg.kind() == "PROPOSAL" && !all[..*i].iter().any(|e| e.from == m.from && e.to == m.to)
                })
                .map(|(_, m)| m.clone());
            if pending.is_some() {
                break;
            }
            p.apply(Action::StepEvent);
        }
        let m = pending.expect("the leader proposes the write");
        let (from, to) = (m.from.id.0, m.to.id.0);
        let events = p.world().steps();
        p.apply(Action::Deliver { cluster: "a".into(), from, to, kind: "PROPOSAL" });
        assert_eq!(p.world().steps(), events + 1, "exactly one event: the delivery ({:?})", p.banner);
        let line = format!("deliver a{from} -> a{to} PROPOSAL");
        assert!(p.scenario().to_string().contains(&line), "{}", p.scenario());
        let l = p.make_link().unwrap();
        assert_eq!(Playground::open(&Source::Link(l)).unwrap().trace_hash(), p.trace_hash());
    }

    #[test]
    fn an_election_long_ago_is_still_shown() {
        let mut p = fresh();
        p.speed = SPEEDS.len() - 1;
        p.apply(Action::Play);
        for _ in 0..60 {
            p.apply(Action::Tick);
        }
        assert!(p.world().trace().len() > crate::view::RULE_LOOKBACK + 5_000, "{}", p.world().trace().len());
        assert!(p.rules.iter().all(|r| r.as_ref().is_some_and(|r| r.ends_with("+ 1 = 1"))), "{:?}", p.rules);
        p.apply(Action::Scrub(p.head_events() - 10));
        assert!(p.rules.iter().all(Option::is_some), "{:?}", p.rules);
    }

    #[test]
    fn compacting_merges_runs_and_steps_only() {
        let sc = scenario::parse(
            "cluster a with 1 server\n\nrun 100ms\nrun 100ms\nstep\nstep 2\nkill a1\nrun 1s\n",
        )
        .unwrap();
        assert_eq!(
            compact(&sc).to_string().split("\n\n").nth(1).unwrap(),
            "run 200ms\nstep 3\nkill a1\nrun 1s\n"
        );
    }

    fn exercise(name: &str) -> Playground {
        let p = Playground::open(&Source::Exercise(name.into())).unwrap();
        assert!(p.banner.is_none(), "{:?}", p.banner);
        p
    }

    fn goals(p: &Playground) -> Vec<bool> {
        match &p.exercise.as_ref().unwrap().grade {
            Some(Ok(g)) => g.goals.iter().map(|g| g.passed).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_exercise_opens_on_its_setup_and_check_grades_the_run() {
        let mut p = exercise("break-the-quorum");
        assert_eq!(p.scenario().classroom.exercise.as_deref(), Some("break-the-quorum"));
        assert!(p.world().leader(0).is_some(), "the setup ran through");
        p.apply(Action::Check);
        assert!(!p.exercise.as_ref().unwrap().solved());
        assert!(!goals(&p)[1], "the leader is still there");
        assert_eq!(p.progress.status("break-the-quorum"), Some(Status::Attempted));
        // Played the way the page plays: clicks and ticks of the timer.
        for s in ["a3", "a4", "a5"] {
            p.apply(Action::Kill(ServerName { cluster: "a".into(), id: s[1..].parse().unwrap() }));
        }
        p.apply(Action::Command("c1: create /stalled x".into()));
        p.apply(Action::Play);
        for _ in 0..6 {
            p.apply(Action::Tick);
        }
        p.apply(Action::Pause);
        p.apply(Action::RunFor(5_000));
        p.apply(Action::Check);
        assert_eq!(goals(&p), [true; 4], "{}", p.scenario());
        assert!(p.exercise.as_ref().unwrap().solved());
        assert_eq!(p.progress.status("break-the-quorum"), Some(Status::Solved));
        // Its setup's steps are kept as they are, the student's merged.
        let setup = p.exercise.as_ref().unwrap().exercise.setup_scenario().unwrap();
        assert!(p.scenario().steps.starts_with(&setup.steps));
        assert!(p.scenario().to_string().contains("run 5600ms\n"), "{}", p.scenario());
    }

    #[test]
    fn a_submit_link_reopens_the_attempt_and_grades_the_same() {
        let mut p = exercise("break-the-quorum");
        p.apply(Action::Command("kill a5".into()));
        p.apply(Action::Command("c1: create /stalled x".into()));
        p.apply(Action::RunFor(5_000));
        p.apply(Action::Submit);
        assert_eq!(p.link_kind, LinkKind::Submit);
        assert!(!p.exercise.as_ref().unwrap().solved());
        let link = p.link.clone().unwrap();
        let mut q = Playground::open(&Source::Link(link.clone())).unwrap();
        assert_eq!(q.exercise.as_ref().map(|e| e.name.as_str()), Some("break-the-quorum"));
        assert_eq!(q.trace_hash(), p.trace_hash());
        q.apply(Action::Check);
        assert_eq!(goals(&q), goals(&p));
        // What `zoolab grade` does with it.
        let (sc, _) = scenario::load(&link).unwrap();
        let ex = &q.exercise.as_ref().unwrap().exercise;
        assert_eq!(ex.grade(&sc).unwrap().goals.iter().map(|g| g.passed).collect::<Vec<_>>(), goals(&p));
    }

    #[test]
    fn hints_come_one_at_a_time_and_reset_starts_the_exercise_over() {
        let mut p = exercise("break-the-quorum");
        for want in [1, 2, 2] {
            p.apply(Action::Hint);
            assert_eq!(p.exercise.as_ref().unwrap().hints_shown, want);
        }
        let start = p.trace_hash();
        p.apply(Action::Command("kill a1".into()));
        p.apply(Action::Check);
        p.apply(Action::Reset);
        assert_eq!(p.trace_hash(), start, "back to the setup, run through");
        let ex = p.exercise.as_ref().unwrap();
        assert_eq!((ex.hints_shown, ex.grade.is_none()), (2, true));
        assert_eq!(p.progress.status("break-the-quorum"), Some(Status::Attempted), "progress kept");
    }

    #[test]
    fn a_teacher_lock_fixes_the_world_and_survives_the_students_links() {
        let mut t = exercise("break-the-quorum");
        t.apply(Action::TeacherLink(vec![Control::Kill, Control::Client]));
        assert_eq!(t.link_kind, LinkKind::Teacher);
        let mut p = Playground::open(&Source::Link(t.link.clone().unwrap())).unwrap();
        assert_eq!(p.trace_hash(), exercise("break-the-quorum").trace_hash(), "the setup, run through");
        assert!(p.allows(Control::Kill) && p.allows(Control::Client) && !p.allows(Control::Partition));
        p.apply(Action::Command("partition a1 a2 | a3 a4 a5".into()));
        assert!(matches!(&p.banner, Some(Banner::Error(e)) if e.contains("locked")), "{:?}", p.banner);
        p.apply(Action::Dismiss);
        p.apply(Action::Reseed(9));
        assert!(matches!(&p.banner, Some(Banner::Error(e)) if e.contains("seed is locked")));
        assert_eq!(p.scenario().seed, 1);
        p.apply(Action::Dismiss);
        for id in [3, 4, 5] {
            p.apply(Action::Kill(ServerName { cluster: "a".into(), id }));
        }
        p.apply(Action::Command("c1: create /stalled x".into()));
        p.apply(Action::RunFor(5_000));
        assert!(p.banner.is_none(), "{:?}", p.banner);
        p.apply(Action::Share);
        let q = Playground::open(&Source::Link(p.link.clone().unwrap())).unwrap();
        assert_eq!(q.lock(), p.lock(), "the lock survives the student's share link");
        p.apply(Action::Submit);
        assert!(p.exercise.as_ref().unwrap().solved());
        let (sc, _) = scenario::load(p.link.as_ref().unwrap()).unwrap();
        assert_eq!(
            sc.classroom.lock,
            Some(Lock { allow: [Control::Client, Control::Kill].into_iter().collect() })
        );
    }

    #[test]
    fn progress_round_trips_and_never_forgets_a_solve() {
        let mut p = Progress::parse("first-write=solved;kill-the-leader=attempted;junk;=solved;x=maybe");
        assert_eq!(p.to_text(), "first-write=solved;kill-the-leader=attempted");
        p.record("first-write", Status::Attempted);
        p.record("kill-the-leader", Status::Solved);
        assert_eq!(Progress::parse(&p.to_text()), p);
        assert_eq!(p.status("first-write"), Some(Status::Solved));
        assert_eq!(p.status("nope"), None);
    }

    #[test]
    fn every_built_in_exercise_opens_in_the_page_and_its_solution_solves_it_there() {
        for (name, _) in zoolab_core::exercise::LIBRARY {
            let mut p = exercise(name);
            let sol = p.exercise.as_ref().unwrap().exercise.solution.clone();
            for line in sol.lines().filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#')) {
                p.apply(Action::Command(line.to_string()));
            }
            p.apply(Action::Check);
            assert!(
                p.exercise.as_ref().unwrap().solved(),
                "{name}: {:?}",
                p.exercise.as_ref().unwrap().grade
            );
        }
    }
}

/// The trace hash of [`FRESH`] after one simulated second, pinned: the same natively
/// (the unit tests) and in wasm (the browser tests).
#[cfg(test)]
pub const FRESH_1S_HASH: u64 = 0xf0a4_0258_ad16_daa9;

#[cfg(test)]
mod pinned {
    use super::*;

    #[test]
    fn the_first_visit_scenario_gives_the_pinned_trace_hash() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        assert_eq!(p.trace_hash(), FRESH_1S_HASH, "{:#x}", p.trace_hash());
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use std::time::{Duration, Instant};

    /// The process's resident memory (KiB), where /proc tells it.
    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages * 4)
    }

    fn timed(p: &mut Playground, a: Action) -> Duration {
        let t = Instant::now();
        p.apply(a);
        t.elapsed()
    }

    /// Plays `ticks` ticks at 100× and scrubs around, with checkpoints or without.
    fn measure(ticks: usize, checkpoints: bool) -> u64 {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.set_checkpoints(checkpoints);
        p.speed = SPEEDS.len() - 1;
        p.apply(Action::Play);
        let t = Instant::now();
        for _ in 0..ticks {
            p.apply(Action::Tick);
        }
        let played = t.elapsed();
        let events = p.head_events();
        let rss = rss_kib();
        let half = timed(&mut p, Action::Scrub(events / 2));
        let back = timed(&mut p, Action::Back);
        let fwd = timed(&mut p, Action::Scrub(events / 2 + events / 20));
        let quarter = timed(&mut p, Action::Scrub(events / 4));
        let end = timed(&mut p, Action::Scrub(events - 1));
        let hash = p.trace_hash();
        let fork = timed(&mut p, Action::Write("a".into()));
        p.apply(Action::Share);
        println!(
            "{ticks} ticks at 100x = {} ms simulated, {events} events in {played:.0?}, checkpoints {} ({}): \
             scrub to 1/2 {half:.1?}, back one {back:.1?}, forward 5% {fwd:.1?}, to 1/4 {quarter:.1?}, \
             to the end {end:.1?}, act there (fork) {fork:.1?}; link {} chars; resident {} MiB after playing",
            p.world().now(),
            if checkpoints { "on" } else { "off" },
            p.checkpoint_count(),
            p.link.as_ref().map_or(0, String::len),
            rss / 1024
        );
        hash
    }

    /// What one render's view models cost natively, each alone, in the "3 clusters of
    /// 5" world at 100× after 30 ticks, and what a play frame's simulation runs:
    /// `cargo test --release -p zoolab-web view_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn view_timing() {
        use crate::view;
        use std::time::Instant;
        let mut p = super::tests::fifteen_playing();
        let t = Instant::now();
        let before = p.head_events();
        for _ in 0..30 {
            p.apply(Action::Tick);
        }
        let per_tick = t.elapsed() / 30;
        println!("a tick (10 s simulated): {per_tick:.2?}, {} events", (p.head_events() - before) / 30);
        let names = p.clusters();
        let time = |what: &str, f: &mut dyn FnMut() -> usize| {
            let t = Instant::now();
            let mut n = 0;
            for _ in 0..100 {
                n += f();
            }
            println!("{what}: {:.1?} ({})", t.elapsed() / 100, n / 100);
        };
        time("clusters", &mut || view::clusters(&p).len());
        time("spacetime", &mut || view::spacetime(&p).lanes.len());
        time("trace_tail", &mut || view::trace_tail(p.world(), view::TRACE_LINES, &names).len());
        time("invariants", &mut || view::invariants(p.world()).len());
        time("inspector", &mut || usize::from(view::inspector(&p).is_some()));
        time("client_log", &mut || view::client_log(&p).len());
        time("console", &mut || usize::from(view::console(&p, "a", None).is_some()));
        time("violation", &mut || usize::from(view::violation(&p).is_some()));
        time("network", &mut || view::network(&p).latency_min_ms as usize);
        time("scenario + text", &mut || p.scenario().to_string().len());
        time("migview::migration", &mut || usize::from(crate::migview::migration(&p).is_some()));
        time("migview::violation", &mut || usize::from(crate::migview::violation(&p).is_some()));
        time("migview::servers", &mut || crate::migview::servers(&p).len());
        time("clients_of", &mut || view::clients_of(&p, "a").len());
        time("progress text", &mut || p.progress.to_text().len());
        time("lock", &mut || usize::from(p.lock().is_some()));
    }

    /// What scrubbing costs: `cargo test --release -p zoolab-web replay_timing -- --ignored
    /// --nocapture` (`ZOOLAB_CHECKPOINTS=on` or `off`: that mode alone, whose resident
    /// memory is then the process's own).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn replay_timing() {
        let only = std::env::var("ZOOLAB_CHECKPOINTS").ok();
        for ticks in [60, 300] {
            match only.as_deref() {
                Some(mode) => {
                    measure(ticks, mode == "on");
                }
                None => {
                    let off = measure(ticks, false);
                    let on = measure(ticks, true);
                    assert_eq!(on, off, "the same states with and without checkpoints");
                }
            }
        }
    }
}
