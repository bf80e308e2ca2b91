//! The templates `generate` renders (tera), embedded in the binary; a directory given with
//! `--templates DIR` overrides any of them by file name (`DIR/keepalived.conf.tera`).
//!
//! Every value a template writes goes through a filter for the language it lands in — `sh`,
//! `ka` (keepalived), `nginx`, `comment` — which quotes it when it needs quotes and refuses
//! (a render error, nothing written) what that language cannot hold safely: the spec is
//! validated before (`cluster::spec`), and these filters are the second wall, should a value
//! ever get past the first. User templates are trusted code: they write what they say.

use std::path::Path;

/// The embedded templates: (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "keepalived.conf",
        include_str!("../../templates/keepalived.conf.tera"),
    ),
    (
        "nginx.conf",
        include_str!("../../templates/nginx.conf.tera"),
    ),
    (
        "chk_nginx.sh",
        include_str!("../../templates/chk_nginx.sh.tera"),
    ),
];

pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// The built-in templates, each replaced by `dir/NAME.tera` when that file exists.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(Vec::new());
        tera.register_filter("sh", filter(sh));
        tera.register_filter("ka", filter(ka));
        tera.register_filter("nginx", filter(nginx));
        tera.register_filter("comment", filter(|s, _| Ok(comment(s))));
        for (name, text) in BUILTIN {
            let own = dir.map(|d| d.join(format!("{name}.tera")));
            let text = match own.as_ref().filter(|p| p.is_file()) {
                Some(p) => {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?
                }
                None => (*text).to_string(),
            };
            tera.add_raw_template(name, &text)
                .map_err(|e| format!("template {name}: {}", error_chain(&e)))?;
        }
        Ok(Templates { tera })
    }

    pub fn render<T: serde::Serialize>(&self, name: &str, ctx: &T) -> Result<String, String> {
        let ctx = tera::Context::from_serialize(ctx).map_err(|e| error_chain(&e))?;
        let out = self
            .tera
            .render(name, &ctx)
            .map_err(|e| format!("template {name}: {}", error_chain(&e)))?;
        // Whatever a template did, no generated file holds a character that ends or bends a
        // line other than the newline (and tabs for indentation).
        if let Some(c) = out
            .chars()
            .find(|c| *c != '\n' && *c != '\t' && crate::cluster::spec::is_unsafe_char(*c))
        {
            return Err(format!(
                "template {name}: the output holds the control character U+{:04X}",
                c as u32
            ));
        }
        Ok(out)
    }
}

type Quote = fn(&str, bool) -> Result<String, String>;

/// A tera filter from a quoting function; `quote=true` quotes even a value that needs none.
fn filter(
    f: Quote,
) -> impl Fn(&tera::Value, &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value>
+ Sync
+ Send {
    move |v, args| {
        let s = match v {
            tera::Value::String(s) => s.clone(),
            tera::Value::Number(n) => n.to_string(),
            tera::Value::Bool(b) => b.to_string(),
            other => return Err(tera::Error::msg(format!("cannot quote {other}"))),
        };
        let always = args
            .get("quote")
            .and_then(tera::Value::as_bool)
            .unwrap_or(false);
        f(&s, always)
            .map(tera::Value::String)
            .map_err(tera::Error::msg)
    }
}

fn refuse_unsafe(s: &str, lang: &str) -> Result<(), String> {
    match s.chars().find(|c| crate::cluster::spec::is_unsafe_char(*c)) {
        Some(c) => Err(format!(
            "`{}` cannot be written into {lang}: it holds the control character U+{:04X}",
            s.escape_debug(),
            c as u32
        )),
        None => Ok(()),
    }
}

/// Characters every language here reads as part of a plain word.
fn plain(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._:@%+=,-".contains(c) || extra.contains(c))
}

/// A POSIX shell word: bare when plain, else single-quoted (`'` written as `'\''`).
pub(crate) fn sh(s: &str, always: bool) -> Result<String, String> {
    refuse_unsafe(s, "a shell script")?;
    if plain(s, "") && !always {
        return Ok(s.to_string());
    }
    Ok(format!("'{}'", s.replace('\'', "'\\''")))
}

/// A keepalived word. keepalived has no escapes in ordinary values: only `"` quotes, inside
/// which `#`, `!`, braces and blanks are literal; `$` starts a substitution everywhere, and a
/// line that starts with `@` or `~` means something else. So: bare when plain, else
/// double-quoted, and refused when it holds `"`, `$` or `\` (which script strings unescape).
pub(crate) fn ka(s: &str, always: bool) -> Result<String, String> {
    refuse_unsafe(s, "keepalived.conf")?;
    if let Some(c) = s.chars().find(|c| matches!(c, '"' | '$' | '\\')) {
        return Err(format!(
            "`{}` cannot be written into keepalived.conf: keepalived cannot quote `{c}`",
            s.escape_debug()
        ));
    }
    if plain(s, "") && !s.starts_with(['@', '~']) && !always {
        return Ok(s.to_string());
    }
    Ok(format!("\"{s}\""))
}

/// An nginx word: bare when plain, else double-quoted with `"` and `\` escaped; `$` is
/// refused (nginx expands variables inside quotes too).
pub(crate) fn nginx(s: &str, always: bool) -> Result<String, String> {
    refuse_unsafe(s, "nginx.conf")?;
    if s.contains('$') {
        return Err(format!(
            "`{}` cannot be written into nginx.conf: nginx would read `$` as a variable",
            s.escape_debug()
        ));
    }
    if plain(s, "*[]~") && !always {
        return Ok(s.to_string());
    }
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Text for a comment line: whatever would end or bend the line becomes `?`.
pub(crate) fn comment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if crate::cluster::spec::is_unsafe_char(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// tera's errors keep the useful part in their sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(
            sh("http://127.0.0.1:80/x", false).unwrap(),
            "http://127.0.0.1:80/x"
        );
        assert_eq!(sh("/a?b&c", false).unwrap(), "'/a?b&c'");
        assert_eq!(sh("it's", false).unwrap(), "'it'\\''s'");
        assert!(sh("a\nb", false).is_err());
        assert_eq!(ka("eth0", false).unwrap(), "eth0");
        assert_eq!(ka("a#b", false).unwrap(), "\"a#b\"");
        assert_eq!(ka("@x", false).unwrap(), "\"@x\"");
        assert!(ka("a\"b", false).is_err());
        assert!(ka("${_PWD}", false).is_err());
        assert_eq!(nginx("[fd00::1]:80", false).unwrap(), "[fd00::1]:80");
        assert_eq!(nginx("a;b", false).unwrap(), "\"a;b\"");
        assert_eq!(nginx("a\"b", false).unwrap(), "\"a\\\"b\"");
        assert!(nginx("$host", false).is_err());
        assert_eq!(comment("a\nb\u{2028}"), "a?b?");
    }
}
