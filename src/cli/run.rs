//! `lifsim run`: config -> network -> backend -> HDF5, with a progress bar and a summary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use lifsim::config::BackendChoice;
use lifsim::network::Network;
use lifsim::record::{RunInfo, RunStatus, SonataWriter};
use lifsim::sim::{self, Progress, RunOptions, RunSummary, Sink};

use lifsim::format;

use super::{load_config, SimulationOverrides};

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
    /// Also draw the run's raster, rates and traces into this PNG or SVG at the end (as
    /// `lifsim plot` does).
    #[arg(long, value_name = "FIG.png|FIG.svg")]
    plot: Option<PathBuf>,
    /// Write the full state into the output file every MS of simulated time, so that
    /// `lifsim resume` can continue the run should it stop.
    #[arg(long, value_name = "MS")]
    checkpoint_every: Option<f64>,
    #[command(flatten)]
    overrides: SimulationOverrides,
}

#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The output file of an interrupted run that wrote checkpoints (--checkpoint-every).
    output: PathBuf,
    /// Keep checkpointing every MS (default: as the run did).
    #[arg(long, value_name = "MS")]
    checkpoint_every: Option<f64>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Also draw the whole run's raster, rates and traces into this PNG or SVG at the end.
    #[arg(long, value_name = "FIG.png|FIG.svg")]
    plot: Option<PathBuf>,
    /// Overrides; by default the run's seed, t_stop and kind of backend (the same kind continues
    /// bit for bit). A later --t-stop extends the run.
    #[command(flatten)]
    overrides: SimulationOverrides,
}

/// The HDF5 writer as a sink of the run loop.
/// The HDF5 writer as a sink of the run loop, with the checkpoint interval [steps] it records
/// and the progress bar that announces checkpoints (none when quiet).
struct Output(SonataWriter, u64, Option<ProgressBar>);

impl Sink for Output {
    type Error = lifsim::record::RecordError;
    fn write(
        &mut self,
        network: &Network,
        batch: &lifsim::backend::Batch,
    ) -> Result<(), Self::Error> {
        self.0.write_batch(network, batch)
    }

    fn checkpoint(
        &mut self,
        _: &Network,
        checkpoint: &lifsim::backend::Checkpoint,
    ) -> Result<(), Self::Error> {
        self.0.write_checkpoint(checkpoint, self.1)?;
        let line = format!(
            "checkpoint written at t = {:.1} ms",
            checkpoint.step as f64 * self.0.dt_ms()
        );
        match &self.2 {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            // Not a terminal: a plain line; a closed stderr is no reason to stop the run.
            Some(_) => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            None => {}
        }
        Ok(())
    }
}

/// A file size limit (ulimit -f) kills a process that writes past it, unless SIGXFSZ is
/// handled: then the write fails, and the writer says so and keeps the file readable.
fn survive_file_size_limits() -> anyhow::Result<()> {
    #[cfg(unix)]
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    )?;
    Ok(())
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    survive_file_size_limits()?;
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
    if let Some(figure) = &args.plot {
        lifsim::plot::ImageFormat::of_path(figure)?;
    }
    let checkpoint_every = checkpoint_steps(args.checkpoint_every, spec.simulation.dt_ms)?;
    with_backend(&spec, &args.config, |network, backend| {
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
        let writer = SonataWriter::create(&output, network, &info, args.force)?;
        let ending = Ending {
            checkpoint_every_steps: checkpoint_every,
            quiet: args.quiet,
            plot: args.plot.as_deref(),
        };
        execute(network, backend, writer, &output, &ending)
    })
}

/// `lifsim resume`: continue an interrupted run from the latest checkpoint in its file.
pub fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    survive_file_size_limits()?;
    let path = &args.output;
    let file = lifsim::record::read(path)?;
    let extends = args.overrides.t_stop.is_some_and(|t| t > file.t_stop_ms);
    if file.completed && !extends {
        anyhow::bail!(
            "{} holds a complete run (to t = {} ms); to simulate further, give a later --t-stop",
            path.display(),
            file.t_stop_ms
        );
    }
    let mut spec = lifsim::config::parse(&file.config_text, Path::new(&file.config_path))
        .with_context(|| format!("the config stored in {} no longer parses", path.display()))?;
    // The run as it was started: its seed, end and kind of backend (the same kind resumes bit
    // for bit), unless the command line says otherwise.
    let recorded_backend = if file.backend.starts_with("gpu") {
        BackendChoice::Gpu
    } else {
        BackendChoice::Cpu
    };
    let mut overrides = args.overrides.to_library();
    overrides.seed = Some(file.seed);
    overrides.t_stop_ms = overrides.t_stop_ms.or(Some(file.t_stop_ms));
    overrides.backend = overrides.backend.or(Some(recorded_backend));
    lifsim::config::apply_overrides(&mut spec, &overrides)?;
    let every_ms = args.checkpoint_every;
    with_backend(&spec, Path::new(&file.config_path), |network, backend| {
        let (writer, stored) = SonataWriter::resume(path, network, spec.simulation.t_stop_ms)?;
        backend.restore(&stored.checkpoint)?;
        say!(
            "resuming from the checkpoint at t = {:.1} ms",
            stored.checkpoint.step as f64 * network.dt_ms
        );
        let every = match every_ms {
            Some(ms) => checkpoint_steps(Some(ms), network.dt_ms)?,
            None => stored.every_steps,
        };
        let ending = Ending {
            checkpoint_every_steps: every,
            quiet: args.quiet,
            plot: args.plot.as_deref(),
        };
        execute(network, backend, writer, path, &ending)
    })
}

/// How a run ends besides its network: checkpoints, progress bar, figure.
struct Ending<'a> {
    checkpoint_every_steps: Option<u64>,
    quiet: bool,
    /// Draw this figure of the whole file at the end.
    plot: Option<&'a Path>,
}

/// `--checkpoint-every` in steps.
fn checkpoint_steps(every_ms: Option<f64>, dt_ms: f64) -> anyhow::Result<Option<u64>> {
    let Some(ms) = every_ms else { return Ok(None) };
    let steps = (ms / dt_ms).round();
    if !ms.is_finite() || steps < 1.0 {
        anyhow::bail!("--checkpoint-every {ms}: give a time of at least one step ({dt_ms} ms)");
    }
    Ok(Some(steps as u64))
}

/// Plan the backend, build the network for it, start the backend and hand both to `work`.
fn with_backend<R>(
    spec: &lifsim::config::NetworkSpec,
    config: &Path,
    work: impl FnOnce(&Network, &mut dyn lifsim::backend::Backend) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let threads = spec.simulation.threads.unwrap_or_else(default_threads);
    // The backend first: a GPU that cannot be used fails before anything is built.
    let plan = lifsim::backend::plan(spec, spec.simulation.backend)?;
    let t0 = Instant::now();
    // Synapses that a backend can draw itself are drawn by it, where and as it keeps them.
    let options = lifsim::network::BuildOptions {
        threads,
        placement: lifsim::network::Placement::Backend,
    };
    let network = lifsim::network::build_with(spec, &options)
        .with_context(|| format!("cannot build the network of {}", config.display()))?;
    let drawn_by_backend = network
        .projections
        .iter()
        .any(|p| matches!(p.synapses, lifsim::network::Synapses::Deferred(_)));
    say!(
        "network: {} neurons, {}{} synapses{}, built in {}",
        format::count(u64::from(network.n_neurons())),
        if network.synapse_count_is_exact() {
            ""
        } else {
            "about "
        },
        format::count(network.n_synapses()),
        if drawn_by_backend {
            " (drawn as the backend starts)"
        } else {
            ""
        },
        format::duration(t0.elapsed())
    );
    let t1 = Instant::now();
    let mut selected = plan.start(&network, threads)?;
    say!(
        "backend: {} ({}), ready in {}",
        selected.backend.description(),
        selected.reason,
        format::duration(t1.elapsed())
    );
    work(&network, selected.backend.as_mut())
}

/// Run `network` to its end or until Ctrl-C/SIGTERM, writing into `writer` at `output`; print
/// the summary. Exit code 130 when interrupted.
fn execute(
    network: &Network,
    backend: &mut dyn lifsim::backend::Backend,
    writer: SonataWriter,
    output: &Path,
    ending: &Ending<'_>,
) -> anyhow::Result<ExitCode> {
    let Ending {
        checkpoint_every_steps,
        quiet,
        ..
    } = *ending;
    let first_step = backend.steps_done();
    let bar = progress_bar(quiet, network.n_steps);
    bar.set_position(first_step);
    let announce = (!quiet).then(|| bar.clone());
    let mut sink = Output(writer, checkpoint_every_steps.unwrap_or(0), announce);
    // Ctrl-C or SIGTERM: stop after the current batch and mark the file incomplete; a second
    // Ctrl-C exits at once.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let options = RunOptions {
        checkpoint_every_steps,
    };
    let result = sim::run_with(network, backend, &mut sink, &stop, &options, |p| {
        update_bar(&bar, p)
    });
    bar.finish_and_clear();
    let Output(writer, _, _) = sink;
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
    print_summary(network, first_step, &summary);
    if let Some(figure) = ending.plot {
        super::plot::plot_after_run(output, figure)?;
    }
    if summary.completed {
        say!("output: {} (complete)", output.display());
        Ok(ExitCode::SUCCESS)
    } else {
        say!(
            "interrupted at t = {:.1} ms; {} holds everything simulated so far and is marked \
             incomplete{}",
            summary.steps_done as f64 * network.dt_ms,
            output.display(),
            if checkpoint_every_steps.is_some() {
                "; `lifsim resume` continues it from its last checkpoint"
            } else {
                ""
            }
        );
        Ok(ExitCode::from(130))
    }
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Wall seconds per simulated second.
fn t_ms_factor(summary: &RunSummary, t_ms: f64) -> f64 {
    if t_ms > 0.0 {
        summary.wall.as_secs_f64() / (t_ms * 1e-3)
    } else {
        0.0
    }
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

fn print_summary(network: &Network, first_step: u64, summary: &RunSummary) {
    let t_ms = (summary.steps_done - first_step) as f64 * network.dt_ms;
    let from = if first_step > 0 {
        format!(" from t = {:.1} ms", first_step as f64 * network.dt_ms)
    } else {
        String::new()
    };
    say!(
        "simulated {t_ms:.1} ms{from} in {} ({:.3}x real time)",
        format::duration(summary.wall),
        t_ms_factor(summary, t_ms)
    );
    say!();
    say!(
        "{:<16} {:>12} {:>12} {:>10}",
        "population",
        "neurons",
        "spikes",
        "rate [Hz]"
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
        say!(
            "{:<16} {:>12} {:>12} {:>10.2}",
            pop.name,
            format::count(u64::from(pop.n)),
            format::count(spikes),
            rate
        );
    }
    say!();
}
