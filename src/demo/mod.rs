//! `lifsim demo`: the interactive two-neuron demo of the LIF post, and a small network running
//! live, served to a browser from 127.0.0.1.
//!
//! Everything is simulated here, in Rust, by lifsim's own code: the two-neuron view steps one
//! `iaf_cond_exp` neuron with [`crate::model::iaf_cond_exp::step`], the network view runs
//! `configs/coba.toml` on the CPU backend. The page (`assets/`, embedded, no build step) only
//! draws what the server streams over a WebSocket and sends back what the user does, as JSON
//! messages that the server validates ([`protocol`]).
//!
//! - [`server`]: the listener (loopback only unless asked), HTTP for the page, the WebSocket
//!   handshake, one thread per connection;
//! - `session`: one open page: reads its messages, paces both simulations against the wall
//!   clock, streams frames;
//! - [`two_neurons`]: the input neuron, the delay line and the output neuron;
//! - [`network`]: the live COBA network on its own thread, with kicks, a subsampled raster and
//!   population rates.

mod clock;
mod http;
pub mod network;
pub mod protocol;
pub mod server;
mod session;
pub mod two_neurons;

pub use server::{DemoConfig, DemoError, DemoServer, ServerHandle};

/// Integration step of both views [ms], as in the configs.
pub const DT_MS: f64 = 0.1;

/// The time after `steps` steps [ms]. Divided rather than multiplied by `DT_MS`, so that times
/// are the nearest floating-point numbers to their decimal values (15.1, not
/// 15.100000000000001) and the JSON the page receives stays short.
pub fn steps_to_ms(steps: u64) -> f64 {
    steps as f64 / (1.0 / DT_MS)
}
