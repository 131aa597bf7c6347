//! Reading a lifsim output file back, whole, into memory.

use std::path::Path;

use hdf5_metno::types::VarLenUnicode;
use hdf5_metno::{File, Group, H5Type, IndexType, IterationOrder, Location};

use super::{attr, Hdf5Context, RecordError, SONATA_MAGIC};

/// Everything a lifsim output file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputFile {
    /// Whether the run simulated every step up to t_stop.
    pub completed: bool,
    /// "running" (the run has not finished, or crashed), "complete", "interrupted" or
    /// "failed: <message>".
    pub status: String,
    /// Time up to which the file holds the run's output [ms].
    pub t_reached_ms: f64,
    /// Simulated time asked for [ms].
    pub t_stop_ms: f64,
    /// Integration step [ms].
    pub dt_ms: f64,
    pub seed: u64,
    pub backend: String,
    /// The TOML text of the config that was run.
    pub config_text: String,
    /// Where the config was read from when the run started.
    pub config_path: String,
    pub lifsim_version: String,
    /// One table per population whose spikes were recorded, in population order.
    pub spikes: Vec<SpikeTable>,
    /// One report per recorded (population, variable), grouped by population; populations and
    /// their variables in the order they were first recorded.
    pub reports: Vec<Report>,
}

/// The spikes of one population, sorted by time (then by node id within a step).
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTable {
    pub population: String,
    pub timestamps_ms: Vec<f64>,
    /// 0-based within the population.
    pub node_ids: Vec<u64>,
    /// Neurons of the population (attribute `n_nodes`; `None` in files written before it was).
    pub n_nodes: Option<u64>,
}

/// Samples of one state variable of chosen neurons of one population.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub population: String,
    /// NEST's name: "V_m", "g_ex" or "g_in".
    pub variable: String,
    /// "mV" or "nS".
    pub units: String,
    /// The sampled neurons, 0-based within the population: the columns of `data`.
    pub node_ids: Vec<u64>,
    /// Time of the first sample [ms].
    pub start_ms: f64,
    /// `start_ms + n_samples * dt_ms` [ms].
    pub stop_ms: f64,
    /// Time between samples [ms].
    pub dt_ms: f64,
    pub n_samples: usize,
    /// Row-major [sample][node].
    pub data: Vec<f32>,
}

impl Report {
    /// Time of sample `i` [ms].
    pub fn time_ms(&self, i: usize) -> f64 {
        self.start_ms + i as f64 * self.dt_ms
    }
}

/// Reads a whole lifsim output file (complete or not) into memory.
pub fn read(path: &Path) -> Result<OutputFile, RecordError> {
    // HDF5's message for a missing file does not say "not found" plainly.
    std::fs::metadata(path).map_err(|source| RecordError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let not_lifsim = |reason: String| RecordError::NotLifsim {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|e| not_lifsim(format!("HDF5 cannot open it ({e})")))?;

    let magic: u32 = read_attr(&file, attr::MAGIC)
        .map_err(|_| not_lifsim("no SONATA `magic` attribute at the root".into()))?;
    if magic != SONATA_MAGIC {
        return Err(not_lifsim(format!(
            "its `magic` attribute is {magic:#x}, not SONATA's {SONATA_MAGIC:#x}"
        )));
    }
    let root_str = |name: &str| {
        read_str_attr(&file, name).map_err(|_| {
            not_lifsim(format!(
                "a SONATA file, but without lifsim's root attribute `{name}`"
            ))
        })
    };
    let root_f64 = |name: &str| {
        read_attr::<f64>(&file, name).map_err(|_| {
            not_lifsim(format!(
                "a SONATA file, but without lifsim's root attribute `{name}`"
            ))
        })
    };
    let lifsim_version = root_str(attr::LIFSIM_VERSION)?;
    let status = root_str(attr::STATUS)?;
    let backend = root_str(attr::BACKEND)?;
    let config_text = root_str(attr::CONFIG)?;
    let config_path = root_str(attr::CONFIG_PATH)?;
    let t_reached_ms = root_f64(attr::T_REACHED)?;
    let t_stop_ms = root_f64(attr::T_STOP)?;
    let dt_ms = root_f64(attr::DT)?;
    let seed = read_attr::<u64>(&file, attr::SEED).map_err(|_| {
        not_lifsim("a SONATA file, but without lifsim's root attribute `seed`".into())
    })?;
    let completed = read_attr::<u8>(&file, attr::COMPLETED).map_err(|_| {
        not_lifsim("a SONATA file, but without lifsim's root attribute `completed`".into())
    })? != 0;

    let spikes = read_spikes(&file).context(path, || "reading /spikes".into())?;
    let reports = read_reports(&file).context(path, || "reading /report".into())?;

    Ok(OutputFile {
        completed,
        status,
        t_reached_ms,
        t_stop_ms,
        dt_ms,
        seed,
        backend,
        config_text,
        config_path,
        lifsim_version,
        spikes,
        reports,
    })
}

fn read_spikes(file: &File) -> hdf5_metno::Result<Vec<SpikeTable>> {
    let Ok(spikes) = file.group("spikes") else {
        return Ok(Vec::new());
    };
    member_names(&spikes)?
        .into_iter()
        .map(|population| {
            let group = spikes.group(&population)?;
            Ok(SpikeTable {
                timestamps_ms: group.dataset("timestamps")?.read_raw()?,
                node_ids: group.dataset("node_ids")?.read_raw()?,
                n_nodes: read_attr(&group, attr::N_NODES).ok(),
                population,
            })
        })
        .collect()
}

fn read_reports(file: &File) -> hdf5_metno::Result<Vec<Report>> {
    let Ok(reports) = file.group("report") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for population in member_names(&reports)? {
        let population_group = reports.group(&population)?;
        for variable in member_names(&population_group)? {
            let group = population_group.group(&variable)?;
            let data = group.dataset("data")?;
            let units = read_str_attr(&data, attr::UNITS)?;
            let n_samples = data.shape().first().copied().unwrap_or(0);
            let mapping = group.group("mapping")?;
            let time: Vec<f64> = mapping.dataset("time")?.read_raw()?;
            let [start_ms, stop_ms, dt_ms] = time[..] else {
                return Err(format!(
                    "/report/{population}/{variable}/mapping/time holds {} values, not 3",
                    time.len()
                )
                .into());
            };
            out.push(Report {
                population: population.clone(),
                variable,
                units,
                node_ids: mapping.dataset("node_ids")?.read_raw()?,
                start_ms,
                stop_ms,
                dt_ms,
                n_samples,
                data: data.read_raw()?,
            });
        }
    }
    Ok(out)
}

/// Members of a group in creation order where the file tracks it (lifsim's files do), else by
/// name.
fn member_names(group: &Group) -> hdf5_metno::Result<Vec<String>> {
    group
        .member_names_by(IndexType::CreationOrder, IterationOrder::Increasing)
        .or_else(|_| group.member_names())
}

fn read_attr<T: H5Type>(location: &Location, name: &str) -> hdf5_metno::Result<T> {
    location.attr(name)?.read_scalar()
}

fn read_str_attr(location: &Location, name: &str) -> hdf5_metno::Result<String> {
    Ok(read_attr::<VarLenUnicode>(location, name)?
        .as_str()
        .to_owned())
}
