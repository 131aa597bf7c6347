//! `lifsim run`: config -> network -> backend -> HDF5, with a progress bar and a summary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use lifsim::record::{RunInfo, RunStatus, SonataWriter};
use lifsim::sim::{self, Progress, RunSummary, Sink};

use super::{format, load_config, SimulationOverrides};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The network config (TOML), e.g. configs/coba.toml.
    config: PathBuf,
    /// Output file (HDF5, SONATA layout). Default: the config's name with .h5, in the current
    /// directory.
    #[arg(short, long, value_name = "OUT.h5")]
    output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    overrides: SimulationOverrides,
}

/// The HDF5 writer as a sink of the run loop.
struct Output(SonataWriter);

impl Sink for Output {
    type Error = lifsim::record::RecordError;
    fn write(
        &mut self,
        network: &lifsim::network::Network,
        batch: &lifsim::backend::Batch,
    ) -> Result<(), Self::Error> {
        self.0.write_batch(network, batch)
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let spec = load_config(&args.config, &args.overrides)?;
    let output = args.output.clone().unwrap_or_else(|| {
        let stem = args.config.file_stem().unwrap_or_default();
        PathBuf::from(stem).with_extension("h5")
    });
    // Refuse before any work: a bad invocation changes nothing.
    if output.exists() && !args.force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it, or choose another path with -o",
            output.display()
        );
    }

    let threads = spec.simulation.threads.unwrap_or_else(default_threads);
    // The backend first: the GPU draws synapses on the device, so the build depends on it.
    let plan = lifsim::backend::plan(&spec, spec.simulation.backend)?;
    let t0 = Instant::now();
    let options = lifsim::network::BuildOptions {
        threads,
        placement: plan.placement(),
    };
    let network = lifsim::network::build_with(&spec, &options)
        .with_context(|| format!("cannot build the network of {}", args.config.display()))?;
    println!(
        "network: {} neurons, {} synapses, built in {}",
        format::count(u64::from(network.n_neurons())),
        format::count(network.n_synapses()),
        format::duration(t0.elapsed())
    );
    let selected = plan.start(&network, threads)?;
    println!(
        "backend: {} ({})",
        selected.backend.description(),
        selected.reason
    );
    let mut backend = selected.backend;

    let info = RunInfo {
        lifsim_version: env!("CARGO_PKG_VERSION").to_string(),
        backend: backend.description(),
        config_path: args.config.display().to_string(),
        config_text: spec.source.text.clone(),
        seed: spec.simulation.seed,
        dt_ms: spec.simulation.dt_ms,
        t_stop_ms: spec.simulation.t_stop_ms,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    // A file size limit (ulimit -f) kills a process that writes past it, unless SIGXFSZ is
    // handled: then the write fails, and the writer says so and keeps the file readable.
    #[cfg(unix)]
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    )?;
    let mut sink = Output(SonataWriter::create(&output, &network, &info, args.force)?);

    // Ctrl-C or SIGTERM: stop after the current batch and mark the file incomplete; a second
    // Ctrl-C exits at once.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }

    let bar = progress_bar(args.quiet, network.n_steps);
    let result = sim::run(&network, backend.as_mut(), &mut sink, &stop, |p| {
        update_bar(&bar, p)
    });
    bar.finish_and_clear();
    let Output(writer) = sink;
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            let t_reached = writer.t_reached_ms();
            let held = format!(
                "{} holds everything simulated up to t = {} ms",
                output.display(),
                format::ms(t_reached)
            );
            let error = anyhow::Error::new(error);
            let state = match writer.finish(RunStatus::Failed(format!("{error:#}"))) {
                Ok(()) => format!("{held} and is marked failed"),
                Err(e) => {
                    format!("{held}, but it could not be marked failed ({e}): it says `running`")
                }
            };
            return Err(error.context(format!("the run failed; {state}")));
        }
    };
    let status = if summary.completed {
        RunStatus::Complete
    } else {
        RunStatus::Interrupted
    };
    writer
        .finish(status)
        .with_context(|| format!("cannot finish {}", output.display()))?;
    print_summary(&network, &summary);
    if summary.completed {
        println!("output: {} (complete)", output.display());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "interrupted at t = {:.1} ms; {} holds everything simulated so far and is marked incomplete",
            summary.steps_done as f64 * network.dt_ms,
            output.display()
        );
        Ok(ExitCode::from(130))
    }
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn progress_bar(quiet: bool, n_steps: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n_steps);
    bar.set_style(
        ProgressStyle::with_template("{bar:30.cyan/blue} {msg}")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar
}

fn update_bar(bar: &ProgressBar, p: &Progress) {
    bar.set_position(p.steps_done);
    let rtf = p.real_time_factor();
    let left = (p.n_steps - p.steps_done) as f64 * p.dt_ms * 1e-3 * rtf;
    bar.set_message(format!(
        "t = {:.1} / {:.1} ms | {rtf:.3}x real time | ETA {} | {} spikes",
        p.t_ms(),
        p.n_steps as f64 * p.dt_ms,
        format::duration(std::time::Duration::from_secs_f64(left)),
        format::count(p.spikes),
    ));
}

fn print_summary(network: &lifsim::network::Network, summary: &RunSummary) {
    let t_ms = summary.steps_done as f64 * network.dt_ms;
    println!(
        "simulated {t_ms:.1} ms in {} ({:.3}x real time)",
        format::duration(summary.wall),
        summary.real_time_factor(network.dt_ms)
    );
    println!();
    println!(
        "{:<16} {:>12} {:>12} {:>10}",
        "population", "neurons", "spikes", "rate [Hz]"
    );
    for (pop, &spikes) in network
        .populations
        .iter()
        .zip(&summary.spikes_per_population)
    {
        let rate = if t_ms > 0.0 {
            spikes as f64 / f64::from(pop.n) / (t_ms * 1e-3)
        } else {
            0.0
        };
        println!(
            "{:<16} {:>12} {:>12} {:>10.2}",
            pop.name,
            format::count(u64::from(pop.n)),
            format::count(spikes),
            rate
        );
    }
    println!();
}
