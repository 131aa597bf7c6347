//! Output of a run: spikes and state samples, streamed batch by batch into one HDF5 file in the
//! SONATA layout (`docs/output.md`), and read back for `lifsim stats`, `lifsim plot` and tests.
//!
//! The writer ([`SonataWriter`]) creates every group and dataset when the run starts, appends
//! each batch to chunked, extendable datasets and flushes the file after every batch, so memory
//! stays bounded however long the run is and a run that stops early, even by a crash, leaves a
//! file that any HDF5 reader opens. The root attributes `completed` and `status` tell a finished
//! file from an interrupted one.

mod checkpoint;
mod reader;
mod sonata;

use std::path::{Path, PathBuf};

use hdf5_metno::H5Type;

pub use checkpoint::{read_checkpoint, StoredCheckpoint};
pub use reader::{read, OutputFile, Report, SpikeTable};
pub use sonata::{RunInfo, RunStatus, SonataWriter};

/// SONATA's magic number, the root attribute `magic`.
const SONATA_MAGIC: u32 = 0x0A7A;
/// The SONATA format version written, the root attribute `version`.
const SONATA_VERSION: [u32; 2] = [0, 1];

/// Root attribute names.
mod attr {
    pub const MAGIC: &str = "magic";
    pub const VERSION: &str = "version";
    pub const LIFSIM_VERSION: &str = "lifsim_version";
    pub const CONFIG: &str = "config";
    pub const CONFIG_PATH: &str = "config_path";
    pub const SEED: &str = "seed";
    pub const DT: &str = "dt";
    pub const T_STOP: &str = "t_stop";
    pub const T_REACHED: &str = "t_reached";
    pub const BACKEND: &str = "backend";
    pub const COMMAND_LINE: &str = "command_line";
    pub const COMPLETED: &str = "completed";
    pub const STATUS: &str = "status";
    pub const SORTING: &str = "sorting";
    pub const N_NODES: &str = "n_nodes";
    pub const UNITS: &str = "units";
}

/// The `sorting` attribute of a SONATA spike population: an HDF5 enum whose member names and
/// values are fixed by the SONATA spec.
#[derive(H5Type, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[expect(
    dead_code,
    reason = "every member defines the HDF5 enum type; lifsim only writes by_time"
)]
enum Sorting {
    #[hdf5(rename = "none")]
    None = 0,
    #[hdf5(rename = "by_id")]
    ById = 1,
    #[hdf5(rename = "by_time")]
    ByTime = 2,
}

/// Why the output file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "output file {} already exists; pass --force or choose another output path",
        .path.display()
    )]
    Exists { path: PathBuf },

    #[error(
        "cannot create output file {} (check that its directory exists and is writable)",
        .path.display()
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "no room on disk for {}: {} more are needed {what} (free some space, raise the quota or \
         file size limit, or write elsewhere with -o)",
        .path.display(), mebibytes(*.needed)
    )]
    Full {
        path: PathBuf,
        /// Bytes asked for.
        needed: u64,
        /// "to create it", "for the next batch".
        what: &'static str,
        source: std::io::Error,
    },

    #[error("cannot open {}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("HDF5 error while {context} in {}", .path.display())]
    Hdf5 {
        path: PathBuf,
        context: String,
        source: hdf5_metno::Error,
    },

    #[error(
        "{} is not a lifsim output file (an HDF5 file in the SONATA layout written by \
         `lifsim run`): {reason}",
        .path.display()
    )]
    NotLifsim { path: PathBuf, reason: String },

    #[error(
        "{} has no checkpoint to resume from; runs write checkpoints with --checkpoint-every MS",
        .path.display()
    )]
    NoCheckpoint { path: PathBuf },

    #[error("cannot record this network into {}: {reason}", .path.display())]
    Layout { path: PathBuf, reason: String },

    #[error(
        "a batch handed to the writer of {} is inconsistent ({reason}); this is a bug in the \
         backend, please report it",
        .path.display()
    )]
    Batch { path: PathBuf, reason: String },
}

impl RecordError {
    /// An HDF5 failure while doing `context` (a phrase like "writing spikes of `E`") in `path`.
    fn hdf5(path: &Path, context: impl Into<String>, source: hdf5_metno::Error) -> Self {
        RecordError::Hdf5 {
            path: path.to_path_buf(),
            context: context.into(),
            source,
        }
    }
}

/// "3.2 MiB".
fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Attaches the path and a context phrase to HDF5 results.
trait Hdf5Context<T> {
    fn context(self, path: &Path, context: impl FnOnce() -> String) -> Result<T, RecordError>;
}

impl<T> Hdf5Context<T> for hdf5_metno::Result<T> {
    fn context(self, path: &Path, context: impl FnOnce() -> String) -> Result<T, RecordError> {
        self.map_err(|e| RecordError::hdf5(path, context(), e))
    }
}
