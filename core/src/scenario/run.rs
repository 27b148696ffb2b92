//! Running a scenario: its steps, in order, on a world, with each expectation's result.
//!
//! The executor is written against [`Driver`], the small set of things a world must do
//! for a scenario: step one event, let time pass, apply a fault, take a client's
//! command, and answer questions about servers, operations and trees. The simulator
//! implements it (`scenario::sim`); tests implement it with fakes; later worlds (the
//! real client library of the clients issue, a native ensemble) can too.
//!
//! The [`Report`] holds the world's own trace lines (the same lines the simulator's tests
//! pin and the browser shows as its timeline), with a `>` line before each step and a
//! `✓`/`✗` line for each check, then each check's result, the trace hash and where the
//! run ended. A run is bounded: every step runs at most [`Options::max_events_per_step`]
//! events, and `run until` gives up after its `within` (by default [`DEFAULT_WITHIN`]).

use super::*;
use crate::text::Quoted;
use crate::tree::Data;
use crate::vecmap::VecMap;

mod migrate;
use std::fmt;

/// How long `run until` waits when the scenario does not say.
pub const DEFAULT_WITHIN: Millis = Millis(60_000);

/// A world the executor can drive. Server names are resolved (`leader of a` becomes a
/// name) before a driver sees them; clusters and clients are those of the scenario the
/// driver was built from.
pub trait Driver {
    /// Simulated time.
    fn now(&self) -> Millis;
    /// How many events have run (a link's position counts these).
    fn events(&self) -> u64;
    /// Runs the next event and appends its trace lines; `false` when nothing is
    /// pending or the world has halted.
    fn step(&mut self, trace: &mut Vec<String>) -> bool;
    /// Runs the next event if it is due by `deadline` (appending its trace lines) and
    /// returns `true`; otherwise moves the clock to `deadline` and returns `false`.
    fn step_until(&mut self, deadline: Millis, trace: &mut Vec<String>) -> bool;
    /// Applies a fault or a network change, appending its trace lines.
    fn act(&mut self, fault: &Fault, trace: &mut Vec<String>) -> Result<(), String>;
    /// Hands a client's command to the world; returns a handle for [`Driver::op`].
    fn submit(&mut self, client: &str, command: &ZkCommand, trace: &mut Vec<String>) -> Result<u64, String>;
    /// What became of a command.
    fn op(&self, handle: u64) -> OpStatus;
    /// A server's state, epoch and last committed zxid.
    fn server(&self, name: &ServerName) -> ServerStatus;
    /// The established leader of a cluster.
    fn leader(&self, cluster: &str) -> Option<ServerName>;
    /// A znode's data as a server's own tree has it (`None`: no such node).
    fn read(&self, name: &ServerName, path: &str) -> Result<Option<Data>, String>;
    /// Whether a completed command's result is null data (a `get` of a znode created
    /// without data: its status reads `null`, as zkCli prints it, like the four bytes
    /// `null`).
    fn null_result(&self, _handle: u64) -> bool {
        false
    }
    /// The first invariant the world found broken.
    fn violation(&self) -> Option<String>;
    /// The committed configuration a server follows: its version and its voters' ids
    /// (`None`: the server is down, or the world has no configurations).
    fn config(&self, _name: &ServerName) -> Option<(u64, Vec<u8>)> {
        None
    }
    /// The hash of every trace line so far.
    fn trace_hash(&self) -> u64;
    /// Whether a client has a session and a connection.
    fn connected(&self, _client: &str) -> bool {
        false
    }
    /// How many events of this name (on this path, if given) a client received.
    fn saw(&self, _client: &str, _event: &str, _path: Option<&str>) -> usize {
        0
    }
    /// Carries out a migration statement's single action (start, one step, abort);
    /// `Ok` with what happened, `Err` with why not (a closed gate says what it saw).
    fn migration(
        &mut self,
        a: &super::migrate::MigrationAction,
        _trace: &mut Vec<String>,
    ) -> Result<String, String> {
        Err(format!("`{a}`: this world has no migrations"))
    }
    /// The migration's phase, if one was started.
    fn migration_phase(&self) -> Option<crate::migration::phase::Phase> {
        None
    }
    /// Cuts a client off from every server (`false`), or lets it reach them again.
    fn client_network(&mut self, client: &str, _up: bool, _trace: &mut Vec<String>) -> Result<(), String> {
        Err(format!("{client}: this world cannot disconnect clients"))
    }
    /// Delivers now the earliest message in flight from `from` to `to` (of `kind`);
    /// returns what was delivered.
    fn deliver(
        &mut self,
        _from: &ServerName,
        _to: &ServerName,
        _kind: Option<&str>,
        _trace: &mut Vec<String>,
    ) -> Result<String, String> {
        Err("this world cannot deliver messages by hand".into())
    }
    /// The history checker's verdict on the clients of each cluster (or of `cluster`).
    fn check_history(&self, _cluster: Option<&str>) -> Result<Vec<HistoryCheck>, String> {
        Err("this world keeps no client history".into())
    }
}

/// The history checker's verdict on the clients of one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryCheck {
    /// The cluster.
    pub cluster: String,
    /// Operations in the checked history.
    pub operations: usize,
    /// The verdict.
    pub verdict: crate::checker::Verdict,
    /// One line, or the first violation explained.
    pub summary: String,
}

/// A fault or network change, with its servers resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Crash.
    Kill(ServerName),
    /// Recover from disk.
    Restart(ServerName),
    /// Stop processing for a while.
    Pause(ServerName, Millis),
    /// Groups that cannot reach each other.
    Partition(Vec<Vec<ServerName>>),
    /// Messages from `from` to `to` are lost.
    Cut {
        /// Senders.
        from: Vec<ServerName>,
        /// Receivers.
        to: Vec<ServerName>,
    },
    /// Cut from every other server, both ways.
    Isolate(ServerName),
    /// Repair every cut, or those of one server.
    Heal(Option<ServerName>),
    /// Change the default network.
    Network(NetSettings),
    /// Change a link between clusters.
    Link(LinkDecl),
    /// Change the link between two servers (one way, or both), or reset it (`None`).
    ServerLink {
        /// Sender.
        from: ServerName,
        /// Receiver.
        to: ServerName,
        /// Also `to` → `from`.
        both_ways: bool,
        /// The settings, or the network's again.
        net: Option<NetSettings>,
    },
}

/// What became of a client's command.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum OpStatus {
    /// Not answered yet.
    Pending,
    /// Answered: its result as the console prints it (created path, data, …).
    Ok(String),
    /// Failed: ZooKeeper's error name (NODEEXISTS, CONNECTIONLOSS, …).
    Failed(String),
}

/// A server as a check sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerStatus {
    /// Its state.
    pub state: ServerState,
    /// Its current epoch.
    pub epoch: u32,
    /// Its last committed zxid.
    pub committed: u64,
}

/// Limits of a run.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many events per step (a bound, never a hang).
    pub max_events_per_step: u64,
    /// Stop once the world has run this many events (a link's position).
    pub stop_at_events: Option<u64>,
    /// Stop once simulated time reaches this (`zoolab run --until`).
    pub stop_at_time: Option<Millis>,
    /// Keep at most this many trace lines in the report (the hash covers all).
    pub max_trace_lines: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_events_per_step: 1_000_000,
            stop_at_events: None,
            stop_at_time: None,
            max_trace_lines: 1_000_000,
        }
    }
}

/// The result of one check (`expect`, `run until`, or a step that could not run).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// The step's index in the scenario (0-based).
    pub step: usize,
    /// The step, as the canonical text writes it.
    pub text: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

/// What a run did (`zoolab run --json` prints it as JSON).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Trace lines: the world's, with `>` before each step and `✓`/`✗` for checks.
    pub trace: Vec<String>,
    /// Trace lines left out past [`Options::max_trace_lines`].
    pub trace_dropped: u64,
    /// Each check, in order.
    pub checks: Vec<Check>,
    /// The first broken invariant, if any.
    pub violation: Option<String>,
    /// The world's trace hash at the end.
    pub trace_hash: u64,
    /// Events run.
    pub events: u64,
    /// Simulated time at the end.
    pub time: Millis,
    /// Steps run (all of them, unless the run stopped at a position).
    pub steps_run: usize,
}

impl Report {
    /// Whether every check held and no invariant broke.
    pub fn passed(&self) -> bool {
        self.violation.is_none() && self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Each check's line (`✓`/`✗`, the step, what was seen), a broken invariant if any,
    /// and the totals: what `zoolab run` prints without `--trace`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!("{} {}: {}\n", if c.passed { "✓" } else { "✗" }, c.text, c.detail));
        }
        out.push_str(&self.totals());
        out
    }

    fn totals(&self) -> String {
        let mut out = String::new();
        if let Some(v) = &self.violation {
            out.push_str(&format!("✗ invariant broken: {v}\n"));
        }
        let passed = self.checks.iter().filter(|c| c.passed).count();
        out.push_str(&format!(
            "checks: {passed} passed, {} failed; t={}ms events={} trace hash {:016x}\n",
            self.checks.len() - passed,
            self.time.0,
            self.events,
            self.trace_hash
        ));
        out
    }
}

impl fmt::Display for Report {
    /// The trace, then one line of totals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.trace {
            writeln!(f, "{line}")?;
        }
        if self.trace_dropped > 0 {
            writeln!(f, "… {} more trace lines", self.trace_dropped)?;
        }
        f.write_str(&self.totals())
    }
}

/// A scenario being run, step by step: the browser appends the user's actions to it
/// as they happen; [`run`] runs a whole scenario at once.
///
/// A runner stopped at a position ([`Options::stop_at_events`]) can be cloned (a
/// checkpoint) and [resumed](Runner::resume) to a later position: the step the stop cut
/// short goes on exactly where it was cut, so the run is the same as one never stopped.
#[derive(Clone)]
pub struct Runner<D: Driver> {
    sc: Scenario,
    d: D,
    opts: Options,
    next: usize,
    trace: Lines,
    /// The world's own lines, searched by `trace contains` (bounded like `trace`).
    world_lines: Lines,
    dropped: u64,
    checks: Vec<Check>,
    ops: VecMap<String, Vec<u64>>,
    stopped: bool,
    buf: Vec<String>,
    /// The step the stop position cut short, to finish on [`Runner::resume`].
    cut: Option<Unfinished>,
    /// Events run when the latest step began.
    began: u64,
    /// Where the latest step's `>` line is in `trace` (if it was kept).
    began_line: Option<usize>,
}

/// How many lines a block of [`Lines`] holds.
const BLOCK: usize = 1024;

/// Trace lines, appended only: full blocks are shared between clones, so copying a
/// runner (a checkpoint) copies its last block and a list of pointers, not its trace.
#[derive(Clone, Debug, Default)]
struct Lines {
    full: Vec<std::sync::Arc<Vec<String>>>,
    last: Vec<String>,
}

impl Lines {
    fn len(&self) -> usize {
        self.full.len() * BLOCK + self.last.len()
    }

    fn push(&mut self, line: String) {
        self.last.push(line);
        if self.last.len() == BLOCK {
            self.full.push(std::sync::Arc::new(std::mem::take(&mut self.last)));
        }
    }

    fn iter(&self) -> impl Iterator<Item = &String> {
        self.full.iter().flat_map(|b| b.iter()).chain(self.last.iter())
    }

    /// Replaces line `i` (its block is copied first if another runner shares it).
    fn set(&mut self, i: usize, line: String) {
        match self.full.get_mut(i / BLOCK) {
            Some(b) => std::sync::Arc::make_mut(b)[i % BLOCK] = line,
            None => self.last[i - self.full.len() * BLOCK] = line,
        }
    }

    /// Drops the last line.
    fn pop(&mut self) {
        if self.last.is_empty() {
            if let Some(b) = self.full.pop() {
                self.last = std::sync::Arc::unwrap_or_clone(b);
            }
        }
        self.last.pop();
    }
}

/// Where a step that runs events was when the stop position cut it short: what its
/// loop held, so that resuming goes on exactly as if it had never stopped.
#[derive(Clone, Debug)]
enum Unfinished {
    /// `run` (and the wait of `at`, whose action `then` runs after it): every event due
    /// by `t`; `n` run so far.
    RunTo { t: Millis, n: u64, then: Option<Box<Action>> },
    /// `step N`: the events still to run.
    Steps(u64),
    /// `run until`: its condition, its deadline, the events run so far.
    Until { condition: Predicate, deadline: Millis, n: u64 },
    /// `migration run` (its phase, its `for N events`), cut while waiting for an event
    /// (`why`: the gate's refusal).
    Migration {
        until: Option<crate::migration::phase::Phase>,
        limit: Option<u64>,
        deadline: Millis,
        n: u64,
        why: String,
    },
}

/// What [`Runner::event`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Ran one event.
    Ran,
    /// Ran none: nothing was due (or the world halted); the step is over.
    Idle,
    /// Ran none: the stop position was reached first; the step is cut short here.
    Cut,
}

impl<D: Driver> Runner<D> {
    /// A runner at the start of `scenario`, on `driver` (built from the same scenario).
    pub fn new(scenario: Scenario, driver: D, opts: Options) -> Runner<D> {
        Runner {
            sc: scenario,
            d: driver,
            opts,
            next: 0,
            trace: Lines::default(),
            world_lines: Lines::default(),
            dropped: 0,
            checks: Vec::new(),
            ops: VecMap::new(),
            stopped: false,
            buf: Vec::new(),
            cut: None,
            began: 0,
            began_line: None,
        }
    }

    /// The scenario, with every step appended so far.
    pub fn scenario(&self) -> &Scenario {
        &self.sc
    }

    /// The world.
    pub fn driver(&self) -> &D {
        &self.d
    }

    /// The world, keeping it after the run.
    pub fn into_driver(self) -> D {
        self.d
    }

    /// How many steps have run.
    pub fn steps_run(&self) -> usize {
        self.next
    }

    /// Whether the run can go no further: every step has run, it stopped at its
    /// position or time, or an invariant broke.
    pub fn is_done(&self) -> bool {
        self.stopped
            || (self.next >= self.sc.steps.len() && self.cut.is_none())
            || self.d.violation().is_some()
    }

    /// Moves the stop position (`None`: no stop) and lets a stopped run go on with
    /// [`Runner::run_next`] / [`Runner::run_all`]. A step the old position cut short
    /// continues exactly where it was cut (its deadline, its count), so a run stopped
    /// and resumed at any positions is the run never stopped: the same events, trace,
    /// checks and hash (a stop in time, [`Options::stop_at_time`], stays).
    pub fn resume(&mut self, stop_at_events: Option<u64>) {
        self.opts.stop_at_events = stop_at_events;
        self.stopped = false;
    }

    /// Whether the latest step began is cut short by the stop position (it continues
    /// on [`Runner::resume`]).
    pub fn is_cut(&self) -> bool {
        self.cut.is_some()
    }

    /// Whether the run stopped at its stop position (or time), with more to run.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The checks so far (`expect`, `run until`, steps that could not run): what
    /// [`Runner::report`] lists, without copying the trace.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// A copy of this run (a checkpoint, to [resume](Runner::resume) later), whose
    /// driver `copy` makes from this one's: a driver may copy itself for less than a
    /// clone (the simulator keeps only its recent trace: [`SimDriver::checkpoint`]).
    /// The runner's own trace lines are shared, not copied.
    ///
    /// [`SimDriver::checkpoint`]: super::sim::SimDriver::checkpoint
    pub fn checkpoint(&mut self, copy: impl FnOnce(&mut D) -> D) -> Runner<D> {
        Runner {
            sc: self.sc.clone(),
            d: copy(&mut self.d),
            opts: self.opts.clone(),
            next: self.next,
            trace: self.trace.clone(),
            world_lines: self.world_lines.clone(),
            dropped: self.dropped,
            checks: self.checks.clone(),
            ops: self.ops.clone(),
            stopped: self.stopped,
            buf: self.buf.clone(),
            cut: self.cut.clone(),
            began: self.began,
            began_line: self.began_line,
        }
    }

    /// What ran of the step the stop position cut short, as a step of its own: `step
    /// N` (N its events; nothing when none ran), or for a `migration run`, the same with
    /// `for N events`. `None` when no step is cut.
    fn cut_as_step(&self) -> Option<Option<Action>> {
        let cut = self.cut.as_ref()?;
        let step = &self.sc.steps[self.next - 1];
        let ran = self.d.events().saturating_sub(self.began);
        let limited = |a: &Action, n: u64| match a {
            Action::Migration(super::migrate::MigrationAction::Run { until, within, .. }) => {
                Some(Action::Migration(super::migrate::MigrationAction::Run {
                    until: *until,
                    within: *within,
                    events: Some(n),
                }))
            }
            _ => None,
        };
        Some(match (cut, step) {
            (Unfinished::Migration { n, .. }, Action::At { time, action }) => {
                limited(action, *n).map(|a| Action::At { time: *time, action: Box::new(a) })
            }
            (Unfinished::Migration { n, .. }, a) => limited(a, *n),
            _ => (ran > 0).then_some(Action::Step(ran)),
        })
    }

    /// The scenario whose whole run is exactly this run so far: the steps run, the one
    /// the stop cut short written as what ran of it (`step N`, `migration run … for N
    /// events`). A link made of it reopens this state; acting here continues it.
    pub fn scenario_so_far(&self) -> Scenario {
        let mut sc = self.sc.clone();
        sc.steps.truncate(self.next);
        if let Some(instead) = self.cut_as_step() {
            sc.steps.pop();
            sc.steps.extend(instead);
        }
        sc
    }

    /// Makes this stopped run the whole run of [`Runner::scenario_so_far`]: a step cut
    /// short ends here (rewritten as what ran of it), the later steps are dropped and
    /// the stop is lifted, so steps appended next continue from exactly this state (as
    /// if the scenario so far had been run from the start: the same trace and report).
    pub fn end_here(&mut self) {
        if let Some(instead) = self.cut_as_step() {
            let line = self.began_line.take();
            match instead {
                Some(a) => {
                    if let Some(i) = line {
                        self.trace.set(i, format!("> {a}"));
                    }
                    self.sc.steps[self.next - 1] = a;
                }
                None => {
                    // Nothing ran of it: no step, and its `>` line (the last) goes.
                    if line.is_some() {
                        self.trace.pop();
                    }
                    self.next -= 1;
                }
            }
            self.cut = None;
        }
        self.sc.steps.truncate(self.next);
        self.opts.stop_at_events = None;
        self.stopped = false;
    }

    /// How many events had run when the latest step began.
    pub fn step_began_at(&self) -> u64 {
        self.began
    }

    /// Carries on with `sc` instead of its scenario: a longer one (steps appended) or
    /// one that differs only in steps not begun yet. `false`, and nothing changed, when
    /// `sc` has another header or changes a step this runner has begun.
    pub fn continue_as(&mut self, sc: &Scenario) -> bool {
        let begun = self.next;
        let a = &self.sc;
        let same = a.title == sc.title
            && a.seed == sc.seed
            && a.classroom == sc.classroom
            && a.network == sc.network
            && a.bugs == sc.bugs
            && a.clusters == sc.clusters
            && a.links == sc.links
            && a.clients == sc.clients
            && sc.steps.len() >= begun
            && a.steps.get(..begun) == sc.steps.get(..begun);
        if same {
            self.sc.steps.truncate(begun);
            self.sc.steps.extend_from_slice(&sc.steps[begun..]);
        }
        same
    }

    /// Runs the next step; `false` when there is none (see [`Runner::is_done`]).
    pub fn run_next(&mut self) -> bool {
        if self.is_done() {
            return false;
        }
        if self.at_stop() {
            self.stopped = true;
            return false;
        }
        if let Some(cut) = self.cut.take() {
            self.finish(self.next - 1, cut);
            return true;
        }
        let i = self.next;
        let a = self.sc.steps[i].clone();
        self.began_line = None;
        if !matches!(a, Action::Expect(_)) {
            if self.trace.len() < self.opts.max_trace_lines {
                self.began_line = Some(self.trace.len());
            }
            self.push(format!("> {a}"));
        }
        self.began = self.d.events();
        self.action(i, &a);
        self.next = i + 1;
        true
    }

    /// Goes on with a step the stop position cut short.
    fn finish(&mut self, step: usize, cut: Unfinished) {
        match cut {
            Unfinished::RunTo { t, n, then } => self.wait_then(step, t, n, then),
            Unfinished::Steps(left) => self.steps(left),
            Unfinished::Until { condition, deadline, n } => self.until(step, &condition, deadline, n),
            Unfinished::Migration { until, limit, deadline, n, why } => {
                self.migration_run(step, (until, limit), deadline, n, Some(why))
            }
        }
    }

    /// Runs every remaining step.
    pub fn run_all(&mut self) {
        while self.run_next() {}
    }

    /// Appends a step (checked against the scenario's topology) and runs it: what the
    /// page does with each user action, so that the scenario always holds them all.
    pub fn append(&mut self, action: Action) -> Result<(), String> {
        super::parse::check_action(&self.sc, &action)?;
        if self.sc.steps.len() >= MAX_STEPS {
            return Err(format!("more than {MAX_STEPS} steps"));
        }
        self.run_all();
        self.sc.steps.push(action);
        self.run_all();
        Ok(())
    }

    /// The share link of this run: the scenario so far and the events run.
    pub fn link(&self) -> Result<String, super::link::LinkError> {
        super::link::encode(&self.sc, self.d.events())
    }

    /// Whether a predicate holds now, and what was seen: an exercise's goals are
    /// checked this way against the student's run.
    pub fn evaluate(&self, p: &Predicate) -> (bool, String) {
        self.eval(p)
    }

    /// What the run has done so far.
    pub fn report(&self) -> Report {
        Report {
            trace: self.trace.iter().cloned().collect(),
            trace_dropped: self.dropped,
            checks: self.checks.clone(),
            violation: self.d.violation(),
            trace_hash: self.d.trace_hash(),
            events: self.d.events(),
            time: self.d.now(),
            steps_run: self.next,
        }
    }

    fn push(&mut self, line: String) {
        if self.trace.len() < self.opts.max_trace_lines {
            self.trace.push(line);
        } else {
            self.dropped += 1;
        }
    }

    fn flush(&mut self) {
        for line in std::mem::take(&mut self.buf) {
            if self.world_lines.len() < self.opts.max_trace_lines {
                self.world_lines.push(line.clone());
            }
            self.push(line);
        }
    }

    fn at_stop(&self) -> bool {
        self.opts.stop_at_events.is_some_and(|n| self.d.events() >= n)
            || self.opts.stop_at_time.is_some_and(|t| self.d.now() >= t)
    }

    /// Runs one event (due by `deadline`, if given): [`Next::Idle`] when none is, or
    /// the world is idle or halted, or the stop time came; [`Next::Cut`] at the stop
    /// position (nothing run: the caller keeps where it was in [`Runner::cut`]).
    fn event(&mut self, deadline: Option<Millis>) -> Next {
        if self.at_stop() {
            self.stopped = true;
            return Next::Cut;
        }
        let deadline = match (deadline, self.opts.stop_at_time) {
            (Some(t), Some(u)) => Some(t.min(u)),
            (None, u) => u,
            (t, None) => t,
        };
        let ran = match deadline {
            Some(t) => self.d.step_until(t, &mut self.buf),
            None => self.d.step(&mut self.buf),
        };
        self.flush();
        if ran {
            return Next::Ran;
        }
        if self.at_stop() {
            self.stopped = true;
        }
        Next::Idle
    }

    /// Runs every event due up to `t` (the clock ends at `t`), `n` of them run already;
    /// `Ok(Some(n))` when the stop position cut it after `n`.
    fn run_to(&mut self, t: Millis, mut n: u64) -> Result<Option<u64>, String> {
        loop {
            if n >= self.opts.max_events_per_step {
                return Err(format!("stopped after {n} events (the per-step bound)"));
            }
            match self.event(Some(t)) {
                Next::Ran => n += 1,
                Next::Idle => return Ok(None),
                Next::Cut => return Ok(Some(n)),
            }
        }
    }

    /// `run` and `at`: the events due by `t`, then `at`'s action.
    fn wait_then(&mut self, step: usize, t: Millis, n: u64, then: Option<Box<Action>>) {
        match self.run_to(t, n) {
            Err(why) => self.check(step, false, why),
            Ok(Some(n)) => self.cut = Some(Unfinished::RunTo { t, n, then }),
            Ok(None) => {
                if let Some(a) = then.filter(|_| !self.stopped) {
                    self.action(step, &a);
                }
            }
        }
    }

    /// `step N`: `left` more events.
    fn steps(&mut self, mut left: u64) {
        while left > 0 {
            match self.event(None) {
                Next::Ran => left -= 1,
                Next::Idle => return,
                Next::Cut => return self.cut = Some(Unfinished::Steps(left)),
            }
        }
    }

    /// `run until`: events until `condition` holds (a check either way), `n` run.
    fn until(&mut self, step: usize, condition: &Predicate, deadline: Millis, mut n: u64) {
        loop {
            let (held, seen) = self.eval(condition);
            if held {
                self.check(step, true, format!("{seen} at t={}ms", self.d.now().0));
                return;
            }
            let resume = |n, _| Unfinished::Until { condition: condition.clone(), deadline, n };
            if !self.wait_event(step, deadline, &mut n, seen, resume) {
                return;
            }
        }
    }

    /// One event of a wait bounded by `deadline` and the per-step event budget (`run
    /// until`, `migration run`): true when one ran (counted in `n`). False when the wait
    /// is over: cut short (`resume(n, why)` is what continues it), or nothing more can
    /// happen in time (a failed check: not reached, `why`).
    fn wait_event(
        &mut self,
        step: usize,
        deadline: Millis,
        n: &mut u64,
        why: String,
        resume: impl FnOnce(u64, String) -> Unfinished,
    ) -> bool {
        let next = if *n >= self.opts.max_events_per_step { Next::Idle } else { self.event(Some(deadline)) };
        match next {
            Next::Ran => {
                *n += 1;
                true
            }
            Next::Cut => {
                self.cut = Some(resume(*n, why));
                false
            }
            Next::Idle => {
                if !self.stopped {
                    self.check(step, false, format!("not reached by t={}ms: {why}", self.d.now().0));
                }
                false
            }
        }
    }

    fn resolve(&self, r: &ServerRef) -> Result<ServerName, String> {
        match r {
            ServerRef::Named(n) => Ok(n.clone()),
            ServerRef::LeaderOf(c) => self.d.leader(c).ok_or_else(|| format!("{c} has no leader")),
        }
    }

    fn resolve_all(&self, rs: &[ServerRef]) -> Result<Vec<ServerName>, String> {
        rs.iter().map(|r| self.resolve(r)).collect()
    }

    fn members(&self, cluster: &str) -> Vec<ServerName> {
        let n = self.sc.cluster(cluster).map_or(0, Cluster::total);
        (1..=n).map(|id| ServerName { cluster: cluster.to_string(), id }).collect()
    }

    fn targets(&self, t: &Target) -> Result<Vec<ServerName>, String> {
        match t {
            Target::Server(r) => Ok(vec![self.resolve(r)?]),
            Target::Cluster(c) => Ok(self
                .members(c)
                .into_iter()
                .filter(|s| self.d.server(s).state != ServerState::Down)
                .collect()),
        }
    }

    fn handle(&self, r: &OpRef) -> Result<u64, String> {
        let ops = self.ops.get(&r.client).map(Vec::as_slice).unwrap_or(&[]);
        let handle = match r.nth {
            None => ops.last(),
            Some(n) => (n as usize).checked_sub(1).and_then(|i| ops.get(i)),
        };
        match handle {
            Some(&h) => Ok(h),
            None => Err(format!("{} has sent {} command(s)", r.client, ops.len())),
        }
    }

    fn op(&self, r: &OpRef) -> Result<OpStatus, String> {
        self.handle(r).map(|h| self.d.op(h))
    }

    /// Whether `p` holds, and what was seen.
    fn eval(&self, p: &Predicate) -> (bool, String) {
        match self.eval_inner(p) {
            Ok(r) => r,
            Err(why) => (false, why),
        }
    }

    fn eval_inner(&self, p: &Predicate) -> Result<(bool, String), String> {
        let status = |s: &OpStatus| match s {
            OpStatus::Pending => "pending".to_string(),
            OpStatus::Ok(v) => format!("ok {}", Quoted(v)),
            OpStatus::Failed(e) => format!("failed with {e}"),
        };
        Ok(match p {
            Predicate::Not(inner) => {
                let (held, seen) = self.eval_inner(inner)?;
                (!held, seen)
            }
            Predicate::HasLeader(c) => match self.d.leader(c) {
                Some(s) => (true, format!("{s} leads {c}")),
                None => (false, format!("{c} has no leader")),
            },
            Predicate::Is { server, state, epoch } => {
                let name = self.resolve(server)?;
                let st = self.d.server(&name);
                let held = st.state == *state && epoch.is_none_or(|e| e == st.epoch);
                (held, format!("{name} is {} in epoch {}", st.state.word(), st.epoch))
            }
            Predicate::HasNode { target, path, data } => {
                let mut seen = Vec::new();
                let mut held = true;
                for s in self.targets(target)? {
                    // `None`: no such node; `Some(None)`: null data.
                    let got = self.d.read(&s, path)?;
                    let text = got.as_ref().map(|d| d.as_option().map(String::from_utf8_lossy));
                    held &= match (&text, data) {
                        (None, _) => false,
                        (Some(_), None) => true,
                        (Some(g), Some(want)) => want.matches(g.as_deref()),
                    };
                    seen.push(match text {
                        None => format!("{s} has no {path}"),
                        Some(None) => format!("{s} has {path} = null"),
                        Some(Some(g)) => format!("{s} has {path} = {}", Quoted(&g)),
                    });
                }
                (held, seen.join(", "))
            }
            Predicate::HasCommitted { target, zxid } => {
                let mut seen = Vec::new();
                let mut held = true;
                for s in self.targets(target)? {
                    let c = self.d.server(&s).committed;
                    held &= c >= *zxid;
                    seen.push(format!("{s} committed 0x{c:x}"));
                }
                (held, seen.join(", "))
            }
            Predicate::HasVoters { target, voters } => {
                let want: Vec<u8> = voters.iter().map(|v| v.id).collect();
                let mut seen = Vec::new();
                let mut held = true;
                for s in self.targets(target)? {
                    match self.d.config(&s) {
                        Some((_, got)) => {
                            held &= got == want;
                            let names: Vec<String> =
                                got.iter().map(|id| format!("{}{id}", s.cluster)).collect();
                            seen.push(format!("{s} has voters {}", names.join(" ")));
                        }
                        None => {
                            held = false;
                            seen.push(format!("{s} has no configuration"));
                        }
                    }
                }
                (held, seen.join(", "))
            }
            Predicate::HasConfigVersion { target, version } => {
                let mut seen = Vec::new();
                let mut held = true;
                for s in self.targets(target)? {
                    match self.d.config(&s) {
                        Some((v, _)) => {
                            held &= v == *version;
                            seen.push(format!("{s} has config version 0x{v:x}"));
                        }
                        None => {
                            held = false;
                            seen.push(format!("{s} has no configuration"));
                        }
                    }
                }
                (held, seen.join(", "))
            }
            Predicate::Succeeded(r) => {
                let s = self.op(r)?;
                (matches!(s, OpStatus::Ok(_)), format!("{r} {}", status(&s)))
            }
            Predicate::Failed { op, code } => {
                let s = self.op(op)?;
                let held = match (&s, code) {
                    (OpStatus::Failed(_), None) => true,
                    (OpStatus::Failed(e), Some(c)) => e == c,
                    _ => false,
                };
                (held, format!("{op} {}", status(&s)))
            }
            Predicate::Pending(r) => {
                let s = self.op(r)?;
                (s == OpStatus::Pending, format!("{r} {}", status(&s)))
            }
            Predicate::Returned { op, value } => {
                let h = self.handle(op)?;
                let s = self.d.op(h);
                match &s {
                    OpStatus::Ok(_) if self.d.null_result(h) => {
                        (*value == Value::Null, format!("{op} ok null"))
                    }
                    OpStatus::Ok(v) => (value.matches(Some(v)), format!("{op} {}", status(&s))),
                    _ => (false, format!("{op} {}", status(&s))),
                }
            }
            Predicate::Migration(m) => self.eval_migration(m),
            Predicate::InvariantsHold => match self.d.violation() {
                None => (true, "no invariant broken".into()),
                Some(v) => (false, v),
            },
            Predicate::Connected(c) => {
                let held = self.d.connected(c);
                (held, format!("{c} is {}", if held { "connected" } else { "not connected" }))
            }
            Predicate::Saw { client, event, path, times } => {
                let n = self.d.saw(client, event, path.as_deref());
                let held = match times {
                    Some(t) => n == *t as usize,
                    None => n > 0,
                };
                let on = path.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
                (held, format!("{client} saw {event}{on} {n} times"))
            }
            Predicate::History { cluster, violates } => {
                let checks = self.d.check_history(cluster.as_deref())?;
                let mut seen = Vec::new();
                let mut held = true;
                for c in &checks {
                    held &= match violates {
                        None => c.verdict.is_ok(),
                        Some(rule) => c.verdict.violations().iter().any(|v| v.rule == *rule),
                    };
                    seen.push(format!("{}: {}", c.cluster, c.summary));
                }
                if violates.is_some() {
                    held = checks
                        .iter()
                        .any(|c| c.verdict.violations().iter().any(|v| Some(v.rule) == *violates));
                }
                (held, seen.join("; "))
            }
            Predicate::TraceContains(text) => {
                match self.world_lines.iter().find(|l| l.contains(text.as_str())) {
                    Some(l) => (true, format!("found in: {l}")),
                    None => (false, format!("no trace line contains {}", Quoted(text))),
                }
            }
        })
    }

    fn check(&mut self, step: usize, passed: bool, detail: String) {
        let text = self.sc.steps[step].to_string();
        self.push(format!("{} {text}: {detail}", if passed { "✓" } else { "✗" }));
        self.checks.push(Check { step, text, passed, detail });
    }

    fn fault(&mut self, a: &Action) -> Result<Option<Fault>, String> {
        Ok(Some(match a {
            Action::Kill(r) => Fault::Kill(self.resolve(r)?),
            Action::Restart(r) => Fault::Restart(self.resolve(r)?),
            Action::Pause(r, d) => Fault::Pause(self.resolve(r)?, *d),
            Action::Isolate(r) => Fault::Isolate(self.resolve(r)?),
            Action::Heal(r) => Fault::Heal(r.as_ref().map(|r| self.resolve(r)).transpose()?),
            Action::Partition(groups) => {
                Fault::Partition(groups.iter().map(|g| self.resolve_all(g)).collect::<Result<_, _>>()?)
            }
            Action::Cut { from, to } => {
                Fault::Cut { from: self.resolve_all(from)?, to: self.resolve_all(to)? }
            }
            Action::Network(n) => Fault::Network(n.clone()),
            Action::Link(l) => Fault::Link(l.clone()),
            Action::ServerLink { from, to, both_ways, net } => Fault::ServerLink {
                from: self.resolve(from)?,
                to: self.resolve(to)?,
                both_ways: *both_ways,
                net: net.clone(),
            },
            _ => return Ok(None),
        }))
    }

    fn action(&mut self, step: usize, a: &Action) {
        if let Some(fault) = self.fault(a).transpose() {
            let r = fault.and_then(|f| {
                let r = self.d.act(&f, &mut self.buf);
                self.flush();
                r
            });
            if let Err(why) = r {
                self.check(step, false, format!("cannot run: {why}"));
            }
            return;
        }
        match a {
            Action::Disconnect(c) | Action::Reconnect(c) => {
                let r = self.d.client_network(c, matches!(a, Action::Reconnect(_)), &mut self.buf);
                self.flush();
                if let Err(why) = r {
                    self.check(step, false, format!("cannot run: {why}"));
                }
            }
            Action::Client { client, command } => {
                let r = self.d.submit(client, command, &mut self.buf);
                self.flush();
                match r {
                    Ok(h) => self.ops.entry(client.clone()).or_default().push(h),
                    Err(why) => self.check(step, false, format!("cannot run: {why}")),
                }
            }
            Action::Run(d) => {
                let t = Millis(self.d.now().0.saturating_add(d.0));
                self.wait_then(step, t, 0, None);
            }
            Action::Deliver { from, to, kind } => {
                let done = match (self.resolve(from), self.resolve(to)) {
                    (Ok(a), Ok(b)) => self.d.deliver(&a, &b, kind.as_deref(), &mut self.buf),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                self.flush();
                if let Err(why) = done {
                    self.check(step, false, format!("cannot deliver: {why}"));
                }
            }
            Action::Step(n) => self.steps((*n).min(self.opts.max_events_per_step)),
            Action::RunUntil { condition, within } => {
                let deadline = Millis(self.d.now().0.saturating_add(within.unwrap_or(DEFAULT_WITHIN).0));
                self.until(step, condition, deadline, 0);
            }
            Action::At { time, action } => self.wait_then(step, *time, 0, Some(action.clone())),
            Action::Expect(p) => {
                let (held, seen) = self.eval(p);
                self.check(step, held, seen);
            }
            Action::Migration(m) => self.migration(step, m),
            _ => unreachable!("faults are handled above"),
        }
    }
}

/// Runs `scenario` on `driver` (built from the same scenario), every step.
pub fn run<D: Driver>(scenario: &Scenario, driver: D, opts: &Options) -> Report {
    let mut r = Runner::new(scenario.clone(), driver, opts.clone());
    r.run_all();
    r.report()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A toy world: every 10ms an event; a cluster with a majority up elects its highest
    /// live server in a new epoch; writes commit at the next event while a leader exists.
    #[derive(Default)]
    struct Toy {
        now: u64,
        events: u64,
        up: BTreeMap<(String, u8), bool>,
        sizes: BTreeMap<String, u8>,
        leader: BTreeMap<String, (u8, u32)>,
        /// Each znode's data (`None`: null, as `create /x` without data makes).
        tree: BTreeMap<String, Option<String>>,
        ops: Vec<(String, OpStatus, ZkCommand)>,
        hash: u64,
    }

    impl Toy {
        fn new(sc: &Scenario) -> Toy {
            let mut t = Toy::default();
            for c in &sc.clusters {
                t.sizes.insert(c.name.clone(), c.servers);
                for id in 1..=c.servers {
                    t.up.insert((c.name.clone(), id), true);
                }
            }
            t
        }
    }

    impl Driver for Toy {
        fn now(&self) -> Millis {
            Millis(self.now)
        }
        fn events(&self) -> u64 {
            self.events
        }
        fn step_until(&mut self, deadline: Millis, trace: &mut Vec<String>) -> bool {
            if self.now - self.now % 10 + 10 <= deadline.0 {
                self.step(trace)
            } else {
                self.now = self.now.max(deadline.0);
                false
            }
        }
        fn step(&mut self, trace: &mut Vec<String>) -> bool {
            self.now = self.now - self.now % 10 + 10;
            self.events += 1;
            for (c, &n) in &self.sizes {
                let live: Vec<u8> = (1..=n).filter(|&i| self.up[&(c.clone(), i)]).collect();
                if !self.leader.contains_key(c) && live.len() * 2 > n as usize {
                    let epoch = self.hash as u32 % 7 + 1;
                    self.leader.insert(c.clone(), (*live.last().unwrap(), epoch));
                    trace.push(format!("t={} {c}{} LEADING", self.now, live.last().unwrap()));
                }
            }
            for (_, status, cmd) in &mut self.ops {
                if *status == OpStatus::Pending && !self.leader.is_empty() {
                    if let ZkCommand::Create { path, data, .. } = cmd {
                        *status = if self.tree.contains_key(path.as_str()) {
                            OpStatus::Failed("NODEEXISTS".into())
                        } else {
                            self.tree.insert(path.clone(), data.clone());
                            OpStatus::Ok(path.clone())
                        };
                    }
                }
            }
            self.hash = self.hash.wrapping_mul(31).wrapping_add(self.events);
            true
        }
        fn act(&mut self, fault: &Fault, trace: &mut Vec<String>) -> Result<(), String> {
            match fault {
                Fault::Kill(s) => {
                    self.up.insert((s.cluster.clone(), s.id), false);
                    if self.leader.get(&s.cluster).is_some_and(|l| l.0 == s.id) {
                        self.leader.remove(&s.cluster);
                    }
                    trace.push(format!("t={} {s} CRASH", self.now));
                    Ok(())
                }
                _ => Err("the toy only kills".into()),
            }
        }
        fn submit(&mut self, client: &str, command: &ZkCommand, _: &mut Vec<String>) -> Result<u64, String> {
            self.ops.push((client.to_string(), OpStatus::Pending, command.clone()));
            Ok(self.ops.len() as u64 - 1)
        }
        fn op(&self, handle: u64) -> OpStatus {
            self.ops[handle as usize].1.clone()
        }
        fn server(&self, s: &ServerName) -> ServerStatus {
            let up = self.up[&(s.cluster.clone(), s.id)];
            let (state, epoch) = match self.leader.get(&s.cluster) {
                _ if !up => (ServerState::Down, 0),
                Some(&(l, e)) if l == s.id => (ServerState::Leading, e),
                Some(&(_, e)) => (ServerState::Following, e),
                None => (ServerState::Looking, 0),
            };
            ServerStatus { state, epoch, committed: 0 }
        }
        fn leader(&self, cluster: &str) -> Option<ServerName> {
            self.leader.get(cluster).map(|&(id, _)| ServerName { cluster: cluster.into(), id })
        }
        fn read(&self, _: &ServerName, path: &str) -> Result<Option<Data>, String> {
            Ok(self.tree.get(path).map(|d| Data::from(d.clone().map(String::into_bytes))))
        }
        fn violation(&self) -> Option<String> {
            None
        }
        fn trace_hash(&self) -> u64 {
            self.hash
        }
    }

    fn run_toy(text: &str, opts: &Options) -> Report {
        let sc = parse(text).unwrap_or_else(|e| panic!("{e}"));
        run(&sc, Toy::new(&sc), opts)
    }

    const LEADER_CRASH: &str = "cluster a with 3 servers\nclient c1 connects to a\n\n\
        run until a has a leader\nexpect a3 is leading\nkill leader of a\nexpect a has no leader\n\
        run until a has a leader within 1s\nexpect a2 is leading\n\
        c1: create /x 1\nc1: create /x 2\nrun 100ms\nexpect c1#1 returned \"/x\"\n\
        expect c1 failed with NODEEXISTS\nexpect a has /x = \"1\"\nexpect trace contains \"a2 LEADING\"\n";

    #[test]
    fn steps_run_in_order_and_checks_report_what_they_saw() {
        let r = run_toy(LEADER_CRASH, &Options::default());
        let failures: Vec<_> = r.failures().collect();
        assert!(r.passed(), "{failures:#?}\n{r}");
        assert_eq!(r.checks.len(), 9);
        assert_eq!(r.checks[1].detail, "a3 is leading in epoch 1");
        assert!(r.trace.iter().any(|l| l == "> kill leader of a"));
        assert!(r
            .trace
            .iter()
            .any(|l| l.starts_with("✓ expect a has /x = \"1\": a1 has /x = \"1\", a2 has /x")));
        assert_eq!(r.steps_run, 13);
        let summary = r.summary();
        assert_eq!(summary.lines().count(), 10, "{summary}");
        assert!(summary.ends_with(&format!("trace hash {:016x}\n", r.trace_hash)));
        let totals = format!("{}\n", summary.lines().last().unwrap());
        assert!(r.to_string().ends_with(&totals));
    }

    #[test]
    fn failures_say_what_was_seen() {
        let text = "cluster a with 3 servers\nclient c1 connects to a\n\nexpect a has a leader\n\
                    run until a3 is following within 50ms\nexpect c1 succeeded\npause a1 for 1s\n";
        let r = run_toy(text, &Options::default());
        assert!(!r.passed());
        let details: Vec<&str> = r.checks.iter().map(|c| c.detail.as_str()).collect();
        assert_eq!(details[0], "a has no leader");
        assert_eq!(details[1], "not reached by t=50ms: a3 is leading in epoch 1");
        assert_eq!(details[2], "c1 has sent 0 command(s)");
        assert_eq!(details[3], "cannot run: the toy only kills");
        assert_eq!(r.time, Millis(50));
    }

    #[test]
    fn a_run_stops_at_a_position_and_bounds_every_step() {
        let r = run_toy(LEADER_CRASH, &Options { stop_at_events: Some(3), ..Options::default() });
        assert_eq!(r.events, 3);
        assert!(r.steps_run < 13);
        let r = run_toy(
            "cluster a with 1 server\n\nrun 1000s\n",
            &Options { max_events_per_step: 100, ..Options::default() },
        );
        assert_eq!(r.events, 100);
        assert!(r.checks[0].detail.contains("per-step bound"));
    }

    #[test]
    fn the_same_scenario_gives_the_same_report() {
        let a = run_toy(LEADER_CRASH, &Options::default());
        let b = run_toy(LEADER_CRASH, &Options::default());
        assert_eq!(a, b);
    }
}
