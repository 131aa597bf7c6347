//! Tiny lifsim output files with hand-made spike trains, for the tests of `lifsim stats`,
//! `lifsim plot` and the Python example: the writer is the real one, the spikes are chosen so
//! every statistic can be worked out by hand.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use lifsim::backend::{Batch, Spike};
use lifsim::network::Network;
use lifsim::record::{RunInfo, RunStatus, SonataWriter};

pub const DT_MS: f64 = 0.1;
pub const T_STOP_MS: f64 = 100.0;

/// A valid config for the synthetic file: E (4 neurons) and I (3), spikes of both recorded,
/// V_m of E[0:2] every 1 ms. It is stored in the file, and `lifsim stats` reads the population
/// sizes from it.
pub const CONFIG: &str = r#"
[simulation]
dt = 0.1
t_stop = 100.0
seed = 1
backend = "cpu"

[[population]]
name = "E"
n = 4
model = "iaf_cond_exp"

[[population]]
name = "I"
n = 3
model = "iaf_cond_exp"

[[record]]
model = "spike_recorder"
populations = ["E", "I"]

[[record]]
model = "multimeter"
population = "E"
neurons = "0:2"
record_from = ["V_m"]
interval = 1.0
"#;

/// The spike trains [ms] of E0..E3 and I0..I2, chosen for round numbers in every statistic
/// (worked out in tests/analysis_stats.rs).
pub const E_TRAINS: [&[f64]; 4] = [
    &[10.0, 20.0, 40.0, 80.0],
    &[25.0, 50.0, 75.0, 100.0],
    &[5.0, 30.0],
    &[],
];
pub const I_TRAINS: [&[f64]; 3] = [&[1.0, 2.0, 3.0, 4.0], &[60.0], &[99.9]];

/// HDF5 opens files without close-on-exec and locks each open file, so a child process started
/// while a test holds a file open inherits the lock until it exits. Tests hold this lock shared
/// while they use HDF5 files in the test process, and exclusively while children run.
static FILES: RwLock<()> = RwLock::new(());

pub fn files_shared() -> RwLockReadGuard<'static, ()> {
    FILES.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn files_exclusive() -> RwLockWriteGuard<'static, ()> {
    FILES.write().unwrap_or_else(PoisonError::into_inner)
}

pub fn network(config: &str) -> Network {
    let spec = lifsim::config::parse(config, Path::new("synthetic.toml")).expect("config parses");
    lifsim::network::build(&spec, 1).expect("network builds")
}

/// Writes `trains` (one list per population, one train per neuron, times on the dt grid) into
/// a complete lifsim file at `path`, for the network of `config`, with every probe's samples
/// set to -70 + neuron + step / 1000.
pub fn write_file(path: &Path, config: &str, trains: &[&[&[f64]]]) {
    let network = network(config);
    let mut spikes: Vec<Spike> = Vec::new();
    for (population, trains) in network.populations.iter().zip(trains) {
        for (node, train) in trains.iter().enumerate() {
            for &t in train.iter() {
                spikes.push(Spike {
                    step: (t / DT_MS).round() as u64 - 1,
                    neuron: population.offset + node as u32,
                });
            }
        }
    }
    spikes.sort_by_key(|s| (s.step, s.neuron));
    let samples = network
        .probes
        .iter()
        .map(|probe| {
            (0..network.n_steps)
                .filter(|&k| probe.samples_step(k))
                .flat_map(|k| {
                    probe
                        .neurons
                        .iter()
                        .map(move |&n| -70.0 + n as f32 + k as f32 / 1000.0)
                })
                .collect()
        })
        .collect();
    let batch = Batch {
        first_step: 0,
        n_steps: network.n_steps,
        spikes,
        samples,
    };
    let info = RunInfo {
        lifsim_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: "hand-made".to_owned(),
        config_path: "synthetic.toml".to_owned(),
        config_text: config.to_owned(),
        seed: network.seed,
        dt_ms: network.dt_ms,
        t_stop_ms: T_STOP_MS,
        command_line: "tests".to_owned(),
    };
    let mut writer = SonataWriter::create(path, &network, &info, false).expect("file created");
    writer.write_batch(&network, &batch).expect("batch written");
    writer.finish(RunStatus::Complete).expect("file finished");
}

/// The synthetic file of [`E_TRAINS`] and [`I_TRAINS`] in `dir`.
pub fn synthetic_file(dir: &Path) -> PathBuf {
    let path = dir.join("synthetic.h5");
    write_file(&path, CONFIG, &[&E_TRAINS, &I_TRAINS]);
    path
}

/// Runs the `lifsim` binary; the caller holds [`files_exclusive`].
pub fn lifsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifsim"))
        .args(args)
        .output()
        .expect("the lifsim binary runs")
}

/// Runs `lifsim` and returns its stdout, failing the test with its stderr if it fails.
pub fn lifsim_ok(args: &[&str]) -> String {
    let output = lifsim(args);
    assert!(
        output.status.success(),
        "lifsim {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
