//! Throughput benchmarking (`lifsim bench`): the scaled COBA network (`spec`), one case run and
//! measured (`runner`), and the results as written to JSON (`result`).
//!
//! The CLI runs each case in a process of its own (`lifsim bench` re-invokes itself), because a
//! process's peak resident memory only grows: that way each case's peak is its own, and a case
//! that exhausts memory takes down only its own process. The library runs one case in-process.

pub mod memory;
pub mod result;
pub mod runner;
pub mod spec;

pub use result::{
    BenchBackend, BenchCase, BenchFailure, BenchReport, BenchResult, Dynamics, MachineInfo,
};
pub use runner::{check_fits, run_case, validate_case, BenchError, WARMUP_STEPS};
pub use spec::scaled_coba;

/// Network sizes `--sizes max` climbs through until one does not fit: 4,000 (COBA's size),
/// 10,000, 20,000, 40,000, 100,000, ... up to 4 billion.
pub fn size_ladder() -> Vec<u32> {
    let mut sizes = Vec::new();
    let mut decade = 1_000u64;
    while decade <= 1_000_000_000 {
        for m in [4, 10, 20] {
            let n = m * decade;
            if n <= u64::from(u32::MAX) {
                sizes.push(n as u32);
            }
        }
        decade *= 10;
    }
    sizes
}

#[cfg(test)]
mod tests {
    #[test]
    fn ladder_starts_at_coba_and_climbs() {
        let l = super::size_ladder();
        assert_eq!(&l[..4], &[4_000, 10_000, 20_000, 40_000]);
        assert!(l.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*l.last().unwrap(), 4_000_000_000);
    }
}
