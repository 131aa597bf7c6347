//! `lifsim validate`: check a config and print the network's size without building it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lifsim::format;

use super::{load_config, SimulationOverrides};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The network config (TOML).
    config: PathBuf,
    #[command(flatten)]
    overrides: SimulationOverrides,
}

pub fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let spec = load_config(&args.config, &args.overrides)?;
    let size = lifsim::network::estimate_size(&spec);
    println!("{}: valid", args.config.display());
    println!(
        "simulation: dt = {} ms, t_stop = {} ms ({} steps), seed {}, backend {}",
        spec.simulation.dt_ms,
        spec.simulation.t_stop_ms,
        format::count(spec.simulation.n_steps()),
        spec.simulation.seed,
        spec.simulation.backend.name()
    );
    println!();
    println!("{:<24} {:>14}", "population", "neurons");
    for p in &spec.populations {
        println!("{:<24} {:>14}", p.name, format::count(u64::from(p.n)));
    }
    println!();
    println!(
        "{:<20} {:<20} {:>15} {:>11} {:>11}  on the GPU",
        "projection", "rule", "synapses", "host", "GPU"
    );
    for (p, s) in spec.projections.iter().zip(&size.projections) {
        let synapses = if s.exact {
            format::count(s.synapses)
        } else {
            format!("~{}", format::count(s.synapses))
        };
        println!(
            "{:<20} {:<20} {:>15} {:>11} {:>11}  {}",
            p.name,
            p.rule.name(),
            synapses,
            format::bytes(s.host_bytes),
            format::bytes(s.device_bytes),
            s.device_storage
        );
    }
    let gpu = lifsim::backend::gpu::footprint::of_size(&size, &spec, u64::MAX);
    println!();
    println!(
        "total: {} neurons, {}{} synapses",
        format::count(size.neurons),
        if size.projections.iter().all(|p| p.exact) {
            ""
        } else {
            "~"
        },
        format::count(size.synapses)
    );
    println!(
        "host memory, CPU backend: {} ({} neuron state and delay rings, {} synapses)",
        format::bytes(size.host_bytes),
        format::bytes(size.state_bytes),
        format::bytes(size.host_bytes - size.state_bytes)
    );
    println!(
        "device memory, GPU backend: {} ({} neuron state and delay rings, {} synapses, {} spike and sample buffers)",
        format::bytes(gpu.total()),
        format::bytes(gpu.state),
        format::bytes(gpu.synapses),
        format::bytes(gpu.io)
    );
    Ok(ExitCode::SUCCESS)
}
