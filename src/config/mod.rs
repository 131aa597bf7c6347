//! Configs: TOML files -> validated [`NetworkSpec`].

pub mod spec;

pub use spec::*;
