//! Rules on one node's nginx configuration (codes NX…).

pub mod directive_not_allowed_here;
pub mod duplicate_values;
pub mod include_not_found;
pub mod listen_on_vip;
pub mod run_as_root;
pub mod swallowed_directive;
pub mod syntax_error;
pub mod unknown_directive;
pub mod wrong_argument_count;
