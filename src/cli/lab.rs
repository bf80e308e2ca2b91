//! `haconf lab`: the command line of the lab (src/lab does the work).

use crate::lab::{self, Kind, Options};
use clap::ValueEnum;
use std::io::Write;
use std::path::PathBuf;

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum Network {
    /// Multicast reaches every node (a LAN, a docker bridge).
    Lan,
    /// Multicast is dropped, as cloud VPCs drop it.
    Cloud,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LabFormat {
    Human,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// The cluster directory (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Scenarios to run (default: all): baseline, nginx-dies, check-fails, node-crash,
    /// keepalived-stop, node-returns, partition, multicast-dropped.
    #[arg(long = "scenario", value_name = "NAME", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// The network between the nodes.
    #[arg(long, value_enum, default_value_t = Network::Lan)]
    pub network: Network,
    #[arg(long, value_enum, default_value_t = LabFormat::Human)]
    pub format: LabFormat,
    /// Also write an HTML report with a timeline per scenario.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Leave the last scenario's lab running and print how to enter it.
    #[arg(long)]
    pub keep: bool,
    /// Scenarios run at once, each in its own lab.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
}

pub fn run(args: LabArgs) -> i32 {
    let mut scenarios = Vec::new();
    for s in &args.scenarios {
        match Kind::parse(s.trim()) {
            Some(k) => scenarios.push(k),
            None => {
                eprintln!(
                    "error: unknown scenario `{s}` (one of: {})",
                    Kind::ALL.map(Kind::name).join(", ")
                );
                return 2;
            }
        }
    }
    if scenarios.is_empty() {
        scenarios = Kind::ALL.to_vec();
    }
    if let Err(e) = lab::preflight() {
        eprintln!("error: {e}");
        return 2;
    }
    let opts = Options {
        paths: if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        },
        scenarios,
        multicast: args.network == Network::Lan,
        keep: args.keep,
        progress: true,
        jobs: args.jobs,
    };
    let results = match lab::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return if lab::sandbox::stopped() { 130 } else { 2 };
        }
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        LabFormat::Human => {
            for r in &results {
                let _ = out.write_all(lab::report::human(r).as_bytes());
            }
        }
        LabFormat::Json => {
            let v = if results.len() == 1 {
                serde_json::to_string_pretty(&results[0])
            } else {
                serde_json::to_string_pretty(&results)
            };
            let _ = writeln!(out, "{}", v.unwrap_or_default());
        }
    }
    if let Some(p) = &args.report
        && let Err(e) = std::fs::write(p, lab::report::html(&results))
    {
        eprintln!("error: {}: {e}", p.display());
        return 2;
    }
    let disagree = results
        .iter()
        .flat_map(|r| &r.scenarios)
        .any(|s| !s.findings.is_empty());
    i32::from(disagree)
}
