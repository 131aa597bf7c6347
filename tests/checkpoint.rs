//! Checkpoint and resume: a run continued from a checkpoint produces exactly the spikes and
//! samples of an uninterrupted run, on every backend, and `lifsim resume` does so for a run
//! stopped by SIGINT and for a finished run extended to a later t_stop.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

use common::*;
use lifsim::sim::{run_with, Recording, RunOptions};

#[test]
fn a_restored_checkpoint_continues_bit_for_bit_on_every_backend() {
    let mut s = coba(4000, 300.0, 3);
    s.recorders.push(multimeter(0, vec![0, 7, 1999]));
    let network = build(&s);
    for kind in backends() {
        let mut backend = make_backend(&network, kind);
        let mut full = Recording::default();
        let options = RunOptions {
            checkpoint_every_steps: Some(1000),
        };
        run_with(
            &network,
            backend.as_mut(),
            &mut full,
            &AtomicBool::new(false),
            &options,
            |_| {},
        )
        .expect("run");
        // Checkpoints at 1000 and 2000 steps, and one at the end.
        let steps: Vec<u64> = full.checkpoints.iter().map(|c| c.step).collect();
        assert_eq!(steps, vec![1000, 2000, 3000], "{}", kind.name());
        let end_state = backend.neuron_state().unwrap();
        assert_eq!(full.checkpoints[2].state, end_state);

        let from = &full.checkpoints[1];
        let mut resumed_backend = make_backend(&network, kind);
        resumed_backend.restore(from).expect("restore");
        let resumed =
            lifsim::sim::run_to_memory(&network, resumed_backend.as_mut()).expect("resumed run");
        let tail: Vec<_> = full
            .spikes
            .iter()
            .filter(|s| s.step >= from.step)
            .copied()
            .collect();
        assert!(
            tail.len() > 1000,
            "{}: {} spikes after the checkpoint",
            kind.name(),
            tail.len()
        );
        assert_eq!(
            resumed.spikes,
            tail,
            "{}: spikes after resuming",
            kind.name()
        );
        // Samples of every step after the checkpoint (one row of 3 values per step).
        for (r, f) in resumed.samples.iter().zip(&full.samples) {
            assert_eq!(
                r[..],
                f[3 * from.step as usize..],
                "{}: samples after resuming",
                kind.name()
            );
        }
        assert_eq!(
            resumed_backend.neuron_state().unwrap(),
            end_state,
            "{}",
            kind.name()
        );
    }
}

fn lifsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lifsim"))
}

fn spikes_of(path: &Path) -> Vec<(String, Vec<f64>, Vec<u64>)> {
    let file = lifsim::record::read(path).expect("readable output");
    file.spikes
        .into_iter()
        .map(|s| (s.population, s.timestamps_ms, s.node_ids))
        .collect()
}

fn coba_config() -> String {
    format!("{}/configs/coba.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn lifsim_resume_continues_a_run_stopped_by_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.h5");
    let part = dir.path().join("part.h5");
    let ok = lifsim()
        .args([
            "run",
            &coba_config(),
            "--backend",
            "cpu",
            "--t-stop",
            "600",
            "-q",
            "-o",
        ])
        .arg(&full)
        .status()
        .unwrap();
    assert!(ok.success());

    // Stop the same run with SIGINT after its second checkpoint.
    let mut child = lifsim()
        .args([
            "run",
            &coba_config(),
            "--backend",
            "cpu",
            "--t-stop",
            "600",
            "--checkpoint-every",
            "100",
            "-o",
        ])
        .arg(&part)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr to its end: a pipe closed early would make the child's next message fail.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut checkpoints = 0;
    for line in stderr.lines() {
        if line.unwrap().starts_with("checkpoint written") {
            checkpoints += 1;
            if checkpoints == 2 {
                let pid = child.id().to_string();
                assert!(Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .unwrap()
                    .success());
            }
        }
    }
    let status = child.wait().unwrap();
    // Interrupted (130), unless the run was so fast that it finished first.
    assert!(matches!(status.code(), Some(130) | Some(0)), "{status:?}");
    let stopped = lifsim::record::read(&part).unwrap();
    if status.code() == Some(130) {
        assert!(!stopped.completed);
        assert_eq!(stopped.status, "interrupted");
    }

    let out = lifsim().args(["resume", "-q"]).arg(&part).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = lifsim::record::read(&part).unwrap();
    assert!(resumed.completed);
    assert_eq!(spikes_of(&part), spikes_of(&full));
    let full_file = lifsim::record::read(&full).unwrap();
    assert_eq!(resumed.reports[0].data, full_file.reports[0].data);
}

#[test]
fn lifsim_resume_extends_a_finished_run_to_a_later_t_stop() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.h5");
    let short = dir.path().join("short.h5");
    for (path, t_stop, extra) in [(&full, "400", None), (&short, "250", Some("50"))] {
        let mut cmd = lifsim();
        cmd.args([
            "run",
            &coba_config(),
            "--backend",
            "cpu",
            "--t-stop",
            t_stop,
            "-q",
            "-o",
        ])
        .arg(path);
        if let Some(every) = extra {
            cmd.args(["--checkpoint-every", every]);
        }
        assert!(cmd.status().unwrap().success());
    }
    // Without a later t_stop there is nothing to do.
    let out = lifsim()
        .args(["resume", "-q"])
        .arg(&short)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give a later --t-stop"));
    let out = lifsim()
        .args(["resume", "-q", "--t-stop", "400"])
        .arg(&short)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spikes_of(&short), spikes_of(&full));
    let file = lifsim::record::read(&short).unwrap();
    assert_eq!((file.t_stop_ms, file.completed), (400.0, true));
}

#[test]
fn resuming_a_file_without_checkpoints_says_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.h5");
    assert!(lifsim()
        .args([
            "run",
            &coba_config(),
            "--backend",
            "cpu",
            "--t-stop",
            "20",
            "-q",
            "-o"
        ])
        .arg(&path)
        .status()
        .unwrap()
        .success());
    let out = lifsim()
        .args(["resume", "-q", "--t-stop", "40"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("no checkpoint") && message.contains("--checkpoint-every"),
        "{message}"
    );
}
