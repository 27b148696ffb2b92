//! `zoolab`: serves the playground, and (as later issues land) runs scenarios headless,
//! sweeps faults, and runs a ZooKeeper-compatible ensemble over TCP.

mod play;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play { port, host, www } => play::run(&host, port, www),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zoolab: {e:#}");
            ExitCode::FAILURE
        }
    }
}
