//! GPU faults: a device lost in the middle of a run stops it with an error that says what
//! happened and the way out, instead of a panic or a hang.

mod common;

use common::*;
use lifsim::backend::gpu::device::request_context;
use lifsim::backend::gpu::GpuBackend;
use lifsim::backend::{Backend, Batch};

#[test]
fn a_lost_device_stops_the_run_with_a_clear_error() {
    if gpu().is_none() {
        return;
    }
    // A device of its own: losing it must not disturb the other tests.
    let ctx = request_context().expect("a second device");
    let network = build(&coba(4000, 200.0, 2));
    let mut backend = GpuBackend::new(&network, ctx.clone()).expect("GPU backend");
    let mut batch = Batch::default();
    assert!(backend.advance(50, &mut batch).expect("first batch") > 0);
    ctx.device.destroy();
    let mut error = None;
    for _ in 0..10 {
        match backend.advance(50, &mut batch) {
            Ok(_) => continue,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let error = error.expect("the lost device is reported");
    for part in [
        "device was lost",
        "Destroyed",
        "t = ",
        "--backend cpu",
        "lifsim resume",
    ] {
        assert!(error.contains(part), "expected {part:?} in: {error}");
    }
}
