//! Stage 3, CPU twin of `shaders/record.wgsl`: state samples at the end of a step.

use std::ops::Range;

use crate::network::Probe;

/// Append the values of `probe`'s neurons that lie in `owned` (global ids; `values[0]` belongs
/// to neuron `owned.start`) to `out`.
pub fn sample(probe: &Probe, owned: &Range<u32>, values: &[f32], out: &mut Vec<f32>) {
    let lo = probe.neurons.partition_point(|&n| n < owned.start);
    let hi = probe.neurons.partition_point(|&n| n < owned.end);
    out.extend(
        probe.neurons[lo..hi]
            .iter()
            .map(|&n| values[(n - owned.start) as usize]),
    );
}
