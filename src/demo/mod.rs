//! `lifsim demo`: the interactive two-neuron demo of the LIF post, and a small network running
//! live, served to a browser.
//!
//! - [`two_neurons`]: the input neuron, the delay line and the output neuron, stepped by
//!   [`crate::model::iaf_cond_exp::step`];
//! - [`network`]: the live COBA network on its own thread, with kicks, a subsampled raster and
//!   population rates;
//! - `clock`: pacing both against the wall clock.

mod clock;
pub mod network;
pub mod two_neurons;

/// Integration step of both views [ms], as in the configs.
pub const DT_MS: f64 = 0.1;

/// The time after `steps` steps [ms]. Divided rather than multiplied by `DT_MS`, so that times
/// are the nearest floating-point numbers to their decimal values (15.1, not
/// 15.100000000000001) and the JSON the page receives stays short.
pub fn ms(steps: u64) -> f64 {
    steps as f64 / (1.0 / DT_MS)
}
