//! Configs: TOML files -> validated [`NetworkSpec`].
//!
//! Two stages: `raw` mirrors the file in serde structs (unknown keys and wrong types stop the
//! reading at the first), then `validate` checks units, ranges and references and fills in the
//! defaults, reporting every problem it finds. The format is documented in `docs/config.md`.

mod de_error;
mod error;
mod overrides;
mod raw;
mod slice;
pub mod spec;
mod suggest;
pub mod units;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use error::{ConfigError, Diagnostic, Location};
pub use overrides::{apply_overrides, Overrides};
pub use spec::*;
pub use validate::{DEFAULT_DT_MS, DEFAULT_SEED, MAX_DELAY_STEPS, MAX_POISSON_SPIKES_PER_STEP};

/// Reads, parses and validates the config file at `path`.
pub fn load(path: &Path) -> Result<NetworkSpec, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        diagnostics: vec![de_error::utf8_diagnostic(e.as_bytes(), e.utf8_error())],
        omitted: 0,
    })?;
    parse(&text, path)
}

/// Parses and validates config `text`; `path` names the file in messages and in the spec's
/// provenance.
pub fn parse(text: &str, path: &Path) -> Result<NetworkSpec, ConfigError> {
    let invalid = |diagnostic: Diagnostic| ConfigError::Invalid {
        path: path.to_path_buf(),
        diagnostics: vec![diagnostic],
        omitted: 0,
    };
    let document = toml::de::DeTable::parse(text)
        .map_err(|e| invalid(de_error::syntax_diagnostic(&e, text)))?;
    let raw = raw::RawConfig::deserialize(toml::de::Deserializer::from(document))
        .map_err(|e| invalid(de_error::data_diagnostic(&e, text)))?;
    validate::validate(raw, text, path)
}
