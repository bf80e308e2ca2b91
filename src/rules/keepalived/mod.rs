//! Rules on one node's keepalived.conf (codes KA…).

pub mod auth_pass_truncated;
pub mod duplicate_vrid_on_interface;
pub mod include_not_found;
pub mod interface_not_found;
pub mod invalid_value;
pub mod master_without_priority;
pub mod missing_required;
pub mod no_health_check;
pub mod nopreempt_with_master;
pub mod plaintext_auth;
pub mod priority_255_with_weight;
pub mod redundant_mcast_source;
pub mod script_not_found;
pub mod script_security_disabled;
pub mod script_timeout_not_below_interval;
pub mod statements_on_one_line;
pub mod syntax_error;
pub mod typographic_quotes;
pub mod undefined_track_script;
pub mod unicast_source_without_peers;
pub mod unknown_keyword;
pub mod unused_vrrp_script;
pub mod vip_without_prefix;
pub mod vrrp_strict_blocks_vip;
pub mod weight_in_sync_group;

// keepalived's `@id` conditions and `$NAME` definitions are part of what a node's config
// means: they live in the model; the rules use them from there.
pub use crate::model::conditions::{active, definitions, expand};
