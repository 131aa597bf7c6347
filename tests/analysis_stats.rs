//! `lifsim stats`: every measure against values worked out by hand on tiny files written by the
//! real writer (tests/synthetic), the same numbers through the CLI's JSON, the options and the
//! errors, and NEST's COBA statistics on a real run of configs/coba.toml.

mod synthetic;

use std::path::Path;

use lifsim::analysis::{
    self, file_stats, Estimate, FileStats, PopulationStats, SizeSource, StatsOptions, Window,
};
use serde_json::Value;
use synthetic::*;

/// Exact up to the one rounding of each division: the moments are integer sums.
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
}

fn assert_estimate(name: &str, actual: Option<Estimate>, expected: Option<(f64, usize)>) {
    match (actual, expected) {
        (Some(a), Some((value, n))) => {
            assert!(close(a.value, value), "{name}: {} != {value}", a.value);
            assert_eq!(a.n, n, "{name}: counted over {} not {n}", a.n);
        }
        (None, None) => {}
        _ => panic!("{name}: got {actual:?}, expected {expected:?}"),
    }
}

/// 25 ms count bins and 50 ms synchrony bins over (0, 100]: 4 and 2 bins.
fn options() -> StatsOptions {
    StatsOptions {
        count_bin_ms: 25.0,
        sync_bin_ms: 50.0,
        ..StatsOptions::default()
    }
}

fn stats_of(path: &Path, window: Option<(f64, f64)>, options: &StatsOptions) -> FileStats {
    let file = lifsim::record::read(path).unwrap();
    let window = match window {
        Some((from, to)) => Window::of_file(&file, Some(from), Some(to)).unwrap(),
        None => Window::of_file(&file, None, None).unwrap(),
    };
    file_stats(&file, window, options).unwrap()
}

/// The hand-worked values for E over (0, 100] with `options()`.
///
/// E0 10 20 40 80: ISIs 10, 20, 40 (mean 70/3, variance 4200/27); counts in 25 ms bins
/// [2, 1, 0, 1]; in 50 ms bins [3, 1].
/// E1 25 50 75 100 (each on the end of a bin, so in it): ISIs all 25, CV 0; counts
/// [1, 1, 1, 1] (Fano 0, no variance: no correlation); in 50 ms bins [2, 2].
/// E2 5 30: 2 spikes, no CV; counts [1, 1, 0, 0]; in 50 ms bins [2, 0].
/// E3 silent: in the rate only.
/// `sizes`: where the population's size came from.
fn check_e(e: &PopulationStats, sizes: SizeSource) {
    assert_eq!(e.population, "E");
    assert_eq!((e.n_neurons, e.size_source), (4, sizes));
    assert_eq!((e.n_spikes, e.n_active), (10, 3));
    // 10 spikes / (4 neurons x 0.1 s).
    assert!(close(e.rate_hz, 25.0), "{}", e.rate_hz);
    let cv_e0 = (4200.0f64 / 27.0).sqrt() / (70.0 / 3.0);
    assert_estimate("CV E", e.cv_isi, Some(((cv_e0 + 0.0) / 2.0, 2)));
    // Fano: E0 var 0.5 / mean 1; E1 0 / 1; E2 0.25 / 0.5.
    assert_estimate("Fano E", e.fano_factor, Some(((0.5 + 0.0 + 0.5) / 3.0, 3)));
    // One pair (E0, E2): deviations [1, 0, -1, 0] and [.5, .5, -.5, -.5]: cov 0.25, variances
    // 0.5 and 0.25.
    assert_estimate(
        "corr E",
        e.correlation,
        Some((0.25 / (0.5f64 * 0.25).sqrt(), 1)),
    );
    // chi: variances over 2 bins 1, 0, 1 (mean 2/3); population mean counts [7/3, 1], variance
    // 4/9; chi^2 = (4/9) / (2/3).
    assert_estimate(
        "chi E",
        e.synchrony_chi,
        Some((((4.0f64 / 9.0) / (2.0 / 3.0)).sqrt(), 3)),
    );
}

/// I over (0, 100]. I0 1 2 3 4: CV 0; counts [4, 0, 0, 0], in 50 ms bins [4, 0].
/// I1 60 and I2 99.9: one spike each, counts [0, 0, 1, 0] and [0, 0, 0, 1]; [0, 1] and [0, 1].
fn check_i(i: &PopulationStats) {
    assert_eq!((i.n_neurons, i.n_spikes, i.n_active), (3, 6, 3));
    assert!(close(i.rate_hz, 20.0), "{}", i.rate_hz);
    assert_estimate("CV I", i.cv_isi, Some((0.0, 1)));
    // Fano: 3 / 1, 0.1875 / 0.25, 0.1875 / 0.25.
    assert_estimate(
        "Fano I",
        i.fano_factor,
        Some(((3.0 + 0.75 + 0.75) / 3.0, 3)),
    );
    // Counts in one bin each, different bins: every pair correlates -1/(B - 1) = -1/3.
    assert_estimate("corr I", i.correlation, Some((-1.0 / 3.0, 3)));
    // Variances 4, 0.25, 0.25 (mean 1.5); population mean counts [4/3, 2/3], variance 1/9.
    assert_estimate(
        "chi I",
        i.synchrony_chi,
        Some(((1.0f64 / 9.0 / 1.5).sqrt(), 3)),
    );
}

#[test]
fn every_measure_matches_the_hand_computed_value() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let stats = stats_of(&path, None, &options());
    assert_eq!(stats.window, Window::new(0.0, 100.0).unwrap());
    assert_eq!((stats.count_bins, stats.sync_bins), (4, 2));
    assert_eq!(stats.populations.len(), 2);
    check_e(&stats.populations[0], SizeSource::File);
    check_i(&stats.populations[1]);
}

#[test]
fn the_window_keeps_spikes_after_from_up_to_and_including_to() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    // (20, 60]: E0 40; E1 25 50; E2 30 (E0's 20 is on `from`, out); I1 60 (on `to`, in).
    let stats = stats_of(&path, Some((20.0, 60.0)), &options());
    let (e, i) = (&stats.populations[0], &stats.populations[1]);
    assert_eq!((e.n_spikes, i.n_spikes), (4, 1));
    assert!(close(e.rate_hz, 4.0 / (4.0 * 0.04)), "{}", e.rate_hz);
    assert!(close(i.rate_hz, 1.0 / (3.0 * 0.04)), "{}", i.rate_hz);
    // No neuron has 3 spikes in the window.
    assert_eq!(e.cv_isi, None);
    // Bins of 25 ms from 20: one whole bin (20, 45] in a 40 ms window: no count statistics.
    assert_eq!(stats.count_bins, 1);
    assert_eq!((e.fano_factor, e.correlation), (None, None));
    // Bins of 10 ms: (20, 30] (30, 40] (40, 50] (50, 60]. E0 [0, 0, 1, 0]: Fano 0.75;
    // E1 [1, 0, 0, 1]: var 0.25 / mean 0.5; E2 [1, 0, 0, 0]: 0.75.
    let fine = StatsOptions {
        count_bin_ms: 10.0,
        ..options()
    };
    let e = stats_of(&path, Some((20.0, 60.0)), &fine).populations[0].clone();
    assert_estimate(
        "Fano E (20, 60]",
        e.fano_factor,
        Some(((0.75 + 0.5 + 0.75) / 3.0, 3)),
    );
}

#[test]
fn pairs_are_sampled_reproducibly_when_there_are_more_than_asked() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let two = StatsOptions {
        max_pairs: 2,
        ..options()
    };
    let first = stats_of(&path, None, &two);
    assert_eq!(first, stats_of(&path, None, &two));
    // I has 3 varying neurons (3 pairs, all -1/3): 2 are drawn.
    assert_estimate(
        "corr I",
        first.populations[1].correlation,
        Some((-1.0 / 3.0, 2)),
    );
    let pairs = analysis::choose_pairs(3, 2, two.pair_seed);
    assert_eq!(pairs.len(), 2);
    assert_ne!(pairs[0], pairs[1]);
}

#[test]
fn cli_json_and_table_give_the_same_numbers() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let path_str = path.to_str().unwrap();
    let args = ["stats", path_str, "--count-bin", "25", "--sync-bin", "50"];
    let json: Value = serde_json::from_str(&lifsim_ok(&[&args[..], &["--json"]].concat())).unwrap();
    assert_eq!(json["status"], "complete");
    assert_eq!(json["window"]["from_ms"], 0.0);
    assert_eq!(json["window"]["to_ms"], 100.0);
    assert_eq!(json["options"]["count_bin_ms"], 25.0);
    let populations = json["populations"].as_array().unwrap();
    let from_json: Vec<PopulationStats> = populations
        .iter()
        .map(|p| PopulationStats {
            population: p["population"].as_str().unwrap().to_owned(),
            n_neurons: p["n_neurons"].as_u64().unwrap() as u32,
            size_source: match p["size_source"].as_str().unwrap() {
                "file" => SizeSource::File,
                other => panic!("size_source {other}"),
            },
            n_spikes: p["n_spikes"].as_u64().unwrap() as usize,
            n_active: p["n_active"].as_u64().unwrap() as usize,
            rate_hz: p["rate_hz"].as_f64().unwrap(),
            cv_isi: estimate(&p["cv_isi"]),
            fano_factor: estimate(&p["fano_factor"]),
            correlation: estimate(&p["correlation"]),
            synchrony_chi: estimate(&p["synchrony_chi"]),
        })
        .collect();
    check_e(&from_json[0], SizeSource::File);
    check_i(&from_json[1]);

    let table = lifsim_ok(&args);
    let e_row = table
        .lines()
        .find(|l| l.starts_with("E "))
        .unwrap_or_else(|| panic!("no row for E in:\n{table}"));
    let cells: Vec<&str> = e_row.split_whitespace().collect();
    // population neurons spikes rate CV Fano corr chi
    assert_eq!(cells[..4], ["E", "4", "10", "25.00"], "{table}");
    assert_eq!(cells[5], "0.33", "{table}");
    assert!(table.contains("4 bins of 25 ms"), "{table}");
    assert!(table.contains("2 bins of 50 ms"), "{table}");
}

fn estimate(value: &Value) -> Option<Estimate> {
    (!value.is_null()).then(|| Estimate {
        value: value["value"].as_f64().unwrap(),
        n: value["n"].as_u64().unwrap() as usize,
    })
}

#[test]
fn silent_neurons_count_in_rates_and_missing_measures_print_as_dashes() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.h5");
    // E: one spike in 4 neurons; I silent.
    write_file(
        &path,
        CONFIG,
        &[&[&[50.0], &[], &[], &[]], &[&[], &[], &[]]],
    );
    let stats = stats_of(&path, None, &options());
    let (e, i) = (&stats.populations[0], &stats.populations[1]);
    assert!(close(e.rate_hz, 1.0 / (4.0 * 0.1)));
    assert_eq!((i.rate_hz, i.n_spikes, i.n_active), (0.0, 0, 0));
    assert_eq!(e.cv_isi, None);
    assert_estimate("Fano E", e.fano_factor, Some((0.75, 1)));
    assert_eq!(
        (e.correlation, e.synchrony_chi.map(|c| c.value)),
        (None, Some(1.0))
    );
    assert_eq!(
        (i.cv_isi, i.fano_factor, i.correlation, i.synchrony_chi),
        (None, None, None, None)
    );
    let table = lifsim_ok(&["stats", path.to_str().unwrap()]);
    let i_row = table.lines().find(|l| l.starts_with("I ")).unwrap();
    assert_eq!(
        i_row.split_whitespace().collect::<Vec<_>>(),
        ["I", "3", "0", "0.00", "-", "-", "-", "-"],
        "{table}"
    );
}

#[test]
fn sizes_fall_back_to_the_highest_node_id_without_a_usable_config() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let mut file = lifsim::record::read(&path).unwrap();
    // A file of another tool: no n_nodes, no lifsim config.
    file.spikes[0].n_nodes = None;
    file.config_text = "not a config".to_owned();
    let window = Window::of_file(&file, None, None).unwrap();
    let stats = file_stats(&file, window, &options()).unwrap();
    let e = &stats.populations[0];
    // E3 never spiked: only E0..E2 are known.
    assert_eq!((e.n_neurons, e.size_source), (3, SizeSource::HighestNodeId));
    assert!(close(e.rate_hz, 10.0 / (3.0 * 0.1)));
}

#[test]
fn bad_windows_and_options_say_what_to_do() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let path = path.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--to", "150"], "pass --to 100 or less"),
        (&["--from", "60", "--to", "50"], "must be after the start"),
        (&["--from", "-5"], "must be 0 ms or later"),
        (
            &["--count-bin", "0"],
            "a bin must be a positive number of ms",
        ),
        (
            &["--sync-bin", "nan"],
            "a bin must be a positive number of ms",
        ),
        (&["--sync-bin", "0.000001"], "more than 10,000,000 bins"),
    ];
    for (extra, message) in cases {
        let output = lifsim(&[&["stats", path][..], extra].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} should fail");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
    }
    let output = lifsim(&["stats", "/no/such/file.h5"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/file.h5"));
}

/// NEST 3.10 on COBA (shared/reference/coba.md): rate E 15.01 Hz, I 14.39 Hz, CV(ISI) E 1.41;
/// lifsim's own rates run about 14.0-14.9 Hz. The network is chaotic: ranges, not values.
#[test]
fn coba_run_matches_nest_statistics() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("coba.h5");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/coba.toml");
    lifsim_ok(&[
        "run",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--quiet",
    ]);
    let stats = stats_of(&out, None, &StatsOptions::default());
    let (e, i) = (&stats.populations[0], &stats.populations[1]);
    eprintln!("COBA seed 1: {e:?}\n{i:?}");
    assert_eq!((e.n_neurons, i.n_neurons), (3200, 800));
    assert!(
        (15.0 * 0.9..=15.0 * 1.1).contains(&e.rate_hz),
        "rate E {}",
        e.rate_hz
    );
    assert!(
        (14.4 * 0.9..=14.4 * 1.1).contains(&i.rate_hz),
        "rate I {}",
        i.rate_hz
    );
    let cv = e.cv_isi.unwrap();
    assert!((1.31..=1.51).contains(&cv.value), "CV(ISI) E {}", cv.value);
    assert!(cv.n > 2000, "CV over {} neurons only", cv.n);
    // Asynchronous irregular activity: weak pairwise correlations, chi far below 1.
    let corr = e.correlation.unwrap();
    assert_eq!(corr.n, 1000);
    assert!(corr.value.abs() < 0.2, "corr E {}", corr.value);
    assert!(e.synchrony_chi.unwrap().value < 0.5);

    // The activity is self-sustained: the last 100 ms alone.
    let late = stats_of(&out, Some((900.0, 1000.0)), &StatsOptions::default());
    assert!(late.populations.iter().all(|p| p.rate_hz > 5.0), "{late:?}");
}

#[test]
fn sizes_come_from_the_config_in_files_without_n_nodes() {
    // Files written before lifsim stored n_nodes: the config in the file has the sizes.
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let mut file = lifsim::record::read(&path).unwrap();
    for table in &mut file.spikes {
        table.n_nodes = None;
    }
    let window = Window::of_file(&file, None, None).unwrap();
    let stats = file_stats(&file, window, &options()).unwrap();
    check_e(&stats.populations[0], SizeSource::Config);
}
