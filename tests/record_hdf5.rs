//! The SONATA writer and reader: what is written over several batches reads back exactly (with
//! lifsim's reader, with HDF5 directly, and with h5py/libsonata through
//! `tests/python/check_output.py`), and interrupted, failed, dropped and killed runs leave
//! readable files that say so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hdf5_metno::types::{EnumMember, EnumType, IntSize, TypeDescriptor};
use lifsim::backend::{Batch, Spike};
use lifsim::config::{
    BackendChoice, ConfigSource, Distribution, NetworkSpec, PopulationSpec, RecorderSpec,
    SimulationSpec,
};
use lifsim::model::{IafCondExpParams, StateVariable};
use lifsim::network::{self, Network};
use lifsim::record::{self, RecordError, RunInfo, RunStatus, SonataWriter};
use serde_json::{json, Value};

mod common;

use common::cli::python_check;

const DT_MS: f64 = 0.1;

/// HDF5 opens files without close-on-exec and holds a lock on each open file, so a child process
/// started while another test has a file open inherits the descriptor and keeps the lock until it
/// exits, and that test then cannot reopen its own file. Tests hold this lock shared while they
/// use HDF5 files, and exclusively if they start a child process.
static FILES: RwLock<()> = RwLock::new(());

fn files_shared() -> RwLockReadGuard<'static, ()> {
    FILES.read().unwrap_or_else(PoisonError::into_inner)
}

fn files_exclusive() -> RwLockWriteGuard<'static, ()> {
    FILES.write().unwrap_or_else(PoisonError::into_inner)
}

fn population(name: &str, n: u32) -> PopulationSpec {
    PopulationSpec {
        name: name.to_owned(),
        n,
        params: IafCondExpParams::default(),
        v_m: Distribution::Constant(-70.0),
        g_ex: Distribution::Constant(0.0),
        g_in: Distribution::Constant(0.0),
    }
}

/// Populations E (5 neurons), I (3) and X (2); spikes of E and I recorded, not X; V_m and g_ex
/// of E[1] and E[3] every 2 steps, g_in of I[0] every step.
fn network() -> Network {
    let spec = NetworkSpec {
        simulation: SimulationSpec {
            dt_ms: DT_MS,
            t_stop_ms: 5.0,
            seed: 1234,
            backend: BackendChoice::Cpu,
            threads: Some(1),
        },
        populations: vec![population("E", 5), population("I", 3), population("X", 2)],
        projections: Vec::new(),
        stimuli: Vec::new(),
        recorders: vec![
            RecorderSpec::Spikes {
                populations: vec![0, 1],
            },
            RecorderSpec::State {
                population: 0,
                neurons: vec![1, 3],
                variables: vec![StateVariable::VM, StateVariable::GEx],
                interval_steps: 2,
            },
            RecorderSpec::State {
                population: 1,
                neurons: vec![0],
                variables: vec![StateVariable::GIn],
                interval_steps: 1,
            },
        ],
        source: ConfigSource {
            path: PathBuf::from("configs/test.toml"),
            text: "[simulation]\ndt = 0.1 # ms\n".to_owned(),
        },
    };
    network::build(&spec, 1).expect("the test network builds")
}

fn run_info(network: &Network) -> RunInfo {
    RunInfo {
        lifsim_version: "0.1.0-test".to_owned(),
        backend: "cpu, 1 thread".to_owned(),
        config_path: network.spec.source.path.display().to_string(),
        config_text: network.spec.source.text.clone(),
        seed: network.seed,
        dt_ms: network.dt_ms,
        t_stop_ms: 5.0,
        command_line: "lifsim run configs/test.toml -o out.h5".to_owned(),
    }
}

/// The value a probe samples from `neuron` (global) at the end of `step`: distinct for every
/// probe, step and neuron, and exact in f32.
fn sample_value(probe: usize, step: u64, neuron: u32) -> f32 {
    probe as f32 * 1000.0 + step as f32 + neuron as f32 * 0.25
}

/// A batch of steps `first_step..first_step + n_steps` with the given spikes (step, global
/// neuron) and every probe's samples as `sample_value` gives them.
fn batch(network: &Network, first_step: u64, n_steps: u64, spikes: &[(u64, u32)]) -> Batch {
    let samples = network
        .probes
        .iter()
        .enumerate()
        .map(|(i, probe)| {
            (first_step..first_step + n_steps)
                .filter(|&k| probe.samples_step(k))
                .flat_map(|k| probe.neurons.iter().map(move |&n| sample_value(i, k, n)))
                .collect()
        })
        .collect();
    Batch {
        first_step,
        n_steps,
        spikes: spikes
            .iter()
            .map(|&(step, neuron)| Spike { step, neuron })
            .collect(),
        samples,
    }
}

/// Spikes of E (global 0..5), I (5..8) and X (8..10), ordered by step then neuron; I spikes
/// only in the second batch, X spikes (not recorded) in every batch.
fn batches(network: &Network) -> Vec<Batch> {
    vec![
        batch(network, 0, 10, &[(0, 2), (0, 9), (3, 0), (3, 4), (9, 8)]),
        batch(
            network,
            10,
            15,
            &[(12, 1), (12, 5), (12, 7), (20, 6), (24, 9)],
        ),
        batch(network, 25, 0, &[]),
        batch(network, 25, 6, &[(25, 3), (26, 8), (30, 0), (30, 4)]),
    ]
}

/// What `batches` should leave in /spikes: (population, timestamps, node ids).
fn expected_spikes() -> Vec<(&'static str, Vec<f64>, Vec<u64>)> {
    let t = |step: u64| (step + 1) as f64 * DT_MS;
    vec![
        (
            "E",
            vec![t(0), t(3), t(3), t(12), t(25), t(30), t(30)],
            vec![2, 0, 4, 1, 3, 0, 4],
        ),
        ("I", vec![t(12), t(12), t(20)], vec![0, 2, 1]),
    ]
}

fn write_all(path: &Path, network: &Network, batches: &[Batch]) -> SonataWriter {
    let mut writer = SonataWriter::create(path, network, &run_info(network), false).unwrap();
    for b in batches {
        writer.write_batch(network, b).unwrap();
    }
    writer
}

fn assert_spikes(file: &record::OutputFile) {
    let expected = expected_spikes();
    assert_eq!(
        file.spikes.len(),
        expected.len(),
        "only E and I are recorded"
    );
    for (table, (population, timestamps, node_ids)) in file.spikes.iter().zip(expected) {
        assert_eq!(table.population, population);
        let size = match population {
            "E" => 5,
            "I" => 3,
            _ => unreachable!("only E and I are recorded"),
        };
        assert_eq!(table.n_nodes, Some(size), "n_nodes of {population}");
        assert_eq!(
            table.timestamps_ms, timestamps,
            "timestamps of {population}"
        );
        assert_eq!(table.node_ids, node_ids, "node ids of {population}");
    }
}

/// Checks the reports against `sample_value` for the steps `0..n_steps`.
fn assert_reports(network: &Network, file: &record::OutputFile, n_steps: u64) {
    let expected = [("E", "V_m", "mV"), ("E", "g_ex", "nS"), ("I", "g_in", "nS")];
    assert_eq!(file.reports.len(), expected.len());
    for (i, (report, (population, variable, units))) in
        file.reports.iter().zip(expected).enumerate()
    {
        let probe = &network.probes[i];
        let offset = network.populations[probe.population].offset;
        assert_eq!(
            (report.population.as_str(), report.variable.as_str()),
            (population, variable)
        );
        assert_eq!(report.units, units);
        let node_ids: Vec<u64> = probe
            .neurons
            .iter()
            .map(|&n| u64::from(n - offset))
            .collect();
        assert_eq!(report.node_ids, node_ids);
        let interval_ms = f64::from(probe.interval_steps) * DT_MS;
        let sampled: Vec<u64> = (0..n_steps).filter(|&k| probe.samples_step(k)).collect();
        assert_eq!(report.n_samples, sampled.len(), "{population}/{variable}");
        assert_eq!(report.start_ms, interval_ms);
        assert_eq!(report.dt_ms, interval_ms);
        assert_eq!(
            report.stop_ms,
            interval_ms + sampled.len() as f64 * interval_ms
        );
        let data: Vec<f32> = sampled
            .iter()
            .flat_map(|&k| probe.neurons.iter().map(move |&n| sample_value(i, k, n)))
            .collect();
        assert_eq!(report.data, data, "{population}/{variable}");
        // Sample s is the state at the end of step (s + 1) * interval - 1.
        for (s, &k) in sampled.iter().enumerate() {
            assert!((report.time_ms(s) - network.step_end_ms(k)).abs() < 1e-9);
        }
    }
}

#[test]
fn batches_read_back_exactly() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let network = network();
    let writer = write_all(&path, &network, &batches(&network));
    assert_eq!(writer.spikes_written(), &[7, 3, 0]);
    writer.finish(RunStatus::Complete).unwrap();

    let file = record::read(&path).unwrap();
    assert!(file.completed);
    assert_eq!(file.status, "complete");
    assert_eq!(file.t_reached_ms, 31.0 * DT_MS);
    assert_eq!(file.t_stop_ms, 5.0);
    assert_eq!(file.dt_ms, DT_MS);
    assert_eq!(file.seed, 1234);
    assert_eq!(file.backend, "cpu, 1 thread");
    assert_eq!(file.config_text, "[simulation]\ndt = 0.1 # ms\n");
    assert_eq!(file.lifsim_version, "0.1.0-test");
    assert_spikes(&file);
    assert_reports(&network, &file, 31);
}

/// SONATA's `sorting` enum, to read the attribute through HDF5's enum conversion.
#[derive(hdf5_metno::H5Type, Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
#[expect(dead_code, reason = "the members define the HDF5 enum type")]
enum Sorting {
    #[hdf5(rename = "none")]
    None = 0,
    #[hdf5(rename = "by_id")]
    ById = 1,
    #[hdf5(rename = "by_time")]
    ByTime = 2,
}

#[test]
fn layout_matches_sonata() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let network = network();
    write_all(&path, &network, &batches(&network))
        .finish(RunStatus::Complete)
        .unwrap();

    let file = hdf5_metno::File::open(&path).unwrap();
    let magic: u32 = file.attr("magic").unwrap().read_scalar().unwrap();
    assert_eq!(magic, 0x0A7A);
    let version: Vec<u32> = file.attr("version").unwrap().read_raw().unwrap();
    assert_eq!(version, [0, 1]);
    let completed: u8 = file.attr("completed").unwrap().read_scalar().unwrap();
    assert_eq!(completed, 1);

    assert_eq!(
        file.group("spikes").unwrap().member_names().unwrap(),
        ["E", "I"]
    );
    for population in ["E", "I"] {
        let group = file.group(&format!("spikes/{population}")).unwrap();
        let sorting = group.attr("sorting").unwrap();
        let members = |names: [&str; 3]| {
            names
                .iter()
                .zip(0..)
                .map(|(name, value)| EnumMember {
                    name: name.to_string(),
                    value,
                })
                .collect()
        };
        assert_eq!(
            sorting.dtype().unwrap().to_descriptor().unwrap(),
            TypeDescriptor::Enum(EnumType {
                size: IntSize::U1,
                signed: false,
                members: members(["none", "by_id", "by_time"]),
            })
        );
        assert_eq!(sorting.read_scalar::<Sorting>().unwrap(), Sorting::ByTime);
        for name in ["timestamps", "node_ids"] {
            let dataset = group.dataset(name).unwrap();
            assert!(
                dataset.is_chunked() && dataset.is_resizable(),
                "{population}/{name}"
            );
        }
    }
    let data = file.dataset("report/E/V_m/data").unwrap();
    assert!(data.is_chunked() && data.is_resizable());
    assert_eq!(data.shape(), [15, 2]);
    let pointers: Vec<u64> = file
        .dataset("report/E/V_m/mapping/index_pointers")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(pointers, [0, 1, 2]);
    let elements: Vec<u32> = file
        .dataset("report/E/V_m/mapping/element_ids")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(elements, [0, 0]);
}

#[test]
fn reports_read_back_whatever_the_batch_size() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let network = network();
    // One-step batches hold at most one sample per probe (written row by row), long batches
    // many samples of few neurons (written column by column).
    for steps_per_batch in [1, 2, 3, 7, 31] {
        let path = dir.path().join(format!("batch{steps_per_batch}.h5"));
        let batches: Vec<Batch> = (0..31)
            .step_by(steps_per_batch)
            .map(|first| {
                batch(
                    &network,
                    first,
                    (31 - first).min(steps_per_batch as u64),
                    &[],
                )
            })
            .collect();
        write_all(&path, &network, &batches)
            .finish(RunStatus::Complete)
            .unwrap();
        assert_reports(&network, &record::read(&path).unwrap(), 31);
    }
}

#[test]
fn long_batches_cross_chunk_boundaries() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.h5");
    let network = network();
    // A chunk of E's reports holds 32,768 samples of 2 neurons, one of I's 65,536 of 1 neuron.
    let batches = [
        batch(&network, 0, 40_000, &[(39_999, 0)]),
        batch(&network, 40_000, 100_000, &[(139_999, 7)]),
    ];
    write_all(&path, &network, &batches)
        .finish(RunStatus::Complete)
        .unwrap();
    let file = record::read(&path).unwrap();
    assert_reports(&network, &file, 140_000);
    assert_eq!(file.spikes[0].timestamps_ms, [4000.0]);
    assert_eq!(file.spikes[1].timestamps_ms, [14000.0]);
}

#[test]
fn populations_keep_the_config_order() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.h5");
    let mut spec = network().spec;
    for (population, name) in spec.populations.iter_mut().zip(["Z", "B", "A"]) {
        population.name = name.to_owned();
    }
    spec.recorders.push(RecorderSpec::State {
        population: 2,
        neurons: vec![1],
        variables: vec![StateVariable::VM],
        interval_steps: 1,
    });
    spec.recorders.push(RecorderSpec::Spikes {
        populations: vec![2],
    });
    let network = network::build(&spec, 1).unwrap();
    write_all(&path, &network, &[])
        .finish(RunStatus::Complete)
        .unwrap();

    let file = record::read(&path).unwrap();
    let spikes: Vec<&str> = file.spikes.iter().map(|t| t.population.as_str()).collect();
    assert_eq!(spikes, ["Z", "B", "A"]);
    let reports: Vec<String> = file
        .reports
        .iter()
        .map(|r| format!("{}/{}", r.population, r.variable))
        .collect();
    assert_eq!(reports, ["Z/V_m", "Z/g_ex", "B/g_in", "A/V_m"]);
}

#[test]
fn populations_without_spikes_get_empty_datasets() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.h5");
    let network = network();
    let writer = write_all(&path, &network, &[batch(&network, 0, 50, &[(7, 9)])]);
    assert_eq!(writer.spikes_written(), &[0, 0, 0]);
    writer.finish(RunStatus::Complete).unwrap();

    let file = record::read(&path).unwrap();
    let populations: Vec<&str> = file.spikes.iter().map(|t| t.population.as_str()).collect();
    assert_eq!(populations, ["E", "I"]);
    assert!(file
        .spikes
        .iter()
        .all(|t| t.timestamps_ms.is_empty() && t.node_ids.is_empty()));
    assert_reports(&network, &file, 50);
}

#[test]
fn existing_file_is_refused_unless_overwrite() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exists.h5");
    std::fs::write(&path, "precious").unwrap();
    let network = network();
    let info = run_info(&network);

    let error = SonataWriter::create(&path, &network, &info, false)
        .err()
        .expect("an existing file is refused");
    assert!(matches!(error, RecordError::Exists { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("pass --force or choose another output path"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");

    let mut writer = SonataWriter::create(&path, &network, &info, true).unwrap();
    writer.write_batch(&network, &batches(&network)[0]).unwrap();
    writer.finish(RunStatus::Complete).unwrap();
    let file = record::read(&path).unwrap();
    assert_eq!(file.status, "complete");
    assert_eq!(file.spikes[0].node_ids, [2, 0, 4]);
}

#[test]
fn unwritable_paths_give_clear_errors() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let network = network();
    let info = run_info(&network);

    let missing_dir = dir.path().join("no/such/dir/out.h5");
    let error = SonataWriter::create(&missing_dir, &network, &info, false)
        .err()
        .expect("a missing directory is an error");
    assert!(matches!(error, RecordError::Create { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&missing_dir.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("directory exists and is writable"),
        "{message}"
    );

    // A directory in place of the file, even with overwrite.
    let error = SonataWriter::create(dir.path(), &network, &info, true)
        .err()
        .expect("a directory is not a file");
    assert!(matches!(error, RecordError::Create { .. }), "{error:?}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.path().join("read_only");
        std::fs::create_dir(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes anywhere: only check the error where the directory really is read-only.
        if std::fs::File::create(read_only.join("probe")).is_err() {
            let path = read_only.join("out.h5");
            let error = SonataWriter::create(&path, &network, &info, false)
                .err()
                .expect("a read-only directory is an error");
            let RecordError::Create { source, .. } = &error else {
                panic!("{error:?}");
            };
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
            assert!(error.to_string().contains(&path.display().to_string()));
        }
    }
}

#[test]
fn dropped_writer_leaves_a_running_file() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.h5");
    let network = network();
    let all = batches(&network);
    let writer = write_all(&path, &network, &all[..2]);
    drop(writer);

    let file = record::read(&path).unwrap();
    assert!(!file.completed);
    assert_eq!(file.status, "running");
    assert_eq!(file.t_reached_ms, 25.0 * DT_MS);
    assert_eq!(file.spikes[0].node_ids, [2, 0, 4, 1]);
    assert_eq!(file.spikes[1].node_ids, [0, 2, 1]);
    assert_reports(&network, &file, 25);
}

#[test]
fn file_is_readable_right_after_create() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.h5");
    let network = network();
    drop(SonataWriter::create(&path, &network, &run_info(&network), false).unwrap());

    let file = record::read(&path).unwrap();
    assert_eq!(file.status, "running");
    assert_eq!(file.t_reached_ms, 0.0);
    assert_eq!(file.spikes.len(), 2);
    assert!(file
        .reports
        .iter()
        .all(|r| r.n_samples == 0 && r.data.is_empty()));
    assert!(file.reports.iter().all(|r| r.stop_ms == r.start_ms));
}

#[test]
fn interrupted_and_failed_runs_are_marked() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let network = network();
    let all = batches(&network);
    for (status, label) in [
        (RunStatus::Interrupted, "interrupted"),
        (
            RunStatus::Failed("GPU: device lost".to_owned()),
            "failed: GPU: device lost",
        ),
    ] {
        let path = dir.path().join(format!("{}.h5", &label[..6]));
        write_all(&path, &network, &all[..1])
            .finish(status)
            .unwrap();
        let file = record::read(&path).unwrap();
        assert!(!file.completed);
        assert_eq!(file.status, label);
        assert_eq!(file.t_reached_ms, 10.0 * DT_MS);
        assert_eq!(file.spikes[0].node_ids, [2, 0, 4]);
    }
}

/// Set in the child process of `killed_run_leaves_a_readable_file`: the file to write.
const KILLED_CHILD_ENV: &str = "LIFSIM_TEST_KILLED_WRITER_PATH";

#[test]
fn killed_run_leaves_a_readable_file() {
    let _files = files_exclusive();
    let network = network();
    let all = batches(&network);
    if let Some(path) = std::env::var_os(KILLED_CHILD_ENV) {
        // The child: write two batches and die without closing the file, as a crash would.
        let _writer = write_all(Path::new(&path), &network, &all[..2]);
        std::process::abort();
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.h5");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_run_leaves_a_readable_file",
            "--test-threads=1",
        ])
        .env(KILLED_CHILD_ENV, &path)
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the child should have aborted");

    let file = record::read(&path).unwrap();
    assert!(!file.completed);
    assert_eq!(file.status, "running");
    assert_eq!(file.t_reached_ms, 25.0 * DT_MS);
    assert_eq!(file.spikes[0].node_ids, [2, 0, 4, 1]);
    assert_eq!(file.spikes[1].node_ids, [0, 2, 1]);
    assert_reports(&network, &file, 25);

    // h5py opens a file whose writer never closed it (HDF5 marks nothing in the file that
    // would stop it: lifsim writes the 1.8-compatible format, without SWMR's "open" flag).
    if let Some(seen) = python_check(&path) {
        assert_eq!(seen["root"]["status"], "running");
        assert_eq!(seen["root"]["completed"], 0);
        assert_eq!(seen["spikes"]["E"]["node_ids"], json!([2, 0, 4, 1]));
    }
}

#[test]
fn inconsistent_batches_are_refused() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.h5");
    let network = network();
    let mut writer = SonataWriter::create(&path, &network, &run_info(&network), false).unwrap();

    let gap = batch(&network, 5, 10, &[]);
    let error = writer.write_batch(&network, &gap).unwrap_err();
    assert!(matches!(error, RecordError::Batch { .. }), "{error:?}");
    assert!(error.to_string().contains("starts at step 5"), "{error}");

    let mut short = batch(&network, 0, 10, &[]);
    short.samples[1].pop();
    assert!(matches!(
        writer.write_batch(&network, &short),
        Err(RecordError::Batch { .. })
    ));

    let outside = batch(&network, 0, 10, &[(10, 0)]);
    assert!(matches!(
        writer.write_batch(&network, &outside),
        Err(RecordError::Batch { .. })
    ));

    let unknown_neuron = batch(&network, 0, 10, &[(3, 10)]);
    assert!(matches!(
        writer.write_batch(&network, &unknown_neuron),
        Err(RecordError::Batch { .. })
    ));

    // Nothing of the refused batches was written.
    writer.write_batch(&network, &batches(&network)[0]).unwrap();
    assert_eq!(writer.spikes_written(), &[3, 0, 0]);
}

#[test]
fn a_variable_recorded_twice_is_refused() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = network().spec;
    spec.recorders.push(RecorderSpec::State {
        population: 0,
        neurons: vec![0],
        variables: vec![StateVariable::VM],
        interval_steps: 1,
    });
    let network = network::build(&spec, 1).unwrap();
    let path = dir.path().join("twice.h5");
    let error = SonataWriter::create(&path, &network, &run_info(&network), false)
        .err()
        .expect("two V_m reports of E cannot share /report/E/V_m");
    assert!(matches!(error, RecordError::Layout { .. }), "{error:?}");
    assert!(
        error.to_string().contains("V_m of population `E`"),
        "{error}"
    );
}

#[test]
fn reading_other_files_says_what_is_wrong() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.h5");
    let error = record::read(&missing).unwrap_err();
    assert!(matches!(error, RecordError::Open { .. }), "{error:?}");

    let text = dir.path().join("text.h5");
    std::fs::write(&text, "not hdf5").unwrap();
    let error = record::read(&text).unwrap_err();
    assert!(matches!(error, RecordError::NotLifsim { .. }), "{error:?}");

    let plain_hdf5 = dir.path().join("plain.h5");
    hdf5_metno::File::create(&plain_hdf5)
        .unwrap()
        .create_group("spikes")
        .unwrap();
    let error = record::read(&plain_hdf5).unwrap_err();
    assert!(matches!(error, RecordError::NotLifsim { .. }), "{error:?}");
    assert!(error.to_string().contains("magic"), "{error}");
}

#[test]
fn python_readers_see_what_was_written() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let network = network();
    write_all(&path, &network, &batches(&network))
        .finish(RunStatus::Complete)
        .unwrap();
    let Some(seen) = python_check(&path) else {
        return;
    };

    let info = run_info(&network);
    assert_eq!(
        seen["root"],
        json!({
            "magic": 0x0A7A,
            "version": [0, 1],
            "lifsim_version": info.lifsim_version,
            "config": info.config_text,
            "config_path": info.config_path,
            "seed": 1234,
            "dt": DT_MS,
            "t_stop": 5.0,
            "t_reached": 31.0 * DT_MS,
            "backend": info.backend,
            "command_line": info.command_line,
            "completed": 1,
            "status": "complete",
        })
    );

    let spikes = seen["spikes"].as_object().unwrap();
    assert_eq!(spikes.keys().collect::<Vec<_>>(), ["E", "I"]);
    for (population, timestamps, node_ids) in expected_spikes() {
        let table = &spikes[population];
        assert_eq!(table["timestamps"], json!(timestamps), "{population}");
        assert_eq!(table["node_ids"], json!(node_ids), "{population}");
        assert_eq!(table["sorting"], "by_time");
        assert_eq!(
            table["sorting_members"],
            json!({"none": 0, "by_id": 1, "by_time": 2})
        );
        assert_eq!(table["units"], "ms");
        assert_eq!(table["n_nodes"], if population == "E" { 5 } else { 3 });
    }

    let file = record::read(&path).unwrap();
    let reports = seen["reports"].as_object().unwrap();
    assert_eq!(reports.len(), file.reports.len());
    for report in &file.reports {
        let name = format!("{}/{}", report.population, report.variable);
        let seen = &reports[&name];
        let width = report.node_ids.len();
        let rows: Vec<&[f32]> = report.data.chunks(width).collect();
        assert_eq!(seen["data"], json!(rows), "{name}");
        assert_eq!(seen["shape"], json!([report.n_samples, width]), "{name}");
        assert_eq!(seen["units"], report.units.as_str(), "{name}");
        assert_eq!(seen["node_ids"], json!(report.node_ids), "{name}");
        assert_eq!(
            seen["index_pointers"],
            json!((0..=width).collect::<Vec<_>>())
        );
        assert_eq!(seen["element_ids"], json!(vec![0; width]));
        assert_eq!(
            seen["time"],
            json!([report.start_ms, report.stop_ms, report.dt_ms])
        );
        assert_eq!(seen["time_units"], "ms");
    }

    let sonata = &seen["libsonata"];
    if sonata["available"] != true {
        eprintln!(
            "libsonata is not installed ({}): checked with h5py only",
            sonata["reason"]
        );
        return;
    }
    for (population, timestamps, node_ids) in expected_spikes() {
        let seen = &sonata["spikes"][population];
        assert_eq!(seen["sorting"], "by_time");
        let pairs: Vec<Value> = node_ids
            .iter()
            .zip(&timestamps)
            .map(|(n, t)| json!([n, t]))
            .collect();
        assert_eq!(seen["spikes"], json!(pairs), "libsonata, {population}");
    }
    for report in &file.reports {
        let name = format!("{}/{}", report.population, report.variable);
        let seen = &sonata["reports"][&name];
        let rows: Vec<&[f32]> = report.data.chunks(report.node_ids.len()).collect();
        assert_eq!(seen["data"], json!(rows), "libsonata, {name}");
        let ids: Vec<[u64; 2]> = report.node_ids.iter().map(|&n| [n, 0]).collect();
        assert_eq!(seen["ids"], json!(ids), "libsonata, {name}");
        assert_eq!(seen["data_units"], report.units.as_str());
        assert_eq!(seen["time_units"], "ms");
        let times = seen["frame_times"].as_array().unwrap();
        assert_eq!(times.len(), report.n_samples, "libsonata, {name}");
        for (i, t) in times.iter().enumerate() {
            assert!(
                (t.as_f64().unwrap() - report.time_ms(i)).abs() < 1e-9,
                "{name} sample {i}"
            );
        }
    }
}
