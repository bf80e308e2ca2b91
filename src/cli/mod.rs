//! The command line: parses arguments and wires the pipeline stages together. It knows no
//! keyword and decides nothing about configs.

pub mod fix;
pub mod fmt;
pub mod generate;
pub mod lab;
pub mod pull;

use crate::diagnostic::Severity;
use crate::output;
use crate::project::Project;
use crate::rules::{self, Selection};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "haconf",
    version,
    about = "Check keepalived + nginx high-availability clusters: every node, and the cluster as a whole."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check clusters, nodes or files and report what is wrong.
    Check(CheckArgs),
    /// Fix what can be fixed: diffs (default), --write in place, or --out DIR.
    Fix(fix::FixArgs),
    /// Rewrite keepalived.conf and nginx.conf files in one layout (--check, --diff: write nothing).
    Fmt(fmt::FmtArgs),
    /// Render a whole cluster (one directory per node) from haconf.toml.
    Generate(generate::GenerateArgs),
    /// Write the haconf.toml that describes an existing cluster.
    Init(generate::InitArgs),
    /// Run the cluster with real keepalived and nginx in namespaces, inject faults, and set
    /// what happens beside what the failover model predicts.
    Lab(lab::LabArgs),
    /// Read a live cluster over SSH into a cluster directory, with each host's facts.
    Pull(pull::PullArgs),
    /// Show what differs between a cluster in the repository and the deployed one.
    Diff(pull::DiffArgs),
    /// Print the JSON Schema of haconf.toml.
    Schema,
    /// Run the language server on stdio (diagnostics, fixes, hover, completion).
    Lsp,
    /// List the rules.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Show the documentation of one rule (by code or name).
    Explain { code: String },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) on stdout.
    Manpage,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// One line per finding: `file:line:col: CODE severity: message`.
    Concise,
    /// GitHub Actions annotations.
    Github,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML, one failed test case per finding.
    Junit,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Cluster directories, node directories or files (default: the current directory);
    /// `ssh://[user@]host[:port]` reads a live host (see `haconf pull`).
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 when a finding has at least this severity [default: haconf.toml's
    /// `[lint] fail-on`, else warning].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Colour in human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Also print notes (inferred contexts, files read).
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only the summary line (human format): counts, and what `haconf fix` can fix.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the failover model: for each instance and failure scenario, every node's
    /// effective priority and who holds the VIP.
    #[arg(long)]
    pub failover: bool,
    /// Print how many findings each rule made, instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Exit 0 even when there are findings (errors reading input still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in FILE (and exit 0): later runs with `--baseline FILE` report
    /// only new ones.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    #[command(flatten)]
    pub ssh: pull::SshArgs,
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(args) => pull::check(args),
        Command::Pull(args) => pull::run(args),
        Command::Diff(args) => pull::diff(args),
        Command::Fix(args) => fix::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Generate(args) => generate::generate(args),
        Command::Init(args) => generate::init(args),
        Command::Lsp => crate::lsp::run(),
        Command::Lab(args) => lab::run(args),
        Command::Schema => {
            print!("{}", crate::cluster::spec::json_schema());
            0
        }
        Command::Rules { format } => list_rules(format),
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "haconf", &mut std::io::stdout());
            0
        }
        Command::Manpage => {
            use clap::CommandFactory;
            let man = clap_mangen::Man::new(Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            }
        }
    }
}

/// Which rules run and whether the spec is read: shared by `check` and `fix`.
#[derive(clap::Args, Debug)]
pub struct RuleArgs {
    /// Only these rules (codes, prefixes or groups, comma-separated: `KA002,NX,pedantic`;
    /// `ALL` for every rule) instead of the default set.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// These rules in addition to the default set (or to `--select`).
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Not these rules (codes or prefixes, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Do not read haconf.toml.
    #[arg(long)]
    pub no_spec: bool,
}

impl RuleArgs {
    /// The rule selection, refusing codes that match no rule.
    pub fn selection(&self) -> Result<Selection, String> {
        selection(&self.select, &self.extend_select, &self.ignore)
    }
}

/// The rule selection of `--select`/`--ignore`, refusing codes that match no rule.
fn selection(
    select: &[String],
    extend_select: &[String],
    ignore: &[String],
) -> Result<Selection, String> {
    let clean = |l: &[String]| -> Result<Vec<String>, String> {
        l.iter()
            .map(|c| {
                let c = c.trim();
                if c == "ALL"
                    || rules::Group::parse(c).is_some()
                    || c == "SC"
                    || rules::script::shellcheck::is_sc(c)
                    || rules::all().iter().any(|r| r.code.starts_with(c))
                {
                    Ok(c.to_owned())
                } else {
                    Err(format!("`{c}` matches no rule code (see `haconf rules`)"))
                }
            })
            .collect()
    };
    Ok(Selection {
        select: clean(select)?,
        extend_select: clean(extend_select)?,
        ignore: clean(ignore)?,
    })
}

fn check(args: CheckArgs) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let sel = match args.rules.selection() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let project = Project::load_with(&paths, !args.rules.no_spec);
    if !project.errors.is_empty() {
        for e in &project.errors {
            eprintln!("error: {e}");
        }
        return 2;
    }
    let mut load_errors = Vec::new();
    for c in &project.clusters {
        for n in &c.nodes {
            if let Some(e) = n.keepalived.as_ref().and_then(|k| k.load_error.clone()) {
                load_errors.push(e);
            }
            load_errors.extend(n.nginx.iter().filter_map(|u| u.load_error.clone()));
        }
    }
    if !load_errors.is_empty() {
        for e in &load_errors {
            eprintln!("error: {e}");
        }
        return 2;
    }
    let mut outcome = rules::run_full(&project, &sel);
    if let Some(path) = &args.write_baseline {
        let text = output::baseline::write(&project.db, &outcome.diagnostics);
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
        eprintln!(
            "wrote {} findings to {}",
            outcome.diagnostics.len(),
            path.display()
        );
        return 0;
    }
    if let Some(path) = &args.baseline {
        let baseline = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| output::baseline::parse(&t))
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read baseline {}: {e}", path.display());
                return 2;
            }
        };
        let all = std::mem::take(&mut outcome.diagnostics);
        outcome.diagnostics = output::baseline::filter(&project.db, all, &baseline);
    }
    let diags = &outcome.diagnostics;
    // `fail-on` from the command line wins; otherwise the strictest `[lint] fail-on` of the
    // clusters checked.
    let spec_fail_on = outcome
        .clusters
        .iter()
        .filter_map(|(_, m)| m.spec.as_ref()?.lint.as_ref()?.fail_on.as_ref())
        .filter_map(|f| Severity::parse(f.get_ref()))
        .min();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        _ if args.statistics => {
            let _ = out.write_all(output::statistics(diags).as_bytes());
        }
        Format::Concise => {
            let _ = out.write_all(output::concise::render(&project.db, diags).as_bytes());
        }
        Format::Junit => {
            let _ = out.write_all(output::junit::render(&project.db, diags).as_bytes());
        }
        Format::Sarif => {
            let _ = out.write_all(output::sarif::render(&project.db, diags).as_bytes());
        }
        Format::Github => {
            let _ = out.write_all(output::github::render(&project.db, diags).as_bytes());
        }
        Format::Json => {
            let _ =
                out.write_all(output::json::render(&project.db, diags, &project.notes).as_bytes());
        }
        Format::Human => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            if args.verbose {
                for n in &project.notes {
                    eprintln!("note: {n}");
                }
                let has_scripts = project
                    .clusters
                    .iter()
                    .flat_map(|c| &c.nodes)
                    .any(|n| n.programs.iter().any(|p| p.file.is_some()));
                if has_scripts && let Some(n) = crate::rules::script::shellcheck::note() {
                    eprintln!("note: {n}");
                }
                let files = project.db.len();
                let nodes: usize = project.clusters.iter().map(|c| c.nodes.len()).sum();
                eprintln!(
                    "note: read {files} file{} in {nodes} node{} of {} cluster{}",
                    if files == 1 { "" } else { "s" },
                    if nodes == 1 { "" } else { "s" },
                    project.clusters.len(),
                    if project.clusters.len() == 1 { "" } else { "s" }
                );
            } else if !project.notes.is_empty() && !args.quiet {
                eprintln!(
                    "note: {} note{} on how files were read (see --verbose)",
                    project.notes.len(),
                    if project.notes.len() == 1 { "" } else { "s" }
                );
            }
            let text = if args.quiet {
                output::human::summary(&project.db, diags)
            } else {
                output::human::render(&project.db, diags, color)
            };
            let _ = out.write_all(text.as_bytes());
            if args.failover {
                for (c, m) in &outcome.clusters {
                    let _ = out.write_all(crate::cluster::failover::render(c, m).as_bytes());
                }
            }
        }
    }
    let threshold = match args.fail_on {
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
        Some(FailOn::Info) => Severity::Info,
        None => spec_fail_on.unwrap_or(Severity::Warning),
    };
    if !args.exit_zero && diags.iter().any(|d| d.severity >= threshold) {
        1
    } else {
        0
    }
}

fn list_rules(format: ListFormat) -> i32 {
    match format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = rules::all()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity,
                        "group": r.group.as_str(),
                        "default": r.default,
                        "why": r.why,
                        "fix": r.fix.as_str(),
                        "summary": r.summary,
                        "docs": r.docs,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        ListFormat::Human => {
            println!(
                "{:<6} {:<28} {:<12} {:<8} {:<8} {:<16} summary",
                "code", "name", "group", "default", "severity", "fix"
            );
            for r in rules::all() {
                println!(
                    "{:<6} {:<28} {:<12} {:<8} {:<8} {:<16} {}",
                    r.code,
                    r.name,
                    r.group.as_str(),
                    if r.default { "on" } else { "off" },
                    r.severity.as_str(),
                    r.fix.as_str(),
                    r.summary
                );
            }
            println!(
                "\n`on` rules run by default; the others with `--select CODE`, `--extend-select CODE`\nor `[lint] extend-select` in haconf.toml (a group name selects the whole group).\nshellcheck's findings (SC…) are opt-in too: `--extend-select SC`."
            );
        }
    }
    0
}

fn explain(code: &str) -> i32 {
    let found = rules::all()
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code);
    match found {
        Some(r) => {
            println!("# {} ({})\n", r.code, r.name);
            println!(
                "Group: {}. {}. Default severity: {}. Fix: {}.\n",
                r.group.as_str(),
                if r.default {
                    "On by default"
                } else {
                    "Off by default (opt in with `--extend-select` or `[lint] extend-select`)"
                },
                r.severity.as_str(),
                r.fix.as_str()
            );
            println!("Why: {}.\n", r.why);
            print!("{}", r.docs);
            0
        }
        None if crate::rules::script::shellcheck::is_sc(&code.to_ascii_uppercase()) => {
            let code = code.to_ascii_uppercase();
            println!(
                "# {code} (shellcheck)\n\nA finding of shellcheck on a health-check script, passed on with its own code.\nIts documentation: {}",
                crate::rules::script::shellcheck::wiki(&code)
            );
            0
        }
        None => {
            eprintln!("error: no rule `{code}` (see `haconf rules`)");
            2
        }
    }
}
