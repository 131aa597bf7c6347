//! Command-line overrides of `[simulation]` keys, checked as the file's values are.

use super::error::ConfigError;
use super::spec::{BackendChoice, NetworkSpec};
use super::validate::{check_t_stop, check_threads, Problem};

/// Values given on the command line; `None` keeps the config's value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--t-stop` [ms]: a positive multiple of the config's dt.
    pub t_stop_ms: Option<f64>,
    /// `--seed`
    pub seed: Option<u64>,
    /// `--backend`
    pub backend: Option<BackendChoice>,
    /// `--threads`: at least 1.
    pub threads: Option<usize>,
}

/// Applies `overrides` to `spec`. Every override is checked first: on error, `spec` is unchanged.
pub fn apply_overrides(spec: &mut NetworkSpec, overrides: &Overrides) -> Result<(), ConfigError> {
    let rejected = |flag: &'static str, problem: Problem| ConfigError::Override {
        flag,
        message: problem.message,
        help: problem.help,
    };
    if let Some(t_stop) = overrides.t_stop_ms {
        check_t_stop(t_stop, spec.simulation.dt_ms).map_err(|p| rejected("--t-stop", p))?;
    }
    if let Some(threads) = overrides.threads {
        let threads = i64::try_from(threads).unwrap_or(i64::MAX);
        check_threads(threads).map_err(|p| rejected("--threads", p))?;
    }
    let simulation = &mut spec.simulation;
    simulation.t_stop_ms = overrides.t_stop_ms.unwrap_or(simulation.t_stop_ms);
    simulation.seed = overrides.seed.unwrap_or(simulation.seed);
    simulation.backend = overrides.backend.unwrap_or(simulation.backend);
    simulation.threads = overrides.threads.or(simulation.threads);
    Ok(())
}
