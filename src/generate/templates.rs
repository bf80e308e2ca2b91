//! The templates `generate` renders (tera), embedded in the binary; a directory given with
//! `--templates DIR` overrides any of them by file name (`DIR/keepalived.conf.tera`).

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
        self.tera
            .render(name, &ctx)
            .map_err(|e| format!("template {name}: {}", error_chain(&e)))
    }
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
