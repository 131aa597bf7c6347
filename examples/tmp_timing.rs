#[path = "../tests/common/mod.rs"]
mod common;
use lifsim::backend::Backend;
fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(4000);
    let threads: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    let t0 = std::time::Instant::now();
    let net = common::build(&common::coba(
        n,
        std::env::var("TSTOP")
            .map(|s| s.parse().unwrap())
            .unwrap_or(1000.0),
        1,
    ));
    let tb = t0.elapsed();
    let mut b = lifsim::backend::cpu::CpuBackend::new(&net, threads);
    let t1 = std::time::Instant::now();
    let rec = lifsim::sim::run_to_memory(&net, &mut b).unwrap();
    let ts = t1.elapsed();
    println!(
        "n {n} threads {} build {:.3}s sim {:.4}s spikes {}",
        b.description(),
        tb.as_secs_f64(),
        ts.as_secs_f64(),
        rec.spikes.len()
    );
}
