//! lifsim: simulation of large networks of conductance-based leaky integrate-and-fire neurons
//! (NEST's `iaf_cond_exp`) on the GPU, through wgpu, with a CPU reference backend.
//!
//! Data flow, one module per arrow:
//! `config` (TOML -> `NetworkSpec`) -> `network` (seeded build -> `Network`) -> `backend`
//! (cpu | gpu: the step loop) -> `record` (spikes and state samples -> SONATA HDF5). `sim` drives
//! a run from end to end; `bench` measures how fast (the scaled COBA network, `lifsim bench`).

pub mod analysis;
pub mod backend;
pub mod bench;
pub mod config;
pub mod demo;
pub mod format;
pub mod model;
pub mod network;
pub mod plot;
pub mod record;
pub mod rng;
pub mod sim;
