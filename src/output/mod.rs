//! Renderers: one file per format. They print diagnostics; they never decide what is wrong.

pub mod human;
pub mod json;

use std::path::Path;

/// A path as the user should see it: relative to the working directory when it is below it.
pub fn display_path(p: &Path) -> String {
    if p.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = p.strip_prefix(&cwd)
    {
        return rel.to_string_lossy().into_owned();
    }
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}
