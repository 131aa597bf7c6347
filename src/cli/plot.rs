//! `lifsim plot`: the raster, population rates and traces of a run, into PNG or SVG.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use lifsim::plot::{PlotOptions, PlotSummary};

use super::stats::WindowArgs;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Output file of `lifsim run` (HDF5, SONATA layout).
    file: PathBuf,
    /// The figure to write; its extension (.png or .svg) picks the format.
    #[arg(short, long, value_name = "FIG.png|FIG.svg")]
    output: PathBuf,
    #[command(flatten)]
    window: WindowArgs,
    /// Most neurons per population in the raster; larger populations are subsampled evenly.
    #[arg(long, value_name = "N", default_value_t = PlotOptions::default().max_neurons)]
    max_neurons: usize,
    /// Bin of the population rate [ms].
    #[arg(long, value_name = "MS", default_value_t = PlotOptions::default().rate_bin_ms)]
    rate_bin: f64,
    /// Width of the figure [px]; the height follows from the panels.
    #[arg(long, value_name = "PX", default_value_t = PlotOptions::default().width_px)]
    width: u32,
}

pub fn plot(args: PlotArgs) -> anyhow::Result<ExitCode> {
    // A bad figure name is refused before the file is read.
    lifsim::plot::ImageFormat::of_path(&args.output)?;
    let file = lifsim::record::read(&args.file)?;
    let window = args.window.resolve(&file)?;
    let options = PlotOptions {
        max_neurons: args.max_neurons,
        rate_bin_ms: args.rate_bin,
        width_px: args.width,
    };
    let summary = lifsim::plot::plot_file(&file, window, &args.output, &options)
        .with_context(|| format!("cannot plot {}", args.file.display()))?;
    print_summary(&args.output, &summary);
    Ok(ExitCode::SUCCESS)
}

/// `lifsim run --plot`: the whole run the file at `output` holds, drawn with the defaults.
pub fn plot_after_run(output: &Path, figure: &Path) -> anyhow::Result<()> {
    let file = lifsim::record::read(output)?;
    let window = WindowArgs::default().resolve(&file)?;
    let summary = lifsim::plot::plot_file(&file, window, figure, &PlotOptions::default())
        .with_context(|| {
            format!(
                "cannot plot {} ({} is fine)",
                figure.display(),
                output.display()
            )
        })?;
    print_summary(figure, &summary);
    Ok(())
}

fn print_summary(path: &Path, summary: &PlotSummary) {
    let mut parts: Vec<String> = summary
        .rasters
        .iter()
        .map(|r| {
            format!(
                "{} ({} spikes drawn)",
                r.caption,
                lifsim::format::count(r.marks as u64)
            )
        })
        .collect();
    if !summary.traces.is_empty() {
        parts.push(format!("traces {}", summary.traces.join(", ")));
    }
    // Also printed by `run --plot`, which carries on when stdout is gone.
    say!(
        "plot: {} ({} x {} px): {}",
        path.display(),
        summary.width_px,
        summary.height_px,
        parts.join("; ")
    );
}
