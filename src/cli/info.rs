//! `lifsim info`: the GPU adapters wgpu finds, their limits, and the largest network each holds.

use std::process::ExitCode;

use clap::Args;

use lifsim::backend::gpu::device::{self, AdapterSummary};

use lifsim::format;

#[derive(Args, Debug)]
pub struct InfoArgs {}

/// Device bytes per neuron of a COBA-like network besides its synapses: state (20), two-slot
/// delay rings for two receptors (16), this step's spike list (4), the spike record (8).
const BYTES_PER_NEURON: u64 = 48;

pub fn info(_args: InfoArgs) -> anyhow::Result<ExitCode> {
    println!("lifsim {}", env!("CARGO_PKG_VERSION"));
    println!(
        "CPU: {} threads available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let adapters = device::enumerate_adapters();
    if adapters.is_empty() {
        println!("GPU: no adapter found. Without a GPU, install a software Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers); the CPU backend needs nothing.");
        return Ok(ExitCode::SUCCESS);
    }
    for (i, a) in adapters.iter().enumerate() {
        println!();
        print_adapter(i, a);
    }
    // The probes need a device: the one `--backend gpu` would use.
    println!();
    match device::request_context() {
        Ok(ctx) => {
            println!("--backend gpu uses adapter 0: {}", ctx.adapter_name());
            let memory = device::device_memory_bytes(&ctx.adapter);
            match memory {
                Some(m) => println!("  device memory: {}", format::bytes(m)),
                None => println!("  device memory: not reported by this API"),
            }
            largest_networks(&ctx.summary, memory);
            match device::fma_is_fused(&ctx) {
                Ok(true) => println!("  fma: fused, as on the CPU: GPU runs reproduce the CPU backend bit for bit"),
                Ok(false) => println!("  fma: not fused: GPU runs agree with the CPU backend to rounding, not bit for bit (runs on this GPU still repeat exactly)"),
                Err(e) => println!("  fma: probe failed ({e})"),
            }
            println!(
                "  optional features used: timestamp queries {} (GPU-side timing in `lifsim bench`; wall-clock time otherwise)",
                if ctx.optional.timestamp_query { "yes" } else { "no, not offered" }
            );
            let subgroups = ctx.summary.features.contains(wgpu::Features::SUBGROUP);
            println!(
                "  subgroups: {} (no kernel uses them: spike compaction with one atomic per spike measured fast enough)",
                if subgroups { "offered" } else { "not offered" }
            );
        }
        Err(e) => println!("--backend gpu cannot create a device: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_adapter(index: usize, a: &AdapterSummary) {
    let l = &a.limits;
    println!("adapter {index}: {}", device::describe(a));
    println!(
        "  type: {:?}, driver: {} {}",
        a.info.device_type, a.info.driver, a.info.driver_info
    );
    println!(
        "  limits: {} per storage binding, {} per buffer, {} storage buffers per stage, {} workgroups per dimension, {} invocations per workgroup",
        format::bytes(l.max_storage_buffer_binding_size),
        format::bytes(l.max_buffer_size),
        l.max_storage_buffers_per_shader_stage,
        format::count(u64::from(l.max_compute_workgroups_per_dimension)),
        l.max_compute_invocations_per_workgroup
    );
}

/// The largest COBA-like networks (in-degree 80 and 1,000, constant weights and delays) the
/// adapter holds: one storage binding bounds the neurons (a two-slot delay ring takes 8 bytes per
/// neuron), device memory bounds neurons times synapses (4 bytes each).
fn largest_networks(a: &AdapterSummary, memory: Option<u64>) {
    let binding = a
        .limits
        .max_storage_buffer_binding_size
        .min(a.limits.max_buffer_size);
    let by_binding = binding / 8;
    for indegree in [80u64, 1000] {
        let by_memory = memory.map(|m| m / (BYTES_PER_NEURON + 4 * indegree));
        let n = by_memory.map_or(by_binding, |m| m.min(by_binding));
        let bound = match by_memory {
            Some(m) if m < by_binding => "device memory",
            _ => "one binding per state variable and ring",
        };
        println!(
            "  largest network, in-degree {indegree}: about {} neurons, {} synapses (bounded by {bound}{})",
            format::count(n),
            format::count(n * indegree),
            if memory.is_none() { "; memory unknown" } else { "" }
        );
    }
}
