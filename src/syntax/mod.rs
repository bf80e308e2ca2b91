//! Lossless syntax trees: one module per language.

pub mod keepalived;
pub mod nginx;
