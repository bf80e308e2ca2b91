//! The vocabularies of keepalived and nginx, as data. Rules, hover and completion read them.

pub mod keepalived;
pub mod nginx;
