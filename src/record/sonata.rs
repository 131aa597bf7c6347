//! The streaming writer: one HDF5 file per run in the SONATA layout (see `docs/output.md`).

use std::fs::OpenOptions;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use hdf5_metno::plist::group_create::LinkCreationOrder;
use hdf5_metno::types::VarLenUnicode;
use hdf5_metno::{Dataset, File, Group, H5Type, Location};

use super::{attr, Hdf5Context, RecordError, Sorting, SONATA_MAGIC, SONATA_VERSION};
use crate::backend::Batch;
use crate::network::{Network, Probe};

/// Elements per chunk of a spike dataset (128 KiB of timestamps or node ids). Every flush
/// rewrites the partly filled chunk of each dataset, so chunks are kept small enough for frequent
/// batches to stay cheap and large enough for few chunks per run (measured in docs/output.md).
const SPIKE_CHUNK_ELEMENTS: usize = 16_384;

/// Values per chunk of a report's data (256 KiB of float32). A chunk spans whole rows (samples)
/// unless one row alone is larger; then a row is split into chunks of this many values.
const REPORT_CHUNK_VALUES: usize = 65_536;

/// HDF5 metadata a batch may add to the file as a whole (the heap of the `status` string,
/// object header messages), on top of the raw data; also what marking the file finished needs.
const METADATA_BYTES: u64 = 128 << 10;
/// HDF5 metadata a batch may add per dataset it grows, and per chunk it allocates (chunk index
/// entries and node splits).
const METADATA_BYTES_PER_DATASET: u64 = 16 << 10;
const METADATA_BYTES_PER_CHUNK: u64 = 128;
/// Disk space reserved beyond what a batch needs, so that most batches find theirs there.
const RESERVE_AHEAD: u64 = 4 << 20;

/// Provenance of a run, stored as root attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub lifsim_version: String,
    /// What ran the simulation, e.g. "cpu, 2 threads".
    pub backend: String,
    pub config_path: String,
    /// The full TOML text of the config.
    pub config_text: String,
    pub seed: u64,
    /// Integration step [ms].
    pub dt_ms: f64,
    /// Simulated time asked for [ms].
    pub t_stop_ms: f64,
    /// The command line that started the run.
    pub command_line: String,
}

/// How a run ended, stored in the root attributes `status` and `completed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Every step up to t_stop was simulated and written.
    Complete,
    /// The user stopped the run (Ctrl-C); the file holds everything up to `t_reached`.
    Interrupted,
    /// The run stopped on an error, described by the message.
    Failed(String),
}

impl RunStatus {
    /// The value of the `status` attribute.
    pub fn label(&self) -> String {
        match self {
            RunStatus::Complete => "complete".to_owned(),
            RunStatus::Interrupted => "interrupted".to_owned(),
            RunStatus::Failed(message) => format!("failed: {message}"),
        }
    }
}

/// The `status` of a file whose run has not finished (or crashed before it could say so).
pub(super) const STATUS_RUNNING: &str = "running";

/// Streams the spikes and state samples of one run into an HDF5 file in the SONATA layout.
///
/// Every batch is appended to chunked datasets and the file is flushed, so the file on disk is
/// readable after each [`write_batch`](Self::write_batch). Dropping the writer without
/// [`finish`](Self::finish) closes the file with `completed = 0` and `status = "running"`,
/// which is how a crashed run shows up.
pub struct SonataWriter {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) reserve: DiskReserve,
    pub(super) dt_ms: f64,
    /// Steps covered by the batches written so far; the next batch must start here.
    pub(super) steps_written: u64,
    /// Per population: its spike datasets, if its spikes are recorded.
    pub(super) spikes: Vec<Option<SpikeDatasets>>,
    /// Per probe of the network, in the same order.
    pub(super) reports: Vec<ReportDatasets>,
    /// Per population, spikes written so far.
    pub(super) spikes_written: Vec<u64>,
    /// Scratch space: one column of a report's samples.
    pub(super) column: Vec<f32>,
}

/// `/spikes/<population>` and the buffers that convert a batch into its rows.
pub(super) struct SpikeDatasets {
    pub(super) timestamps: Dataset,
    pub(super) node_ids: Dataset,
    pub(super) batch_timestamps_ms: Vec<f64>,
    pub(super) batch_node_ids: Vec<u64>,
}

/// `/report/<population>/<variable>`.
pub(super) struct ReportDatasets {
    /// "<population>/<variable>", for error messages.
    pub(super) name: String,
    pub(super) data: Dataset,
    pub(super) time: Dataset,
    pub(super) n_values: usize,
    /// Rows per chunk of `data`.
    pub(super) chunk_rows: usize,
    pub(super) n_samples: usize,
    /// Time of the first sample [ms].
    pub(super) start_ms: f64,
    /// Time between samples [ms].
    pub(super) interval_ms: f64,
}

impl ReportDatasets {
    pub(super) fn stop_ms(&self) -> f64 {
        self.start_ms + self.n_samples as f64 * self.interval_ms
    }
}

impl SonataWriter {
    /// Creates the file at `path` (an existing file is replaced only if `overwrite`), writes the
    /// root attributes with `status = "running"`, creates every group and (empty) dataset, and
    /// flushes, so that a run killed right after the start leaves a readable file.
    pub fn create(
        path: &Path,
        network: &Network,
        info: &RunInfo,
        overwrite: bool,
    ) -> Result<Self, RecordError> {
        check_layout(path, network)?;
        reserve_path(path, overwrite)?;
        // A file that could not be created whole is of no use: remove it rather than leave one
        // that readers refuse.
        Self::create_layout(path, network, info).inspect_err(|_| {
            std::fs::remove_file(path).ok();
        })
    }

    fn create_layout(path: &Path, network: &Network, info: &RunInfo) -> Result<Self, RecordError> {
        let file = File::create(path).context(path, || "creating the file".to_owned())?;
        let reserve = DiskReserve::open(path).map_err(|source| RecordError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let needed = layout_bytes(network);
        reserve
            .ensure(file.size(), needed)
            .map_err(|source| RecordError::Full {
                path: path.to_path_buf(),
                needed,
                what: "to create it",
                source,
            })?;

        write_root_attributes(&file, info)
            .context(path, || "writing the root attributes".into())?;

        let spikes_group =
            ordered_group(&file, "spikes").context(path, || "creating /spikes".into())?;
        let spikes = network
            .populations
            .iter()
            .zip(&network.record_spikes)
            .map(|(population, &recorded)| {
                recorded
                    .then(|| {
                        create_spike_datasets(&spikes_group, &population.name, population.n)
                            .context(path, || format!("creating /spikes/{}", population.name))
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;

        let report_group =
            ordered_group(&file, "report").context(path, || "creating /report".into())?;
        let reports = network
            .probes
            .iter()
            .map(|probe| {
                let name = format!(
                    "{}/{}",
                    network.populations[probe.population].name,
                    probe.variable.name()
                );
                create_report_datasets(&report_group, network, probe, name.clone())
                    .context(path, || format!("creating /report/{name}"))
            })
            .collect::<Result<Vec<_>, _>>()?;

        file.flush()
            .context(path, || "flushing the new file".into())?;
        Ok(SonataWriter {
            path: path.to_path_buf(),
            file,
            reserve,
            dt_ms: network.dt_ms,
            steps_written: 0,
            spikes,
            reports,
            spikes_written: vec![0; network.populations.len()],
            column: Vec::new(),
        })
    }

    /// Appends one batch: the spikes of the recorded populations (as population-relative node
    /// ids, stamped at the end of their step) and the samples of every probe. Then updates
    /// `t_reached` and flushes the file.
    pub fn write_batch(&mut self, network: &Network, batch: &Batch) -> Result<(), RecordError> {
        let rows = self.check_batch(network, batch)?;
        let path = self.path.as_path();

        for spikes in self.spikes.iter_mut().flatten() {
            spikes.batch_timestamps_ms.clear();
            spikes.batch_node_ids.clear();
        }
        for spike in &batch.spikes {
            let p = network.population_of(spike.neuron);
            if let Some(spikes) = &mut self.spikes[p] {
                spikes
                    .batch_timestamps_ms
                    .push(network.step_end_ms(spike.step));
                spikes
                    .batch_node_ids
                    .push(u64::from(spike.neuron - network.populations[p].offset));
            }
        }
        let needed = self.batch_bytes(&rows);
        self.reserve
            .ensure(self.file.size(), needed)
            .map_err(|source| RecordError::Full {
                path: self.path.clone(),
                needed,
                what: "for the next batch",
                source,
            })?;

        for (p, spikes) in self.spikes.iter().enumerate() {
            let Some(spikes) = spikes else { continue };
            let old = self.spikes_written[p] as usize;
            let new = old + spikes.batch_node_ids.len();
            if new == old {
                continue;
            }
            append_1d(&spikes.timestamps, old, &spikes.batch_timestamps_ms)
                .and_then(|()| append_1d(&spikes.node_ids, old, &spikes.batch_node_ids))
                .context(path, || {
                    format!(
                        "writing spikes of population `{}`",
                        network.populations[p].name
                    )
                })?;
            self.spikes_written[p] = new as u64;
        }

        for ((report, samples), &rows) in self.reports.iter_mut().zip(&batch.samples).zip(&rows) {
            if rows == 0 {
                continue;
            }
            let old = report.n_samples;
            report.n_samples = old + rows;
            append_rows(
                &report.data,
                old,
                rows,
                report.chunk_rows,
                samples,
                &mut self.column,
            )
            .and_then(|()| report.time.write_slice(&[report.stop_ms()], 1..2))
            .context(path, || {
                format!("writing samples of /report/{}", report.name)
            })?;
        }

        self.steps_written = batch.first_step + batch.n_steps;
        let t_reached_ms = self.steps_written as f64 * self.dt_ms;
        write_attr(&self.file, attr::T_REACHED, &t_reached_ms)
            .and_then(|()| self.file.flush())
            .context(path, || "flushing the batch".into())
    }

    /// Marks the file with how the run ended and closes it.
    pub fn finish(self, status: RunStatus) -> Result<(), RecordError> {
        let SonataWriter {
            path,
            file,
            reserve,
            spikes,
            reports,
            ..
        } = self;
        // Close the datasets first, or closing the file would leave it open behind them.
        drop(spikes);
        drop(reports);
        let mut used = 0;
        write_attr(
            &file,
            attr::COMPLETED,
            &u8::from(status == RunStatus::Complete),
        )
        .and_then(|()| write_str_attr(&file, attr::STATUS, &status.label()))
        .and_then(|()| file.flush())
        .and_then(|()| {
            // Closing allocates nothing more.
            used = file.size();
            file.close()
        })
        .context(&path, || "marking the run as finished".into())?;
        reserve.release(used);
        Ok(())
    }

    /// Time up to which the file holds the run's output [ms] (its `t_reached`).
    pub fn t_reached_ms(&self) -> f64 {
        self.steps_written as f64 * self.dt_ms
    }

    /// An upper bound of the bytes that writing and flushing a batch with `rows` samples per
    /// report (and the spikes gathered in `self.spikes`) adds to the file.
    fn batch_bytes(&self, rows: &[usize]) -> u64 {
        let mut bytes = METADATA_BYTES;
        // `new` elements after `old` in chunks of `chunk` elements of `chunk_bytes` each: the
        // chunks they reach that are not allocated yet, and the index entries of those.
        let mut grow = |old: usize, new: usize, chunk: usize, chunk_bytes: u64| {
            if new > 0 {
                let chunks = ((old + new).div_ceil(chunk) - old.div_ceil(chunk)) as u64;
                bytes +=
                    chunks * (chunk_bytes + METADATA_BYTES_PER_CHUNK) + METADATA_BYTES_PER_DATASET;
            }
        };
        for (spikes, &old) in self.spikes.iter().zip(&self.spikes_written) {
            let Some(spikes) = spikes else { continue };
            let (old, new) = (old as usize, spikes.batch_node_ids.len());
            // timestamps (f64) and node_ids (u64)
            for _ in 0..2 {
                grow(
                    old,
                    new,
                    SPIKE_CHUNK_ELEMENTS,
                    8 * SPIKE_CHUNK_ELEMENTS as u64,
                );
            }
        }
        for (report, &rows) in self.reports.iter().zip(rows) {
            let chunk_cols = report.n_values.clamp(1, REPORT_CHUNK_VALUES);
            let chunk_bytes = 4 * (report.chunk_rows * chunk_cols) as u64;
            for _ in 0..report.n_values.div_ceil(chunk_cols) {
                grow(report.n_samples, rows, report.chunk_rows, chunk_bytes);
            }
        }
        bytes
    }

    /// Integration step of the run [ms].
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Spikes written so far, per population of the network (0 for populations not recorded).
    pub fn spikes_written(&self) -> &[u64] {
        &self.spikes_written
    }

    /// Checks that the batch continues the previous one and holds what the network's probes
    /// produce; returns the number of samples of each probe in it.
    fn check_batch(&self, network: &Network, batch: &Batch) -> Result<Vec<usize>, RecordError> {
        let fail = |reason: String| {
            Err(RecordError::Batch {
                path: self.path.clone(),
                reason,
            })
        };
        if batch.first_step != self.steps_written {
            return fail(format!(
                "it starts at step {} but the batches so far end at step {}",
                batch.first_step, self.steps_written
            ));
        }
        let steps = batch.first_step..batch.first_step + batch.n_steps;
        let n_neurons = network.n_neurons();
        let mut previous_step = batch.first_step;
        for spike in &batch.spikes {
            if !steps.contains(&spike.step) || spike.step < previous_step {
                return fail(format!(
                    "spike of neuron {} at step {} is outside steps {steps:?} or out of order",
                    spike.neuron, spike.step
                ));
            }
            if spike.neuron >= n_neurons {
                return fail(format!(
                    "spike of neuron {}, but the network has {n_neurons} neurons",
                    spike.neuron
                ));
            }
            previous_step = spike.step;
        }
        if batch.samples.len() != self.reports.len() {
            return fail(format!(
                "{} sample lists for {} probes",
                batch.samples.len(),
                self.reports.len()
            ));
        }
        let mut rows = Vec::with_capacity(self.reports.len());
        for ((probe, report), samples) in
            network.probes.iter().zip(&self.reports).zip(&batch.samples)
        {
            // Step k is sampled when k + 1 is a multiple of the interval (`Probe::samples_step`).
            let interval = u64::from(probe.interval_steps);
            let n = (steps.end / interval - steps.start / interval) as usize;
            if samples.len() != n * report.n_values {
                return fail(format!(
                    "{} values for /report/{}, expected {n} samples of {} neurons",
                    samples.len(),
                    report.name,
                    report.n_values
                ));
            }
            rows.push(n);
        }
        Ok(rows)
    }
}

/// Population names become group names and (population, variable) pairs report groups: both
/// must be valid and unique.
pub(super) fn check_layout(path: &Path, network: &Network) -> Result<(), RecordError> {
    let fail = |reason: String| {
        Err(RecordError::Layout {
            path: path.to_path_buf(),
            reason,
        })
    };
    for population in &network.populations {
        let name = &population.name;
        if name.is_empty() || name == "." || name.contains('/') || name.contains('\0') {
            return fail(format!(
                "population name `{name}` cannot be an HDF5 group name (empty, \".\", or \
                 containing '/' or NUL)"
            ));
        }
    }
    for (i, a) in network.probes.iter().enumerate() {
        if network.probes[..i]
            .iter()
            .any(|b| b.population == a.population && b.variable == a.variable)
        {
            return fail(format!(
                "{} of population `{}` is recorded twice; merge its recorders into one",
                a.variable.name(),
                network.populations[a.population].name
            ));
        }
    }
    Ok(())
}

/// An upper bound of the bytes of a new file: its groups, empty datasets and report mappings.
fn layout_bytes(network: &Network) -> u64 {
    let per_dataset = METADATA_BYTES_PER_DATASET;
    let spikes = network.record_spikes.iter().filter(|&&r| r).count() as u64 * 2 * per_dataset;
    let reports: u64 = network
        .probes
        .iter()
        // data and the four mapping datasets; node_ids, index_pointers and element_ids hold
        // 8 + 8 + 4 bytes per recorded neuron.
        .map(|probe| 5 * per_dataset + 20 * probe.neurons.len() as u64)
        .sum();
    METADATA_BYTES + spikes + reports
}

/// Disk space kept allocated ahead of what HDF5 has written, so that a full disk, a quota or a
/// file size limit shows up before a batch is handed to HDF5 rather than in the middle of an
/// HDF5 flush: a flush that fails half-way leaves a file that no HDF5 reader opens ("truncated
/// file"). When the space cannot be had, the batch is refused and the file stays as the last
/// batch left it, with the room it needs to be marked failed and closed.
pub(super) struct DiskReserve {
    /// The output file, opened a second time: HDF5 keeps its descriptor to itself.
    file: std::fs::File,
}

impl DiskReserve {
    pub(super) fn open(path: &Path) -> io::Result<DiskReserve> {
        Ok(DiskReserve {
            file: OpenOptions::new().write(true).open(path)?,
        })
    }

    /// Makes sure that the file has `bytes` allocated on disk beyond `used`, the end of what
    /// HDF5 has allocated in it. The space stays in the file until HDF5 uses it, or truncates
    /// the file to what it uses when it flushes or closes.
    pub(super) fn ensure(&self, used: u64, bytes: u64) -> io::Result<()> {
        let allocated = self.file.metadata()?.len();
        let end = used + bytes;
        if end <= allocated {
            return Ok(());
        }
        // Some room to spare, so that most batches find theirs; only what is needed when the
        // disk is nearly full.
        allocate(&self.file, allocated, end + RESERVE_AHEAD)
            .or_else(|_| allocate(&self.file, allocated, end))
    }

    /// Gives back what is left of the reserve once HDF5 has closed the file, whose content ends
    /// at `used` (best effort: the rest is only zeros at the end of the file).
    fn release(self, used: u64) {
        let allocated = self.file.metadata().map_or(0, |m| m.len());
        if used > 0 && allocated > used {
            self.file.set_len(used).ok();
        }
    }
}

/// Allocates the bytes `from..to` of `file` on disk (growing it to `to`): the space is the file's
/// from now on, however full the disk gets.
#[cfg(target_os = "linux")]
fn allocate(file: &std::fs::File, from: u64, to: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let offset = libc::off_t::try_from(from).map_err(io::Error::other)?;
    let len = libc::off_t::try_from(to - from).map_err(io::Error::other)?;
    // SAFETY: posix_fallocate only reads its arguments; the descriptor is open for writing.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, len) } {
        0 => Ok(()),
        // A file system that cannot allocate ahead (musl without emulation): grow the file,
        // which still catches a file size limit.
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(to),
        code => Err(io::Error::from_raw_os_error(code)),
    }
}

/// Without a portable way to allocate blocks, growing the file catches a file size limit but not
/// a full disk.
#[cfg(not(target_os = "linux"))]
fn allocate(file: &std::fs::File, _from: u64, to: u64) -> io::Result<()> {
    file.set_len(to)
}

/// Creates the file empty (or truncates it if `overwrite`), for a clear error when the path
/// exists or cannot be written; HDF5's own messages name neither the cause nor the remedy.
fn reserve_path(path: &Path, overwrite: bool) -> Result<(), RecordError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(RecordError::Exists {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(RecordError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write_root_attributes(file: &File, info: &RunInfo) -> hdf5_metno::Result<()> {
    new_attr(file, attr::MAGIC, &SONATA_MAGIC)?;
    file.new_attr_builder()
        .with_data(&SONATA_VERSION[..])
        .create(attr::VERSION)?;
    new_str_attr(file, attr::LIFSIM_VERSION, &info.lifsim_version)?;
    new_str_attr(file, attr::CONFIG, &info.config_text)?;
    new_str_attr(file, attr::CONFIG_PATH, &info.config_path)?;
    new_attr(file, attr::SEED, &info.seed)?;
    new_attr(file, attr::DT, &info.dt_ms)?;
    new_attr(file, attr::T_STOP, &info.t_stop_ms)?;
    new_attr(file, attr::T_REACHED, &0.0f64)?;
    new_str_attr(file, attr::BACKEND, &info.backend)?;
    new_str_attr(file, attr::COMMAND_LINE, &info.command_line)?;
    new_attr(file, attr::COMPLETED, &0u8)?;
    new_str_attr(file, attr::STATUS, STATUS_RUNNING)
}

/// A group whose members are listed in creation order (population order, not name order).
fn ordered_group(parent: &Group, name: &str) -> hdf5_metno::Result<Group> {
    parent
        .create_group_builder()
        .with_gcpl(|p| p.link_creation_order(LinkCreationOrder::Indexed))
        .create(name)
}

fn create_spike_datasets(
    parent: &Group,
    population: &str,
    n_nodes: u32,
) -> hdf5_metno::Result<SpikeDatasets> {
    let group = parent.create_group(population)?;
    new_attr(&group, attr::SORTING, &Sorting::ByTime)?;
    // Not in SONATA's spike layout: the population's size, for rates without the config.
    new_attr(&group, attr::N_NODES, &u64::from(n_nodes))?;
    let timestamps = extendable_1d::<f64>(&group, "timestamps")?;
    new_str_attr(&timestamps, attr::UNITS, "ms")?;
    let node_ids = extendable_1d::<u64>(&group, "node_ids")?;
    Ok(SpikeDatasets {
        timestamps,
        node_ids,
        batch_timestamps_ms: Vec::new(),
        batch_node_ids: Vec::new(),
    })
}

fn extendable_1d<T: H5Type>(group: &Group, name: &str) -> hdf5_metno::Result<Dataset> {
    group
        .new_dataset::<T>()
        .chunk(SPIKE_CHUNK_ELEMENTS)
        .shape(0..)
        .create(name)
}

fn create_report_datasets(
    parent: &Group,
    network: &Network,
    probe: &Probe,
    name: String,
) -> hdf5_metno::Result<ReportDatasets> {
    let population = &network.populations[probe.population];
    let group = if parent.link_exists(&population.name) {
        parent.group(&population.name)?
    } else {
        ordered_group(parent, &population.name)?
    };
    let group = group.create_group(probe.variable.name())?;

    let n_values = probe.neurons.len();
    // HDF5 needs chunk dimensions of at least 1 and no larger than a fixed dimension.
    let width = n_values.max(1);
    let chunk_cols = width.min(REPORT_CHUNK_VALUES);
    let chunk_rows = (REPORT_CHUNK_VALUES / chunk_cols).max(1);
    let data = group
        .new_dataset::<f32>()
        .chunk((chunk_rows, chunk_cols))
        .shape((0.., n_values))
        .create("data")?;
    new_str_attr(&data, attr::UNITS, probe.variable.units())?;

    let mapping = group.create_group("mapping")?;
    let node_ids: Vec<u64> = probe
        .neurons
        .iter()
        .map(|&n| u64::from(n - population.offset))
        .collect();
    let index_pointers: Vec<u64> = (0..=n_values as u64).collect();
    mapping
        .new_dataset_builder()
        .with_data(&node_ids)
        .create("node_ids")?;
    mapping
        .new_dataset_builder()
        .with_data(&index_pointers)
        .create("index_pointers")?;
    mapping
        .new_dataset_builder()
        .with_data(&vec![0u32; n_values])
        .create("element_ids")?;

    let interval_ms = f64::from(probe.interval_steps) * network.dt_ms;
    // NEST's multimeter: the first sample is taken at the end of step interval - 1.
    let start_ms = interval_ms;
    let time = mapping
        .new_dataset_builder()
        .with_data(&[start_ms, start_ms, interval_ms][..])
        .create("time")?;
    new_str_attr(&time, attr::UNITS, "ms")?;

    Ok(ReportDatasets {
        name,
        data,
        time,
        n_values,
        chunk_rows,
        n_samples: 0,
        start_ms,
        interval_ms,
    })
}

/// Appends `rows` rows, given row-major in `samples`, to a report's data holding `old_rows` rows.
///
/// hdf5-metno writes from a slice only into a 1-D selection (a 2-D one needs an `ndarray` view),
/// so this writes row by row or column by column (gathered into `column`), whichever takes fewer
/// calls: each costs about 5 us, and row by row a trace sampled every step would cost more than
/// simulating a small network. It goes one band of chunks (`chunk_rows` rows) at a time, so a
/// column never spans more chunks than HDF5's chunk cache holds, whatever the batch size.
fn append_rows(
    data: &Dataset,
    old_rows: usize,
    rows: usize,
    chunk_rows: usize,
    samples: &[f32],
    column: &mut Vec<f32>,
) -> hdf5_metno::Result<()> {
    let end = old_rows + rows;
    let n_values = samples.len() / rows;
    data.resize((end, n_values))?;
    if n_values == 0 {
        return Ok(());
    }
    let mut start = old_rows;
    while start < end {
        let band_end = ((start / chunk_rows + 1) * chunk_rows).min(end);
        let band = &samples[(start - old_rows) * n_values..(band_end - old_rows) * n_values];
        if band_end - start <= n_values {
            for (i, row) in band.chunks_exact(n_values).enumerate() {
                data.write_slice(row, (start + i, ..))?;
            }
        } else {
            for j in 0..n_values {
                column.clear();
                column.extend(band[j..].iter().step_by(n_values));
                data.write_slice(column.as_slice(), (start..band_end, j))?;
            }
        }
        start = band_end;
    }
    Ok(())
}

/// Grows a 1-D dataset holding `len` elements by `values`.
fn append_1d<T: H5Type>(dataset: &Dataset, len: usize, values: &[T]) -> hdf5_metno::Result<()> {
    let new_len = len + values.len();
    dataset.resize(new_len)?;
    dataset.write_slice(values, len..new_len)
}

pub(super) fn new_attr<T: H5Type>(
    location: &Location,
    name: &str,
    value: &T,
) -> hdf5_metno::Result<()> {
    location.new_attr::<T>().create(name)?.write_scalar(value)
}

pub(super) fn write_attr<T: H5Type>(
    location: &Location,
    name: &str,
    value: &T,
) -> hdf5_metno::Result<()> {
    location.attr(name)?.write_scalar(value)
}

/// A scalar variable-length UTF-8 string attribute, which h5py reads as `str`.
pub(super) fn new_str_attr(location: &Location, name: &str, value: &str) -> hdf5_metno::Result<()> {
    new_attr(location, name, &to_h5_string(value)?)
}

pub(super) fn write_str_attr(
    location: &Location,
    name: &str,
    value: &str,
) -> hdf5_metno::Result<()> {
    write_attr(location, name, &to_h5_string(value)?)
}

fn to_h5_string(value: &str) -> hdf5_metno::Result<VarLenUnicode> {
    value
        .parse()
        .map_err(|e| format!("cannot store {value:?} as an HDF5 string: {e}").into())
}
