//! `lifsim stats`: per-population statistics of a run's spikes, as a table or JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use lifsim::analysis::{
    self, Estimate, FileStats, SizeSource, StatsOptions, Window, CV_MIN_SPIKES,
};
use lifsim::record::OutputFile;

use lifsim::format;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Output file of `lifsim run` (HDF5, SONATA layout).
    file: PathBuf,
    /// Print JSON (for scripts) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    window: WindowArgs,
    /// Bin of the spike counts for the Fano factor and the pairwise correlation [ms].
    #[arg(long, value_name = "MS", default_value_t = StatsOptions::default().count_bin_ms)]
    count_bin: f64,
    /// Bin of the spike counts for the synchrony measure chi [ms].
    #[arg(long, value_name = "MS", default_value_t = StatsOptions::default().sync_bin_ms)]
    sync_bin: f64,
    /// Most pairs of neurons per population for the mean correlation (drawn with a fixed seed).
    #[arg(long, value_name = "N", default_value_t = StatsOptions::default().max_pairs)]
    pairs: usize,
}

/// The time window to analyse: spikes with FROM < t <= TO count.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct WindowArgs {
    /// Start of the window [ms] (default: 0).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    from: Option<f64>,
    /// End of the window [ms] (default: the end of the run the file holds).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    to: Option<f64>,
}

impl WindowArgs {
    pub fn resolve(&self, file: &OutputFile) -> Result<Window, analysis::AnalysisError> {
        Window::of_file(file, self.from, self.to)
    }
}

pub fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let file = lifsim::record::read(&args.file)?;
    let window = args.window.resolve(&file)?;
    let options = StatsOptions {
        count_bin_ms: args.count_bin,
        sync_bin_ms: args.sync_bin,
        max_pairs: args.pairs,
        ..StatsOptions::default()
    };
    let stats = analysis::file_stats(&file, window, &options)
        .with_context(|| format!("cannot compute the statistics of {}", args.file.display()))?;
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        let report = JsonReport {
            file: args.file.display().to_string(),
            status: &file.status,
            stats: &stats,
        };
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        print_table(&mut out, &args, &file, &stats)
    };
    match printed {
        // `lifsim stats ... | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The JSON of `--json`: the file and its status, then the statistics.
#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    status: &'a str,
    #[serde(flatten)]
    stats: &'a FileStats,
}

fn print_table(
    out: &mut impl Write,
    args: &StatsArgs,
    file: &OutputFile,
    stats: &FileStats,
) -> std::io::Result<()> {
    let w = stats.window;
    writeln!(
        out,
        "{}: {}, seed {}, {}",
        args.file.display(),
        file.status,
        file.seed,
        file.backend
    )?;
    writeln!(
        out,
        "window {} < t <= {} ms ({} ms)",
        w.from_ms,
        w.to_ms,
        w.duration_ms()
    )?;
    if stats.populations.is_empty() {
        writeln!(
            out,
            "the file holds no spikes (no population has a spike_recorder)"
        )?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<12} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "population", "neurons", "spikes", "rate [Hz]", "CV(ISI)", "Fano", "corr", "chi"
    )?;
    let value = |e: Option<Estimate>, decimals: usize| {
        e.map_or_else(|| "-".to_owned(), |e| format!("{:.decimals$}", e.value))
    };
    for p in &stats.populations {
        writeln!(
            out,
            "{:<12} {:>10} {:>10} {:>10.2} {:>8} {:>8} {:>8} {:>8}",
            p.population,
            format::count(u64::from(p.n_neurons)),
            format::count(p.n_spikes as u64),
            p.rate_hz,
            value(p.cv_isi, 2),
            value(p.fano_factor, 2),
            value(p.correlation, 4),
            value(p.synchrony_chi, 4),
        )?;
    }
    let counts = |f: &dyn Fn(&analysis::PopulationStats) -> Option<Estimate>| {
        stats
            .populations
            .iter()
            .map(|p| {
                let n = f(p).map_or(0, |e| e.n);
                format!("{} {}", p.population, format::count(n as u64))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let o = &stats.options;
    writeln!(out)?;
    writeln!(
        out,
        "rate:    spikes / (all neurons x {} s)",
        w.duration_ms() * 1e-3
    )?;
    writeln!(
        out,
        "CV(ISI): mean over neurons with >= {CV_MIN_SPIKES} spikes ({})",
        counts(&|p| p.cv_isi)
    )?;
    writeln!(
        out,
        "Fano:    var/mean of spike counts in {} bins of {} ms, mean over neurons that spiked ({})",
        stats.count_bins,
        o.count_bin_ms,
        counts(&|p| p.fano_factor)
    )?;
    writeln!(
        out,
        "corr:    Pearson correlation of those counts, mean over pairs drawn with seed {} ({})",
        o.pair_seed,
        counts(&|p| p.correlation)
    )?;
    writeln!(
        out,
        "chi:     Golomb's synchrony of counts in {} bins of {} ms, active neurons ({}); \
         1 = all fire together, about 1/sqrt(N) independent",
        stats.sync_bins,
        o.sync_bin_ms,
        counts(&|p| p.synchrony_chi)
    )?;
    writeln!(
        out,
        "-: not enough spikes or bins for the measure; definitions in docs/analysis.md"
    )?;
    for p in &stats.populations {
        if p.size_source == SizeSource::HighestNodeId {
            writeln!(
                out,
                "note: neither the file's n_nodes nor its config gives the size of `{}`; counted {} neurons \
                 (its highest node id that spiked + 1), so silent neurons above it are missed",
                p.population,
                format::count(u64::from(p.n_neurons))
            )?;
        }
    }
    Ok(())
}
