//! nginx's vocabulary, read from `data/nginx-directives.tsv` (one row per directive and module,
//! extracted from nginx's `ngx_command_t` tables). It drives the unknown-directive,
//! wrong-context and argument-count rules.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/nginx-directives.tsv");

/// The contexts of nginx (`NGX_*_CONF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Main,
    Events,
    Http,
    Server,
    Location,
    Upstream,
    IfInServer,
    IfInLocation,
    LimitExcept,
    Stream,
    StreamServer,
    StreamUpstream,
    Mail,
    MailServer,
    /// Blocks whose body is not directives (`map`, `types`, `geo`, Lua ...): not checked.
    Opaque,
}

impl Context {
    pub fn parse(s: &str) -> Option<Context> {
        Some(match s {
            "main" => Context::Main,
            "events" => Context::Events,
            "http" => Context::Http,
            "server" => Context::Server,
            "location" => Context::Location,
            "upstream" => Context::Upstream,
            "if_in_server" => Context::IfInServer,
            "if_in_location" => Context::IfInLocation,
            "limit_except" => Context::LimitExcept,
            "stream" => Context::Stream,
            "stream_server" => Context::StreamServer,
            "stream_upstream" => Context::StreamUpstream,
            "mail" => Context::Mail,
            "mail_server" => Context::MailServer,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Context::Main => "main",
            Context::Events => "events",
            Context::Http => "http",
            Context::Server => "server",
            Context::Location => "location",
            Context::Upstream => "upstream",
            Context::IfInServer => "if (in server)",
            Context::IfInLocation => "if (in location)",
            Context::LimitExcept => "limit_except",
            Context::Stream => "stream",
            Context::StreamServer => "server (in stream)",
            Context::StreamUpstream => "upstream (in stream)",
            Context::Mail => "mail",
            Context::MailServer => "server (in mail)",
            Context::Opaque => "raw block",
        }
    }
}

/// How many arguments a directive takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Range(usize, usize),
    /// Exactly 1 or 3 (`1|3`).
    OneOrThree,
    /// Exactly one `on`/`off`.
    Flag,
}

impl Arity {
    fn parse(s: &str) -> Arity {
        match s {
            "flag" => Arity::Flag,
            "1|3" => Arity::OneOrThree,
            _ => {
                if let Some(lo) = s.strip_suffix('+') {
                    Arity::Range(lo.parse().unwrap_or(0), usize::MAX)
                } else if let Some((lo, hi)) = s.split_once('-') {
                    Arity::Range(lo.parse().unwrap_or(0), hi.parse().unwrap_or(usize::MAX))
                } else {
                    let n = s.parse().unwrap_or(0);
                    Arity::Range(n, n)
                }
            }
        }
    }

    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Range(lo, hi) => n >= lo && n <= hi,
            Arity::OneOrThree => n == 1 || n == 3,
            Arity::Flag => n == 1,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Arity::Flag => "one argument, `on` or `off`".into(),
            Arity::OneOrThree => "1 or 3 arguments".into(),
            Arity::Range(0, 0) => "no arguments".into(),
            Arity::Range(a, b) if a == b => {
                format!("{a} argument{}", if a == 1 { "" } else { "s" })
            }
            Arity::Range(a, usize::MAX) => {
                format!("at least {a} argument{}", if a == 1 { "" } else { "s" })
            }
            Arity::Range(a, b) => format!("{a} to {b} arguments"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Directive {
    pub name: String,
    pub contexts: Vec<Context>,
    pub arity: Arity,
    pub module: String,
    pub notes: String,
    pub block: bool,
    /// From a third-party module or NGINX Plus: accepted, since haconf cannot know which
    /// modules a node loads, but never suggested.
    pub third_party: bool,
}

impl Directive {
    /// Whether the directive may stand in `ctx` (`include` may stand anywhere).
    pub fn contains_ctx(&self, ctx: Context) -> bool {
        self.name == "include" || self.contexts.contains(&ctx)
    }

    /// The context the block of this directive opens, given the context it appears in.
    pub fn child_context(&self, parent: Context) -> Context {
        match self.name.as_str() {
            "events" => Context::Events,
            "http" => Context::Http,
            "stream" => Context::Stream,
            "mail" => Context::Mail,
            "server" => match parent {
                Context::Stream => Context::StreamServer,
                Context::Mail => Context::MailServer,
                _ => Context::Server,
            },
            "location" => Context::Location,
            "upstream" => match parent {
                Context::Stream => Context::StreamUpstream,
                _ => Context::Upstream,
            },
            "if" => match parent {
                Context::Location | Context::IfInLocation => Context::IfInLocation,
                _ => Context::IfInServer,
            },
            "limit_except" => Context::LimitExcept,
            _ => Context::Opaque,
        }
    }
}

pub struct Vocabulary {
    by_name: HashMap<String, Vec<Directive>>,
}

impl Vocabulary {
    pub fn get() -> &'static Vocabulary {
        static V: OnceLock<Vocabulary> = OnceLock::new();
        V.get_or_init(load)
    }

    pub fn lookup(&self, name: &str) -> &[Directive] {
        self.by_name.get(name).map_or(&[], |v| v.as_slice())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The rows of `name` allowed in `ctx`.
    pub fn allowed_in(&self, name: &str, ctx: Context) -> Vec<&Directive> {
        self.lookup(name)
            .iter()
            .filter(|d| d.contains_ctx(ctx))
            .collect()
    }
}

fn load() -> Vocabulary {
    let mut by_name: HashMap<String, Vec<Directive>> = HashMap::new();
    for line in TABLE.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 10 {
            continue;
        }
        let name = cols[0].to_owned();
        let mut contexts: Vec<Context> = cols[1].split(',').filter_map(Context::parse).collect();
        if name == "if" {
            // The table lists where `if` may stand (server, location); an `if` inside an
            // `if` is not allowed.
            contexts = vec![Context::Server, Context::Location];
        }
        let source = cols.get(11).copied().unwrap_or("");
        let third_party = cols[9] == "n/a"
            || source.starts_with("third-party")
            || source.contains("crossplane analyzer");
        by_name.entry(name.clone()).or_default().push(Directive {
            name,
            contexts,
            arity: Arity::parse(cols[2]),
            module: cols[3].to_owned(),
            notes: cols[4].to_owned(),
            block: cols[5] == "yes",
            third_party,
        });
    }
    Vocabulary { by_name }
}

/// Files the nginx package installs next to nginx.conf; an `include` of one of them that the
/// node directory lacks is not a finding.
pub const PACKAGE_FILES: &[&str] = &[
    "mime.types",
    "fastcgi_params",
    "fastcgi.conf",
    "scgi_params",
    "uwsgi_params",
    "koi-utf",
    "koi-win",
    "win-utf",
    "proxy_params",
    "snippets/fastcgi-php.conf",
    "snippets/snakeoil.conf",
    "modules-enabled/*.conf",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads() {
        let v = Vocabulary::get();
        let listen = v.allowed_in("listen", Context::Server);
        assert!(!listen.is_empty());
        assert!(v.allowed_in("listen", Context::Http).is_empty());
        assert!(v.lookup("worker_processes")[0].arity.accepts(1));
        assert!(!v.lookup("worker_processes")[0].arity.accepts(2));
        assert!(!v.allowed_in("include", Context::IfInLocation).is_empty());
        assert!(v.lookup("content_by_lua_block")[0].third_party);
        assert!(!v.lookup("proxy_pass")[0].third_party);
    }
}
