//! The layout options of a file: the `[format]` table of the haconf.toml nearest above it.

use super::{Indent, Options};
use std::path::Path;

/// The `[format]` of the haconf.toml nearest above `path` (the defaults without one), and
/// whether it asks `fix` to format.
pub fn spec_format_for(path: &Path) -> Result<(Options, bool), String> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let Some(spec) = abs
        .ancestors()
        .skip(1)
        .map(|d| d.join("haconf.toml"))
        .find(|p| p.is_file())
    else {
        return Ok((Options::default(), false));
    };
    let shown = crate::output::display_path(&spec);
    let text = std::fs::read_to_string(&spec).map_err(|e| format!("{shown}: {e}"))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
    let Some(value) = table.get("format") else {
        return Ok((Options::default(), false));
    };
    let f: crate::cluster::spec::FormatSpec = value
        .clone()
        .try_into()
        .map_err(|e| format!("{shown}: [format]: {e}"))?;
    let indent = match (f.indent_style, f.indent_width) {
        (_, Some(w)) if !(1..=16).contains(&w) => {
            return Err(format!(
                "{shown}: [format] indent-width {w} is outside 1..16"
            ));
        }
        (Some(crate::cluster::spec::IndentStyle::Tab), _) => Indent::Tabs,
        (_, w) => Indent::Spaces(w.unwrap_or(4)),
    };
    Ok((Options { indent }, f.after_fix))
}

/// The layout options for `path`.
pub fn options_for(path: &Path) -> Result<Options, String> {
    spec_format_for(path).map(|o| o.0)
}
