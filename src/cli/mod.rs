//! Subcommands of `lifsim`, one file each.

/// `println!` that carries on when stdout is gone (`lifsim run ... | head -3`): the simulation and
/// its file matter more than its messages. For what `run` and `resume` print (and what they call,
/// such as `run --plot`'s summary); the other commands end on SIGPIPE instead.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod demo;
mod info;
mod plot;
mod run;
mod stats;
mod validate;

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GPU-accelerated simulation of networks of conductance-based leaky integrate-and-fire neurons
/// (NEST's iaf_cond_exp), with a CPU reference backend.
#[derive(Parser, Debug)]
#[command(name = "lifsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a network described by a TOML config and write spikes and traces to HDF5 (SONATA).
    Run(run::RunArgs),
    /// Continue an interrupted run from the last checkpoint in its output file.
    Resume(run::ResumeArgs),
    /// Check a config and print the network's size and memory needs, without running it.
    Validate(validate::ValidateArgs),
    /// Per-population statistics of a run's spikes: rate, CV(ISI), Fano factor, pairwise
    /// correlation and synchrony, over a time window (docs/analysis.md).
    Stats(stats::StatsArgs),
    /// Draw a run's spike raster, population rates and recorded traces into a PNG or SVG.
    Plot(plot::PlotArgs),
    /// List the GPU adapters, their limits, and the largest network each can hold.
    Info(info::InfoArgs),
    /// Measure simulation speed on the scaled COBA network, on the CPU and GPU backends.
    Bench(bench::BenchArgs),
    /// Serve the interactive LIF demo (two neurons, and a network running live) to a browser.
    Demo(demo::DemoArgs),
}

/// Options that override the `[simulation]` table of a config.
#[derive(Args, Debug, Clone, Default)]
pub struct SimulationOverrides {
    /// Simulated time [ms] (overrides `t_stop`).
    #[arg(long, value_name = "MS")]
    t_stop: Option<f64>,
    /// Seed of every random number of the run (overrides `seed`).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Backend: auto (a hardware GPU for 200,000 neurons or more, else the CPU), cpu or gpu
    /// (overrides `backend`).
    #[arg(long, value_enum, value_name = "B")]
    backend: Option<BackendArg>,
    /// CPU threads (overrides `threads`; default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BackendArg {
    Auto,
    Cpu,
    Gpu,
}

impl SimulationOverrides {
    fn to_library(&self) -> lifsim::config::Overrides {
        lifsim::config::Overrides {
            t_stop_ms: self.t_stop,
            seed: self.seed,
            backend: self.backend.map(|b| match b {
                BackendArg::Auto => lifsim::config::BackendChoice::Auto,
                BackendArg::Cpu => lifsim::config::BackendChoice::Cpu,
                BackendArg::Gpu => lifsim::config::BackendChoice::Gpu,
            }),
            threads: self.threads,
        }
    }
}

/// Load a config and apply command-line overrides.
fn load_config(
    path: &Path,
    overrides: &SimulationOverrides,
) -> anyhow::Result<lifsim::config::NetworkSpec> {
    let mut spec = lifsim::config::load(path)?;
    lifsim::config::apply_overrides(&mut spec, &overrides.to_library())?;
    Ok(spec)
}

pub fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    // Commands that only print end quietly when their reader goes (`lifsim info | head -3`),
    // as other command-line tools do. `run` and `resume` carry on without their messages, so
    // that the simulation and its file complete; `demo` serves sockets whose clients may go.
    if !matches!(
        cli.command,
        Command::Run(_) | Command::Resume(_) | Command::Demo(_)
    ) {
        restore_default_sigpipe();
    }
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Resume(args) => run::resume(args),
        Command::Validate(args) => validate::validate(args),
        Command::Stats(args) => stats::stats(args),
        Command::Plot(args) => plot::plot(args),
        Command::Info(args) => info::info(args),
        Command::Bench(args) => bench::bench(args),
        Command::Demo(args) => demo::demo(args),
    }
}

/// Let SIGPIPE end the process (Rust ignores it, so that a write to a closed pipe fails and
/// `println!` panics instead).
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
