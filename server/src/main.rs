//! `zoolab`: serves the playground, and (as later issues land) runs scenarios headless,
//! sweeps faults, and runs a ZooKeeper-compatible ensemble over TCP.

mod attach;
mod exercise;
mod fuzz;
mod history;
mod migrate;
mod play;
mod quorum;
mod run;
mod zk;
mod zkclient;
mod zkimport;

/// jemalloc rather than glibc's malloc: under 64 sessions of 1 KB setData, glibc's
/// `_int_malloc`, `malloc_consolidate` and `free` took about a fifth of a 3-member
/// ensemble's CPU (values of 1 KB and more miss its per-thread cache and are freed on
/// other threads); with jemalloc the same ensemble wrote 9–35% more in alternating runs,
/// with the same resident memory (BENCHMARKS.md, "The allocator").
#[cfg(all(unix, not(target_arch = "wasm32")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings (its `malloc_conf`, read at its start: a C string): freed pages
/// go back to the system within a second, by a thread of jemalloc's own rather than
/// only when the server next allocates, so the resident memory is the live data's.
/// A test reads the settings back, so a change that stops them being read fails it.
#[cfg(all(unix, not(target_arch = "wasm32")))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: Option<&'static std::ffi::c_char> = {
    const CONF: &std::ffi::CStr = c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
    // SAFETY: a pointer to the first byte of a static C string.
    Some(unsafe { &*CONF.as_ptr() })
};

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// zoolab — a ZooKeeper laboratory.
#[derive(Parser, Debug)]
#[command(name = "zoolab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the playground (the simulator in the browser) over HTTP.
    Play {
        /// The port to listen on.
        #[arg(long, default_value_t = 8080, env = "ZOOLAB_PORT")]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The folder holding index.html and the built wasm (`pkg/`).
        #[arg(long, env = "ZOOLAB_WWW")]
        www: Option<PathBuf>,
        /// Watch a running ensemble instead of the simulator: its members' client ports
        /// (`host:port,host:port,…`); the page's live mode is at `/#live`.
        #[arg(long, value_name = "HOST:PORT,...")]
        attach: Option<String>,
    },
    /// Run a scenario headless: print each expectation's result (and the trace), exit
    /// non-zero when one fails. INPUT is a file, a share link (URL or fragment), or the
    /// name of a built-in scenario.
    Run {
        /// The scenario: a .zk file, a link, or a built-in's name.
        input: String,
        /// Stop at this simulated time (e.g. 500ms, 3s).
        #[arg(long)]
        until: Option<String>,
        /// Print the whole trace before the results.
        #[arg(long)]
        trace: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a client history (the core checker's JSON, e.g. recorded by the ensemble
    /// tests against real servers) against ZooKeeper's guarantees.
    CheckHistory {
        /// The history file (JSON).
        file: String,
    },
    /// Migrate a subtree from one real ensemble to another (any ZooKeeper, Apache
    /// ZooKeeper 3.8 included): the phases draft → preflight → seed → catch-up → verify →
    /// freeze → final sync → cut over → soak → commit, each gate's evidence printed, a
    /// JSON journal so a killed run resumes. Into zoolab it uses zoolab's exact import
    /// path (super-user); out of zoolab, zoolab's write fence at the freeze.
    Migrate(migrate::Opts),
    /// Run a ZooKeeper-compatible server configured by a zoo.cfg: standalone, or one
    /// member of an ensemble when it has server.N lines (and myid in dataDir).
    Server {
        /// ZooKeeper's configuration file (tickTime, dataDir, clientPort, ...).
        #[arg(long)]
        config: PathBuf,
        /// Start from an Apache ZooKeeper data directory (its `version-2` snapshots and
        /// logs, read only): its tree seeds zoolab's store under `dataDir`, which must
        /// hold no zoolab data yet. DIR may be that same `dataDir`.
        #[arg(long, value_name = "DIR")]
        import_zk: Option<PathBuf>,
        /// With --import-zk: ZooKeeper's `dataLogDir`, when its logs are kept apart.
        #[arg(long, value_name = "DIR", requires = "import_zk")]
        import_zk_log_dir: Option<PathBuf>,
        /// With --import-zk: go on even if zoolab's digest differed from ZooKeeper's.
        #[arg(long)]
        allow_digest_mismatch: bool,
        /// An ensemble member's election starts with its acceptedEpoch raised to at least
        /// this epoch, so the next leader's zxids pass it (`zoolab migrate`'s cut-over when
        /// the source is in a later epoch: restart every target member with it).
        #[arg(long, value_name = "EPOCH")]
        min_epoch: Option<u32>,
    },
    /// Read an Apache ZooKeeper data directory (snapshots and transaction logs) into
    /// zoolab's tree: print a summary (zxid, znodes, sessions, digest — compare it with
    /// ZooKeeper's `hash`), or everything as JSON; optionally write a zoolab snapshot.
    ZkImport {
        /// ZooKeeper's dataDir (or its version-2 folder).
        #[arg(long)]
        data_dir: PathBuf,
        /// ZooKeeper's dataLogDir, when its logs are kept apart from the snapshots.
        #[arg(long)]
        data_log_dir: Option<PathBuf>,
        /// Write the tree as a zoolab snapshot to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON (the summary's numbers and every znode) instead of the summary.
        #[arg(long, conflicts_with = "hash")]
        json: bool,
        /// Print what ZooKeeper's `hash` four-letter word lists (the digest at every
        /// replayed zxid that is a multiple of 128), to diff with a real server's.
        #[arg(long)]
        hash: bool,
        /// Succeed even if zoolab's digest differed from ZooKeeper's on the way.
        #[arg(long)]
        allow_digest_mismatch: bool,
    },
    /// Classroom exercises: list them, or check one (its reference solution must solve it
    /// and its wrong attempt must not).
    Exercise {
        #[command(subcommand)]
        command: ExerciseCommand,
    },
    /// Grade a class: one submitted link per line of LINKS (`student-label link`), checked
    /// headless against the exercise's goals; writes a CSV (student, solved, passed goals,
    /// failed goals, trace hash, error).
    Grade {
        /// The file of submitted links.
        links: String,
        /// The exercise: a built-in's name or a .toml file.
        #[arg(long)]
        exercise: String,
        /// Where to write the CSV (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: String,
    },
    /// Sweep seeds: random clusters (3–7 servers, observers), random client writes and
    /// faults; every invariant checked after every event; after the faults stop, the
    /// servers must converge. Prints each failing seed with the command that replays it.
    Fuzz {
        /// How many seeds to run.
        #[arg(long, default_value_t = 1_000)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Switch on a deliberately broken behaviour (commit_without_quorum, skip_trunc,
        /// elect_by_id) to watch the sweep catch it.
        #[arg(long)]
        bug: Option<String>,
        /// How long faults go on in each run, in simulated milliseconds.
        #[arg(long)]
        fault_ms: Option<u64>,
        /// Worker threads.
        #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
        jobs: usize,
        /// What the ensembles replicate: ZooKeeper's data tree with sessions, or a toy
        /// register map (ZAB alone); `clients` judges simulated clients' histories,
        /// `migration` runs a random migration between two clusters per seed.
        #[arg(long, value_enum, default_value = "tree")]
        state: fuzz::State,
        /// With `--state clients`: print the scenario of seed `--from` instead of running
        /// it (to replay it with `zoolab run`, share it as a link, or keep it as a
        /// regression in core/tests/regressions/).
        #[arg(long)]
        print_scenario: bool,
        /// With `--state clients`: the clients' one-way latency to the servers, in
        /// milliseconds (the scenarios' `network client latency`; 0: instantaneous).
        #[arg(long, default_value_t = 0)]
        client_latency_ms: u64,
    },
}

#[derive(Subcommand, Debug)]
enum ExerciseCommand {
    /// List the built-in exercises.
    List,
    /// Validate an exercise file (or a built-in) and run its reference solution and its
    /// wrong attempt.
    Check {
        /// A .toml file or a built-in's name.
        exercise: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play { port, host, www, attach } => play::run(&host, port, www, attach.as_deref()),
        Command::Run { input, until, trace, json } => match run::run(&input, until.as_deref(), trace, json) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Exercise { command: ExerciseCommand::List } => {
            exercise::list();
            Ok(())
        }
        Command::Exercise { command: ExerciseCommand::Check { exercise: input } } => {
            match exercise::check(&input) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(1),
                Err(e) => Err(e),
            }
        }
        Command::Grade { links, exercise: input, out } => {
            exercise::grade(&links, &input, &out).map(|solved| {
                eprintln!("grade: {solved} solved");
            })
        }
        Command::Fuzz {
            from,
            bug,
            state: fuzz::State::Clients,
            print_scenario: true,
            client_latency_ms,
            ..
        } => fuzz::options(bug.as_deref(), None)
            .map(|opts| print!("{}", fuzz::client_scenario(from, &opts, client_latency_ms))),
        Command::Fuzz { print_scenario: true, .. } => {
            Err(anyhow::anyhow!("--print-scenario needs --state clients"))
        }
        Command::Fuzz { seeds, from, bug, fault_ms, jobs, state, client_latency_ms, .. } => {
            match fuzz::run(from, seeds, jobs, state, bug.as_deref(), fault_ms, client_latency_ms) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(1),
                Err(e) => Err(e),
            }
        }
        Command::Server { config, import_zk, import_zk_log_dir, allow_digest_mismatch, min_epoch } => {
            match import_zk {
                Some(dir) => {
                    zkimport::seed_server(&config, &dir, import_zk_log_dir.as_deref(), allow_digest_mismatch)
                        .and_then(|()| zk::run(&config, min_epoch))
                }
                None => zk::run(&config, min_epoch),
            }
        }
        Command::ZkImport { data_dir, data_log_dir, out, json, hash, allow_digest_mismatch } => {
            let output = match (json, hash) {
                (true, _) => zkimport::Output::Json,
                (_, true) => zkimport::Output::Hash,
                _ => zkimport::Output::Summary,
            };
            zkimport::run(&data_dir, data_log_dir.as_deref(), out.as_deref(), output, allow_digest_mismatch)
        }
        Command::Migrate(opts) => match migrate::run(opts) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(2),
            Err(e) => Err(e),
        },
        Command::CheckHistory { file } => match history::run(&file) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zoolab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(all(test, unix, not(target_arch = "wasm32")))]
mod allocator_tests {
    /// The settings in `malloc_conf` are the ones jemalloc runs with (its symbol name
    /// and C-string form are right).
    #[test]
    fn jemalloc_runs_with_our_settings() {
        let _ = Box::new([0u8; 64]); // jemalloc starts at the first allocation
        assert!(tikv_jemalloc_ctl::opt::background_thread::read().unwrap());
        // SAFETY: `opt.dirty_decay_ms` is an ssize_t.
        let decay = unsafe { tikv_jemalloc_ctl::raw::read::<isize>(b"opt.dirty_decay_ms\0") };
        assert_eq!(decay.unwrap(), 1000);
    }
}
