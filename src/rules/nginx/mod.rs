//! Rules on one node's nginx configuration (codes NX…).

pub mod directive_not_allowed_here;
pub mod include_not_found;
pub mod swallowed_directive;
pub mod syntax_error;
pub mod unknown_directive;
pub mod wrong_argument_count;
