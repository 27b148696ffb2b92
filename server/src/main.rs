//! `zoolab`: serves the playground, and (as later issues land) runs scenarios headless,
//! sweeps faults, and runs a ZooKeeper-compatible ensemble over TCP.

mod exercise;
mod fuzz;
mod history;
mod play;
mod quorum;
mod run;
mod zk;

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
    /// Run a ZooKeeper-compatible server configured by a zoo.cfg: standalone, or one
    /// member of an ensemble when it has server.N lines (and myid in dataDir).
    Server {
        /// ZooKeeper's configuration file (tickTime, dataDir, clientPort, ...).
        #[arg(long)]
        config: PathBuf,
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
        /// register map (ZAB alone).
        #[arg(long, value_enum, default_value = "tree")]
        state: fuzz::State,
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
        Command::Play { port, host, www } => play::run(&host, port, www),
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
        Command::Fuzz { seeds, from, bug, fault_ms, jobs, state } => {
            match fuzz::run(from, seeds, jobs, state, bug.as_deref(), fault_ms) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(1),
                Err(e) => Err(e),
            }
        }
        Command::Server { config } => zk::run(&config),
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
