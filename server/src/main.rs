//! `zoolab`: serves the playground, and (as later issues land) runs scenarios headless,
//! sweeps faults, and runs a ZooKeeper-compatible ensemble over TCP.

mod play;
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
    /// Run a ZooKeeper-compatible server (standalone) configured by a zoo.cfg.
    Server {
        /// ZooKeeper's configuration file (tickTime, dataDir, clientPort, ...).
        #[arg(long)]
        config: PathBuf,
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
        Command::Server { config } => zk::run(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zoolab: {e:#}");
            ExitCode::FAILURE
        }
    }
}
