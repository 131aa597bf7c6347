//! Neuron models: parameters (NEST names and units), derived per-step constants, and the
//! single-neuron step that the CPU backend runs and the GPU shaders mirror.

pub mod iaf_cond_exp;

pub use iaf_cond_exp::{IafCondExpDerived, IafCondExpParams, ParamError, StateVariable};
