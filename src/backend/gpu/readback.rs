//! The spikes of a submission, as read back, into the order the CPU backend lists them: by step,
//! and by neuron within a step (atomics on the GPU leave a step's spikes in any order).
//!
//! At millions of neurons this is the host's largest share of a GPU run (147 million spikes per
//! simulated second at 10 million COBA neurons), so large submissions are sorted on several
//! threads, each taking whole steps.

use crate::backend::Spike;

/// Below this many spikes a submission is sorted on one thread.
const MIN_SPIKES_PER_THREAD: usize = 1 << 16;

/// Most threads that sort one submission.
const MAX_THREADS: usize = 8;

/// Sort each step's spikes by neuron, on up to `max_threads` threads, and append them to `out` as
/// `Spike`s. `step_ends[b]` is where step `first_step + b` ends in `spikes` (cumulative; the last
/// is `spikes.len()`).
pub fn sorted_spikes(
    max_threads: usize,
    first_step: u64,
    step_ends: &[u32],
    spikes: &mut [u32],
    out: &mut Vec<Spike>,
) {
    let threads = max_threads
        .min(MAX_THREADS)
        .min(spikes.len() / MIN_SPIKES_PER_THREAD)
        .max(1);
    sorted_spikes_on(threads, first_step, step_ends, spikes, out);
}

/// `sorted_spikes` on `threads` threads: the same result for any number.
pub fn sorted_spikes_on(
    threads: usize,
    first_step: u64,
    step_ends: &[u32],
    spikes: &mut [u32],
    out: &mut Vec<Spike>,
) {
    let threads = threads.clamp(1, step_ends.len().max(1));
    let start = out.len();
    out.resize(start + spikes.len(), Spike { step: 0, neuron: 0 });
    let out = &mut out[start..];
    let begin_of = |b: usize| if b == 0 { 0 } else { step_ends[b - 1] as usize };
    // Whole steps per thread, about equal spikes each.
    let total = spikes.len();
    let mut bounds = vec![0usize];
    for t in 1..threads {
        let goal = (total * t / threads) as u32;
        let b = step_ends.partition_point(|&end| end < goal);
        bounds.push(b.max(*bounds.last().expect("starts with 0")));
    }
    bounds.push(step_ends.len());
    let work = |steps: std::ops::Range<usize>, spikes: &mut [u32], out: &mut [Spike]| {
        let offset = begin_of(steps.start);
        let mut scratch = Vec::new();
        for b in steps {
            let range = begin_of(b) - offset..step_ends[b] as usize - offset;
            let step_spikes = &mut spikes[range.clone()];
            sort_neurons(step_spikes, &mut scratch);
            let step = first_step + b as u64;
            for (o, &neuron) in out[range].iter_mut().zip(step_spikes.iter()) {
                *o = Spike { step, neuron };
            }
        }
    };
    if threads <= 1 {
        work(0..step_ends.len(), spikes, out);
        return;
    }
    std::thread::scope(|scope| {
        let mut spikes_rest = spikes;
        let mut out_rest = out;
        for w in bounds.windows(2) {
            let len = begin_of(w[1]) - begin_of(w[0]);
            let (spikes_part, s_tail) = spikes_rest.split_at_mut(len);
            let (out_part, o_tail) = out_rest.split_at_mut(len);
            spikes_rest = s_tail;
            out_rest = o_tail;
            let steps = w[0]..w[1];
            let work = &work;
            scope.spawn(move || work(steps, spikes_part, out_part));
        }
    });
}

/// Below this many spikes a step is sorted by comparisons, above by radix.
const MIN_RADIX_SPIKES: usize = 1024;

/// Sort one step's neuron indices: a least-significant-digit radix sort, 11 bits a pass (as
/// many passes as the largest index needs), where there are many; pdqsort where few.
fn sort_neurons(neurons: &mut [u32], scratch: &mut Vec<u32>) {
    if neurons.len() < MIN_RADIX_SPIKES {
        neurons.sort_unstable();
        return;
    }
    const BITS: u32 = 11;
    let max = neurons.iter().copied().max().unwrap_or(0);
    let passes = (u32::BITS - max.leading_zeros()).div_ceil(BITS).max(1);
    scratch.clear();
    scratch.resize(neurons.len(), 0);
    let mut in_scratch = false;
    for pass in 0..passes {
        let shift = pass * BITS;
        let (src, dst): (&[u32], &mut [u32]) = if in_scratch {
            (&scratch[..], &mut *neurons)
        } else {
            (&*neurons, &mut scratch[..])
        };
        let mut starts = [0usize; (1 << BITS) + 1];
        for &v in src {
            starts[((v >> shift) & ((1 << BITS) - 1)) as usize + 1] += 1;
        }
        for d in 0..1 << BITS {
            starts[d + 1] += starts[d];
        }
        for &v in src {
            let d = ((v >> shift) & ((1 << BITS) - 1)) as usize;
            dst[starts[d]] = v;
            starts[d] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        neurons.copy_from_slice(scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_come_out_sorted_the_same_on_any_thread_count() {
        // 300 steps of 0..3,000 spikes each, in a scrambled order.
        let mut x = 7u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut spikes = Vec::new();
        let mut step_ends = Vec::new();
        for _ in 0..300 {
            // Some steps above MIN_RADIX_SPIKES (radix sort), most below (comparison sort).
            let n = (next() % 3000) as usize;
            spikes.extend((0..n).map(|_| (next() % 1_000_000) as u32));
            step_ends.push(spikes.len() as u32);
        }
        let mut one = vec![Spike { step: 0, neuron: 9 }];
        sorted_spikes_on(1, 40, &step_ends, &mut spikes.clone(), &mut one);
        assert_eq!(one.len(), 1 + spikes.len());
        assert_eq!(
            one[0],
            Spike { step: 0, neuron: 9 },
            "appended, not replaced"
        );
        assert!(one[1..]
            .windows(2)
            .all(|w| (w[0].step, w[0].neuron) <= (w[1].step, w[1].neuron)));
        // The same multiset of (step, neuron) as went in.
        let mut expected: Vec<Spike> = Vec::new();
        let mut begin = 0;
        for (b, &end) in step_ends.iter().enumerate() {
            let mut step: Vec<u32> = spikes[begin..end as usize].to_vec();
            step.sort_unstable();
            expected.extend(step.iter().map(|&neuron| Spike {
                step: 40 + b as u64,
                neuron,
            }));
            begin = end as usize;
        }
        assert_eq!(one[1..], expected[..]);
        assert_eq!(one[1].step, 40);
        for threads in [2, 3, 8, 1000] {
            let mut many = vec![Spike { step: 0, neuron: 9 }];
            sorted_spikes_on(threads, 40, &step_ends, &mut spikes.clone(), &mut many);
            assert_eq!(many, one, "{threads} threads");
        }
    }
}
