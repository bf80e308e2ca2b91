//! haconf: checks, fixes and generates keepalived + nginx high-availability clusters.
//!
//! The modules follow the pipeline of the design: `source` and `project` (files, includes,
//! nodes), `syntax` (lossless trees), `vocab` (keyword tables), `rules`, `diagnostic`,
//! `output`, and `cli`, which only wires them.

pub mod cli;
pub mod cluster;
pub mod diagnostic;
pub mod facts;
pub mod fix;
pub mod fmt;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod lab;
pub mod lsp;
pub mod model;
pub mod net;
pub mod output;
pub mod project;
pub mod pull;
pub mod quiet_panic;
pub mod rules;
pub mod shell;
pub mod source;
pub mod syntax;
pub mod vocab;
pub(crate) mod write;
