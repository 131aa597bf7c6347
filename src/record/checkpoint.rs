//! Checkpoints in the output file, and reopening a file to continue its run (`lifsim resume`).
//!
//! `/checkpoint` holds two slots, `a` and `b`; each has the full state (`v_m`, `g_ex`, `g_in`,
//! `refractory`, `i_stim`, `ring_ex`, `ring_in`) and, as attributes, the step and how much of
//! every spike and report dataset belonged to the run at that step. A new checkpoint goes into the
//! slot that is not the latest, is flushed, and only then does the `latest` attribute of
//! `/checkpoint` name it: a run killed while writing a checkpoint still leaves the previous one.

use std::path::Path;

use hdf5_metno::{Dataset, File, Group, H5Type};

use super::sonata::{
    check_layout, new_attr, new_str_attr, write_attr, write_str_attr, DiskReserve, ReportDatasets,
    SonataWriter, SpikeDatasets, STATUS_RUNNING,
};
use super::{attr, Hdf5Context, RecordError};
use crate::backend::Checkpoint;
use crate::network::{Network, NeuronState};

const GROUP: &str = "checkpoint";
const LATEST: &str = "latest";
const STEP: &str = "step";
const SPIKES_WRITTEN: &str = "spikes_written";
const REPORT_ROWS: &str = "report_rows";
const EVERY_STEPS: &str = "every_steps";
const SLOTS: [&str; 2] = ["a", "b"];

/// A checkpoint read from a file, with how much output the run had written at its step.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCheckpoint {
    pub checkpoint: Checkpoint,
    /// Spikes per population (0 for populations not recorded).
    pub spikes_written: Vec<u64>,
    /// Samples per report, in probe order.
    pub report_rows: Vec<u64>,
    /// The run's checkpoint interval [steps], if it had one.
    pub every_steps: Option<u64>,
}

impl SonataWriter {
    /// Store `checkpoint` (taken after every batch up to its step was written); `every_steps` is
    /// the run's checkpoint interval, kept for `lifsim resume`.
    pub fn write_checkpoint(
        &mut self,
        checkpoint: &Checkpoint,
        every_steps: u64,
    ) -> Result<(), RecordError> {
        let path = self.path.clone();
        if checkpoint.step != self.steps_written {
            return Err(RecordError::Batch {
                path,
                reason: format!(
                    "a checkpoint at step {} but the batches written end at step {}",
                    checkpoint.step, self.steps_written
                ),
            });
        }
        let group = if self.file.link_exists(GROUP) {
            self.file.group(GROUP)
        } else {
            self.file.create_group(GROUP)
        }
        .context(&path, || "creating /checkpoint".into())?;
        let latest = read_latest(&group).ok();
        let slot = if latest.as_deref() == Some(SLOTS[0]) {
            SLOTS[1]
        } else {
            SLOTS[0]
        };
        let report_rows: Vec<u64> = self.reports.iter().map(|r| r.n_samples as u64).collect();
        // Room on disk first, as for a batch: a checkpoint that fails half-way must not leave
        // the file unreadable.
        let bytes = 4 * (5 * checkpoint.state.len() + 2 * checkpoint.ring_ex.len()) as u64 + 4096;
        self.reserve
            .ensure(self.file.size(), bytes)
            .map_err(|source| RecordError::Full {
                path: path.clone(),
                needed: bytes,
                what: "for a checkpoint",
                source,
            })?;
        write_slot(&group, slot, checkpoint, &self.spikes_written, &report_rows)
            .and_then(|()| set_attr(&group, EVERY_STEPS, &every_steps))
            .and_then(|()| self.file.flush())
            .context(&path, || format!("writing checkpoint slot {slot}"))?;
        if group.attr(LATEST).is_ok() {
            write_str_attr(&group, LATEST, slot)
        } else {
            new_str_attr(&group, LATEST, slot)
        }
        .and_then(|()| self.file.flush())
        .context(&path, || "committing the checkpoint".into())
    }

    /// Reopen the file of an interrupted run to continue it from its latest checkpoint: the
    /// spikes and samples written after the checkpoint's step are cut off (the resumed run writes
    /// them again, identically), `t_stop` becomes `t_stop_ms`, and the file is marked running
    /// again.
    pub fn resume(
        path: &Path,
        network: &Network,
        t_stop_ms: f64,
    ) -> Result<(Self, StoredCheckpoint), RecordError> {
        check_layout(path, network)?;
        let file = File::open_rw(path).context(path, || "opening the file to resume it".into())?;
        let stored =
            read_stored(&file, path, network)?.ok_or_else(|| RecordError::NoCheckpoint {
                path: path.to_path_buf(),
            })?;
        let step = stored.checkpoint.step;

        let mut spikes = Vec::with_capacity(network.populations.len());
        for (p, population) in network.populations.iter().enumerate() {
            if !network.record_spikes[p] {
                spikes.push(None);
                continue;
            }
            let group = format!("spikes/{}", population.name);
            let keep = stored.spikes_written[p] as usize;
            let open = || -> hdf5_metno::Result<SpikeDatasets> {
                let timestamps = file.dataset(&format!("{group}/timestamps"))?;
                let node_ids = file.dataset(&format!("{group}/node_ids"))?;
                timestamps.resize(keep)?;
                node_ids.resize(keep)?;
                Ok(SpikeDatasets {
                    timestamps,
                    node_ids,
                    batch_timestamps_ms: Vec::new(),
                    batch_node_ids: Vec::new(),
                })
            };
            spikes.push(Some(
                open().context(path, || format!("truncating /{group}"))?,
            ));
        }

        let mut reports = Vec::with_capacity(network.probes.len());
        for (probe, &rows) in network.probes.iter().zip(&stored.report_rows) {
            let name = format!(
                "{}/{}",
                network.populations[probe.population].name,
                probe.variable.name()
            );
            let open = || -> hdf5_metno::Result<ReportDatasets> {
                let data = file.dataset(&format!("report/{name}/data"))?;
                let time = file.dataset(&format!("report/{name}/mapping/time"))?;
                let n_values = probe.neurons.len();
                data.resize((rows as usize, n_values))?;
                let chunk_rows = data.chunk().and_then(|c| c.first().copied()).unwrap_or(1);
                let t: Vec<f64> = time.read_raw()?;
                let report = ReportDatasets {
                    name: name.clone(),
                    data,
                    time,
                    n_values,
                    chunk_rows,
                    n_samples: rows as usize,
                    start_ms: t[0],
                    interval_ms: t[2],
                };
                report.time.write_slice(&[report.stop_ms()], 1..2)?;
                Ok(report)
            };
            reports.push(open().context(path, || format!("truncating /report/{name}"))?);
        }

        write_attr(&file, attr::T_REACHED, &(step as f64 * network.dt_ms))
            .and_then(|()| write_attr(&file, attr::T_STOP, &t_stop_ms))
            .and_then(|()| write_attr(&file, attr::COMPLETED, &0u8))
            .and_then(|()| write_str_attr(&file, attr::STATUS, STATUS_RUNNING))
            .and_then(|()| file.flush())
            .context(path, || "marking the file running again".into())?;
        let reserve = DiskReserve::open(path).map_err(|source| RecordError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = SonataWriter {
            path: path.to_path_buf(),
            file,
            reserve,
            dt_ms: network.dt_ms,
            steps_written: step,
            spikes,
            reports,
            spikes_written: stored.spikes_written.clone(),
            column: Vec::new(),
        };
        Ok((writer, stored))
    }
}

/// The latest checkpoint of a file, if it has one.
pub fn read_checkpoint(
    path: &Path,
    network: &Network,
) -> Result<Option<StoredCheckpoint>, RecordError> {
    let file = File::open(path).context(path, || "opening the file".into())?;
    read_stored(&file, path, network)
}

fn read_latest(group: &Group) -> hdf5_metno::Result<String> {
    let value: hdf5_metno::types::VarLenUnicode = group.attr(LATEST)?.read_scalar()?;
    Ok(value.as_str().to_owned())
}

fn read_stored(
    file: &File,
    path: &Path,
    network: &Network,
) -> Result<Option<StoredCheckpoint>, RecordError> {
    if !file.link_exists(GROUP) {
        return Ok(None);
    }
    let group = file
        .group(GROUP)
        .context(path, || "opening /checkpoint".into())?;
    let Ok(slot) = read_latest(&group) else {
        // A first checkpoint interrupted before it was committed.
        return Ok(None);
    };
    let read = || -> hdf5_metno::Result<StoredCheckpoint> {
        let g = group.group(&slot)?;
        let f32s = |name: &str| -> hdf5_metno::Result<Vec<f32>> { g.dataset(name)?.read_raw() };
        let i32s = |name: &str| -> hdf5_metno::Result<Vec<i32>> { g.dataset(name)?.read_raw() };
        Ok(StoredCheckpoint {
            checkpoint: Checkpoint {
                step: g.attr(STEP)?.read_scalar()?,
                state: NeuronState {
                    v_m: f32s("v_m")?,
                    g_ex: f32s("g_ex")?,
                    g_in: f32s("g_in")?,
                    refractory: i32s("refractory")?,
                    i_stim: f32s("i_stim")?,
                },
                ring_ex: i32s("ring_ex")?,
                ring_in: i32s("ring_in")?,
            },
            spikes_written: g.attr(SPIKES_WRITTEN)?.read_raw()?,
            report_rows: g.attr(REPORT_ROWS)?.read_raw()?,
            every_steps: group
                .attr(EVERY_STEPS)
                .and_then(|a| a.read_scalar::<u64>())
                .ok()
                .filter(|&every| every > 0),
        })
    };
    let stored = read().context(path, || format!("reading checkpoint slot {slot}"))?;
    let n = network.n_neurons() as usize;
    let ring = n * network.ring_slots() as usize;
    let fits = stored.checkpoint.state.v_m.len() == n
        && stored.checkpoint.ring_ex.len() == ring
        && stored.spikes_written.len() == network.populations.len()
        && stored.report_rows.len() == network.probes.len();
    if !fits {
        return Err(RecordError::NotLifsim {
            path: path.to_path_buf(),
            reason: "its checkpoint does not match the network of its config".into(),
        });
    }
    Ok(Some(stored))
}

fn write_slot(
    group: &Group,
    slot: &str,
    c: &Checkpoint,
    spikes_written: &[u64],
    report_rows: &[u64],
) -> hdf5_metno::Result<()> {
    let g = if group.link_exists(slot) {
        group.group(slot)?
    } else {
        group.create_group(slot)?
    };
    put(&g, "v_m", &c.state.v_m)?;
    put(&g, "g_ex", &c.state.g_ex)?;
    put(&g, "g_in", &c.state.g_in)?;
    put(&g, "refractory", &c.state.refractory)?;
    put(&g, "i_stim", &c.state.i_stim)?;
    put(&g, "ring_ex", &c.ring_ex)?;
    put(&g, "ring_in", &c.ring_in)?;
    set_attr(&g, STEP, &c.step)?;
    set_array_attr(&g, SPIKES_WRITTEN, spikes_written)?;
    set_array_attr(&g, REPORT_ROWS, report_rows)
}

/// Write `values` into dataset `name` of `g`, created on first use (the sizes never change).
fn put<T: H5Type>(g: &Group, name: &str, values: &[T]) -> hdf5_metno::Result<()> {
    let dataset: Dataset = if g.link_exists(name) {
        g.dataset(name)?
    } else {
        g.new_dataset::<T>().shape(values.len()).create(name)?
    };
    dataset.write_raw(values)
}

fn set_attr<T: H5Type>(g: &Group, name: &str, value: &T) -> hdf5_metno::Result<()> {
    if g.attr(name).is_ok() {
        write_attr(g, name, value)
    } else {
        new_attr(g, name, value)
    }
}

fn set_array_attr(g: &Group, name: &str, values: &[u64]) -> hdf5_metno::Result<()> {
    if let Ok(a) = g.attr(name) {
        a.write_raw(values)
    } else {
        g.new_attr_builder()
            .with_data(values)
            .create(name)
            .map(|_| ())
    }
}
