//! `haconf generate`, `haconf init` and `haconf schema`.

use crate::generate::{self, Layout, templates::Templates};
use crate::source::{SourceDb, SourceFile};
use std::path::{Path, PathBuf};

#[derive(Copy, Clone, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum LayoutArg {
    /// `NODE/keepalived.conf`, `NODE/nginx.conf`, `NODE/chk_nginx.sh`
    Flat,
    /// `NODE/etc/keepalived/keepalived.conf`, `NODE/etc/nginx/nginx.conf`, ...
    Etc,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The spec (haconf.toml).
    pub spec: PathBuf,
    /// Write one directory per node here (created if needed).
    #[arg(long, conflicts_with = "diff")]
    pub out: Option<PathBuf>,
    /// Show, as unified diffs, what would change in this existing cluster; write nothing.
    #[arg(long)]
    pub diff: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = LayoutArg::Flat)]
    pub layout: LayoutArg,
    /// Templates overriding the built-in ones (`keepalived.conf.tera`, `nginx.conf.tera`,
    /// `chk_nginx.sh.tera`). They are trusted code: what they write is written.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// A directory of clusters whose VRIDs a derived VRID avoids (overrides the spec's
    /// `[cluster] fleet`). Without either, no other directory is read.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The cluster directory to describe.
    pub cluster: PathBuf,
    /// Print the spec on stdout instead of writing CLUSTER/haconf.toml.
    #[arg(long)]
    pub stdout: bool,
    /// Overwrite an existing haconf.toml.
    #[arg(long)]
    pub force: bool,
}

/// The VRIDs of the clusters in `fleet`, a directory of clusters, other than those in
/// `exclude` (the cluster being generated, where it is written). Only real directories are
/// entered: links, FIFOs, sockets and devices are skipped without being opened, so a fleet
/// directory that holds anything cannot make `generate` block.
fn fleet_vrids(fleet: &Path, exclude: &[PathBuf]) -> Result<Vec<u8>, String> {
    let meta = std::fs::symlink_metadata(fleet).map_err(|e| format!("{}: {e}", fleet.display()))?;
    if !meta.is_dir() {
        return Err(format!("{}: not a directory", fleet.display()));
    }
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    // The fleet's clusters are its directories, one level down; each is read by the loader
    // (which bounds its own depth), never anything beside them.
    let mut clusters = Vec::new();
    let rd = std::fs::read_dir(fleet).map_err(|e| format!("{}: {e}", fleet.display()))?;
    for e in rd.flatten() {
        let p = e.path();
        // The entry itself, never what a link points to.
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if !m.is_dir() || std::fs::canonicalize(&p).is_ok_and(|c| exclude.contains(&c)) {
            continue;
        }
        // The loader reads every file of a node; one that is a FIFO or a device (or a link
        // to one) would block it or never end, so such a cluster is left out, and said.
        if let Some(special) = special_below(&p, 4) {
            eprintln!(
                "warning: fleet: {} is not read: {} is not a regular file",
                p.display(),
                special.display()
            );
            continue;
        }
        clusters.push(p);
    }
    clusters.sort();
    let mut out = Vec::new();
    for p in clusters {
        let project = crate::project::Project::load_with(std::slice::from_ref(&p), false);
        for c in &project.clusters {
            let cm = crate::cluster::build(&project.db, c);
            for m in &cm.nodes {
                out.extend(
                    m.keepalived
                        .instances
                        .iter()
                        .filter_map(|i| i.vrid.as_ref().map(|v| v.value)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A FIFO, socket or device at most `depth` levels below `dir` (links followed by `stat`
/// only, never opened), if any.
fn special_below(dir: &Path, depth: usize) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let rd = std::fs::read_dir(dir).ok()?;
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let t = if m.file_type().is_symlink() {
            match std::fs::metadata(&p) {
                Ok(t) => t.file_type(),
                Err(_) => continue,
            }
        } else {
            m.file_type()
        };
        if t.is_fifo() || t.is_socket() || t.is_block_device() || t.is_char_device() {
            return Some(p);
        }
        if m.is_dir()
            && depth > 0
            && let Some(s) = special_below(&p, depth - 1)
        {
            return Some(s);
        }
    }
    None
}

pub fn generate(args: GenerateArgs) -> i32 {
    let bytes = match crate::source::read_regular(&args.spec, crate::source::MAX_FILE_SIZE) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", args.spec.display());
            return 2;
        }
    };
    let mut db = SourceDb::new();
    let file = db.add(SourceFile::new(&args.spec, bytes));
    let (spec, mut errs) = crate::cluster::spec::parse(&db, file);
    let spec_dir = args
        .spec
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let shown = args.spec.display().to_string();
    let holds_secret = spec
        .as_ref()
        .and_then(|s| s.cluster.as_ref())
        .is_some_and(|c| c.auth_pass.is_some());
    let plans = match spec {
        Some(spec) if errs.is_empty() => {
            // A fleet only where the user says there is one.
            let fleet = args.fleet.clone().or_else(|| {
                spec.cluster
                    .as_ref()
                    .and_then(|c| c.fleet.as_ref())
                    .map(|f| spec_dir.join(f.get_ref()))
            });
            let taken = match &fleet {
                Some(f) => {
                    let mut exclude = vec![spec_dir.clone()];
                    exclude.extend(args.out.clone());
                    match fleet_vrids(f, &exclude) {
                        Ok(v) => v,
                        Err(e) => {
                            eprintln!("error: fleet: {e}");
                            return 2;
                        }
                    }
                }
                None => Vec::new(),
            };
            match generate::plan(&spec, file, &shown, &taken) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs = e;
                    None
                }
            }
        }
        _ => None,
    };
    let Some(plans) = plans else {
        let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
        eprint!("{}", crate::output::human::render(&db, &errs, color));
        return 2;
    };
    let tpl = match Templates::load(args.templates.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let layout = match args.layout {
        LayoutArg::Flat => Layout::Flat,
        LayoutArg::Etc => Layout::Etc,
    };
    let files = match generate::render(&plans, &tpl, layout) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(existing) = &args.diff {
        let mut changed = 0;
        for g in &files {
            let path = existing.join(&g.path);
            let old = std::fs::read(&path).unwrap_or_default();
            if old != g.content.as_bytes() {
                changed += 1;
                print!(
                    "{}",
                    crate::fix::engine::unified_diff(
                        &g.path.display().to_string(),
                        &old,
                        g.content.as_bytes()
                    )
                );
            }
        }
        eprintln!(
            "{changed} of {} generated file{} differ from {}.",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            existing.display()
        );
        return i32::from(changed > 0);
    }
    let out = args.out.clone().unwrap_or_else(|| spec_dir.clone());
    let mut files = files;
    // The spec goes with the cluster it describes, so `check` compares the two.
    let same_dir = std::fs::canonicalize(&out).ok() == std::fs::canonicalize(&spec_dir).ok();
    if !same_dir {
        // The copy is no more readable than the spec it comes from, and owner-only when it
        // holds the VRRP password.
        let source = spec_mode(&args.spec);
        files.push(generate::Generated {
            path: PathBuf::from("haconf.toml"),
            content: db.get(file).text.to_string(),
            mode: if holds_secret {
                crate::write::secret_mode(Some(source))
            } else {
                source & 0o666
            },
        });
    }
    for g in &files {
        // keepalived.conf may hold auth_pass, and keepalived (root) needs no other reader.
        let mode = if g.path.file_name().is_some_and(|n| n == "keepalived.conf") {
            crate::write::secret_mode(Some(g.mode))
        } else {
            g.mode
        };
        if let Err(e) = crate::write::write_file(&out, &g.path, g.content.as_bytes(), mode, false) {
            eprintln!("error: {}: {e}", out.join(&g.path).display());
            return 2;
        }
    }
    eprintln!(
        "Generated {} files for {} node{} in {}.",
        plans.len() * 3,
        plans.len(),
        if plans.len() == 1 { "" } else { "s" },
        out.display()
    );
    0
}

pub fn init(args: InitArgs) -> i32 {
    if !args.cluster.is_dir() {
        eprintln!("error: {}: not a directory", args.cluster.display());
        return 2;
    }
    // The configs, not an existing spec, are described.
    let project = crate::project::Project::load_with(std::slice::from_ref(&args.cluster), false);
    let Some(cluster) = project.clusters.first() else {
        eprintln!(
            "error: {}: no cluster here (no node directory with a keepalived.conf)",
            args.cluster.display()
        );
        return 2;
    };
    if project.clusters.len() > 1 {
        eprintln!(
            "error: {}: a fleet of {} clusters; run init on one of them",
            args.cluster.display(),
            project.clusters.len()
        );
        return 2;
    }
    let cm = crate::cluster::build(&project.db, cluster);
    let inferred = generate::init::infer(&project, cluster, &cm);
    if !inferred.notes.is_empty() {
        eprintln!(
            "note: {} place{} where the spec, and so `haconf generate`, differs from today's configs (also written as comments in haconf.toml):",
            inferred.notes.len(),
            if inferred.notes.len() == 1 { "" } else { "s" }
        );
        for n in &inferred.notes {
            eprintln!("  - {n}");
        }
    }
    if args.stdout {
        print!("{}", inferred.toml);
        return 0;
    }
    let path = args.cluster.join("haconf.toml");
    if path.exists() && !args.force {
        eprintln!(
            "error: {} exists; use --force to replace it, or --stdout",
            path.display()
        );
        return 2;
    }
    // With auth_pass in it, the spec is owner-only and no more readable than the configs the
    // password comes from.
    let holds_secret = inferred
        .toml
        .lines()
        .any(|l| l.trim_start().starts_with("auth_pass"));
    let mode = if holds_secret {
        let strictest = cluster
            .nodes
            .iter()
            .filter_map(|n| n.keepalived.as_ref())
            .filter_map(|k| project.db.mode(&project.db.get(k.root).path))
            .fold(0o7777, |a, m| a & m);
        crate::write::secret_mode(Some(strictest))
    } else {
        0o644
    };
    if let Err(e) = crate::write::write_file(
        &args.cluster,
        Path::new("haconf.toml"),
        inferred.toml.as_bytes(),
        mode,
        false,
    ) {
        eprintln!("error: {}: {e}", path.display());
        return 2;
    }
    eprintln!("Wrote {}.", path.display());
    0
}

/// The permission bits of the spec file (0644 if they cannot be read).
fn spec_mode(spec: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(spec).map_or(0o644, |m| m.permissions().mode() & 0o777)
}
