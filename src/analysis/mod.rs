//! Statistics of recorded spikes, per population and time window: what `lifsim stats` prints.
//!
//! `measures` holds each statistic as a pure function of [`SpikeTrains`], so it can be tested
//! without files; [`file_stats`] applies them all to a lifsim output file. `docs/analysis.md`
//! defines every measure (formula, bins, which neurons count).

mod measures;
mod trains;

use std::path::Path;

use serde::Serialize;

use crate::record::{OutputFile, SpikeTable};

pub use measures::{
    active_neurons, choose_pairs, cv_isi, fano_factor, mean_rate_hz, population_rate_hz,
    spike_count_correlation, synchrony_chi, Estimate, CV_MIN_SPIKES,
};
pub use trains::SpikeTrains;

/// Spike times are multiples of dt computed in f64, so a time meant to lie on a window or bin
/// boundary can miss it by round-off (about 1e-16 of the time). Times within this distance of a
/// boundary count as on it: far above the round-off of any run length, far below any dt.
pub const TIME_TOLERANCE_MS: f64 = 1e-6;

/// Most bins a count-based measure takes: 10 million bins of counts are 80 MB. A bin so small
/// that a window holds more is almost surely a typo.
pub const MAX_BINS: usize = 10_000_000;

/// Why statistics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("invalid time window {from_ms} .. {to_ms} ms: {reason}")]
    InvalidWindow {
        from_ms: f64,
        to_ms: f64,
        reason: String,
    },

    #[error(
        "the file holds the run up to t = {t_reached_ms} ms only (status: {status}); pass \
         --to {t_reached_ms} or less"
    )]
    BeyondFile { t_reached_ms: f64, status: String },

    #[error("invalid {option} = {value}: {reason}")]
    InvalidOption {
        option: &'static str,
        value: f64,
        reason: &'static str,
    },

    #[error(
        "population `{population}` has {n_neurons} neurons, but the file holds a spike of its \
         node {node_id}; the file's config does not describe its spikes (was it edited?)"
    )]
    NodeOutOfRange {
        population: String,
        node_id: u64,
        n_neurons: u32,
    },

    #[error("the spikes of population `{population}` are inconsistent: {reason}")]
    Inconsistent { population: String, reason: String },
}

/// The time window of an analysis: spikes at `from_ms < t <= to_ms` count. Spikes are stamped
/// at the end of their step, so the window (a, b] holds exactly the steps that cover it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Window {
    pub from_ms: f64,
    pub to_ms: f64,
}

impl Window {
    pub fn new(from_ms: f64, to_ms: f64) -> Result<Self, AnalysisError> {
        let invalid = |reason: &str| AnalysisError::InvalidWindow {
            from_ms,
            to_ms,
            reason: reason.to_owned(),
        };
        if !from_ms.is_finite() || !to_ms.is_finite() {
            return Err(invalid("both ends must be finite numbers of ms"));
        }
        if from_ms < 0.0 {
            return Err(invalid("the start must be 0 ms or later"));
        }
        if to_ms <= from_ms {
            return Err(invalid("the end (--to) must be after the start (--from)"));
        }
        Ok(Window { from_ms, to_ms })
    }

    /// The window `from_ms .. to_ms` of `file`, each end defaulting to the whole run that the
    /// file holds (0 .. t_reached). An end past t_reached is an error: the file does not know
    /// what happened there, and rates would come out too low.
    pub fn of_file(
        file: &OutputFile,
        from_ms: Option<f64>,
        to_ms: Option<f64>,
    ) -> Result<Self, AnalysisError> {
        let to = to_ms.unwrap_or(file.t_reached_ms);
        if to > file.t_reached_ms + TIME_TOLERANCE_MS {
            return Err(AnalysisError::BeyondFile {
                t_reached_ms: file.t_reached_ms,
                status: file.status.clone(),
            });
        }
        if file.t_reached_ms <= 0.0 && to_ms.is_none() {
            return Err(AnalysisError::InvalidWindow {
                from_ms: from_ms.unwrap_or(0.0),
                to_ms: to,
                reason: format!(
                    "the file holds no simulated time yet (status: {})",
                    file.status
                ),
            });
        }
        Window::new(from_ms.unwrap_or(0.0), to)
    }

    pub fn duration_ms(&self) -> f64 {
        self.to_ms - self.from_ms
    }

    /// Number of whole bins of `bin_ms` in the window; bin b is
    /// (from + b bin_ms, from + (b + 1) bin_ms], and the partial bin at the end is left out.
    pub fn n_bins(&self, bin_ms: f64) -> usize {
        ((self.duration_ms() + TIME_TOLERANCE_MS) / bin_ms).floor() as usize
    }

    /// Whether a spike at `t_ms` falls in the window.
    pub fn contains(&self, t_ms: f64) -> bool {
        t_ms > self.from_ms + TIME_TOLERANCE_MS && t_ms <= self.to_ms + TIME_TOLERANCE_MS
    }
}

/// The choices behind the count-based statistics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StatsOptions {
    /// Bin of the spike counts for the Fano factor and the pairwise correlation [ms].
    pub count_bin_ms: f64,
    /// Bin of the spike counts for the synchrony measure chi [ms].
    pub sync_bin_ms: f64,
    /// Most pairs of neurons the mean correlation is taken over, per population.
    pub max_pairs: usize,
    /// Seed of the draw of those pairs.
    pub pair_seed: u64,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            count_bin_ms: 100.0,
            sync_bin_ms: 5.0,
            max_pairs: 1000,
            pair_seed: 1,
        }
    }
}

impl StatsOptions {
    fn validate(&self, window: Window) -> Result<(), AnalysisError> {
        for (option, value) in [
            ("--count-bin", self.count_bin_ms),
            ("--sync-bin", self.sync_bin_ms),
        ] {
            check_bin(option, value, window)?;
        }
        Ok(())
    }
}

/// Checks that `bin_ms`, the value of `option`, is a usable bin for `window`.
pub fn check_bin(option: &'static str, bin_ms: f64, window: Window) -> Result<(), AnalysisError> {
    let reason = if !(bin_ms.is_finite() && bin_ms > 0.0) {
        "a bin must be a positive number of ms"
    } else if window.n_bins(bin_ms) > MAX_BINS {
        "more than 10,000,000 bins in the window; choose a wider bin or a shorter window"
    } else {
        return Ok(());
    };
    Err(AnalysisError::InvalidOption {
        option,
        value: bin_ms,
        reason,
    })
}

/// Where the number of neurons of a population came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeSource {
    /// The population's `n_nodes` attribute in the file (exact, silent neurons included).
    File,
    /// The config stored in the file (exact; files written before `n_nodes` was).
    Config,
    /// Neither the file's `n_nodes` nor its config gives the size (a file of another tool, or a
    /// config that does not parse): the highest node id that spiked, plus one (silent neurons
    /// above it are missed, so rates may be too high).
    HighestNodeId,
}

/// Number of neurons of each population of `file` whose spikes it holds, in the order of
/// `file.spikes`: the population's `n_nodes` attribute, else the config stored in the file.
pub fn population_sizes(file: &OutputFile) -> Vec<(u32, SizeSource)> {
    let spec = crate::config::parse(
        &file.config_text,
        Path::new("the config stored in the file"),
    );
    file.spikes
        .iter()
        .map(|table| {
            if let Some(n) = table.n_nodes.and_then(|n| u32::try_from(n).ok()) {
                return (n, SizeSource::File);
            }
            let from_config = spec.as_ref().ok().and_then(|spec| {
                spec.populations
                    .iter()
                    .find(|p| p.name == table.population)
                    .map(|p| p.n)
            });
            match from_config {
                Some(n) => (n, SizeSource::Config),
                None => {
                    let highest = table.node_ids.iter().max().map_or(0, |&id| id + 1);
                    (
                        u32::try_from(highest).unwrap_or(u32::MAX),
                        SizeSource::HighestNodeId,
                    )
                }
            }
        })
        .collect()
}

/// The statistics of one population in one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationStats {
    pub population: String,
    /// Neurons of the population, silent ones included.
    pub n_neurons: u32,
    pub size_source: SizeSource,
    /// Spikes in the window.
    pub n_spikes: usize,
    /// Neurons with at least one spike in the window.
    pub n_active: usize,
    /// Mean firing rate [Hz] over all `n_neurons`.
    pub rate_hz: f64,
    /// Mean CV of the inter-spike intervals, over neurons with at least 3 spikes.
    pub cv_isi: Option<Estimate>,
    /// Mean Fano factor of the spike counts (bins of `count_bin_ms`), over neurons that spiked.
    pub fano_factor: Option<Estimate>,
    /// Mean pairwise correlation of the spike counts (bins of `count_bin_ms`); `n` counts pairs.
    pub correlation: Option<Estimate>,
    /// Golomb's chi on the spike counts (bins of `sync_bin_ms`).
    pub synchrony_chi: Option<Estimate>,
}

/// Every statistic of one set of spike trains.
pub fn population_stats(
    population: &str,
    size_source: SizeSource,
    trains: &SpikeTrains,
    options: &StatsOptions,
) -> PopulationStats {
    PopulationStats {
        population: population.to_owned(),
        n_neurons: u32::try_from(trains.n_neurons()).unwrap_or(u32::MAX),
        size_source,
        n_spikes: trains.n_spikes(),
        n_active: active_neurons(trains),
        rate_hz: mean_rate_hz(trains),
        cv_isi: cv_isi(trains),
        fano_factor: fano_factor(trains, options.count_bin_ms),
        correlation: spike_count_correlation(
            trains,
            options.count_bin_ms,
            options.max_pairs,
            options.pair_seed,
        ),
        synchrony_chi: synchrony_chi(trains, options.sync_bin_ms),
    }
}

/// The statistics of every population of a file in one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileStats {
    pub window: Window,
    pub options: StatsOptions,
    /// Whole bins of `count_bin_ms` in the window.
    pub count_bins: usize,
    /// Whole bins of `sync_bin_ms` in the window.
    pub sync_bins: usize,
    /// One per population whose spikes the file holds, in the file's order.
    pub populations: Vec<PopulationStats>,
}

/// One population whose spikes a file holds, read for analysis over a window.
pub struct PopulationTrains<'f> {
    /// Its spikes as the file holds them (the population's name is `table.population`).
    pub table: &'f SpikeTable,
    /// Its neurons, silent ones included, and where that number came from.
    pub n_neurons: u32,
    pub size_source: SizeSource,
    /// Its spikes in the window, neuron by neuron.
    pub trains: SpikeTrains,
}

/// Every population whose spikes `file` holds, in the file's order, with its size and its spike
/// trains over `window`.
pub fn population_trains(
    file: &OutputFile,
    window: Window,
) -> Result<Vec<PopulationTrains<'_>>, AnalysisError> {
    file.spikes
        .iter()
        .zip(population_sizes(file))
        .map(|(table, (n_neurons, size_source))| {
            Ok(PopulationTrains {
                table,
                n_neurons,
                size_source,
                trains: SpikeTrains::from_spikes(
                    &table.population,
                    n_neurons,
                    &table.node_ids,
                    &table.timestamps_ms,
                    window,
                )?,
            })
        })
        .collect()
}

/// The statistics of every population whose spikes `file` holds, over `window`.
pub fn file_stats(
    file: &OutputFile,
    window: Window,
    options: &StatsOptions,
) -> Result<FileStats, AnalysisError> {
    options.validate(window)?;
    let populations = population_trains(file, window)?
        .iter()
        .map(|p| population_stats(&p.table.population, p.size_source, &p.trains, options))
        .collect();
    Ok(FileStats {
        window,
        options: *options,
        count_bins: window.n_bins(options.count_bin_ms),
        sync_bins: window.n_bins(options.sync_bin_ms),
        populations,
    })
}
