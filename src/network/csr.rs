//! Synapses of one projection in compressed sparse row form, one row per source neuron.

/// A value that is either the same for every synapse (stored once) or one per synapse.
#[derive(Clone, Debug, PartialEq)]
pub enum PerSynapse<T> {
    Constant(T),
    Each(Vec<T>),
}

impl<T: Copy> PerSynapse<T> {
    #[inline]
    pub fn get(&self, synapse: usize) -> T {
        match self {
            PerSynapse::Constant(v) => *v,
            PerSynapse::Each(values) => values[synapse],
        }
    }

    /// Bytes this takes beyond the target indices.
    pub fn bytes(&self) -> usize {
        match self {
            PerSynapse::Constant(_) => 0,
            PerSynapse::Each(values) => std::mem::size_of_val(values.as_slice()),
        }
    }
}

/// Outgoing synapses of every source neuron: the targets of source `s` are
/// `targets[row_offsets[s] .. row_offsets[s + 1]]`, sorted by target, so that a network built
/// from one seed has one representation whatever the order of construction.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    /// `n_sources + 1` offsets into `targets`.
    pub row_offsets: Vec<u64>,
    /// Target neuron of each synapse, 0-based within the target population (global neuron
    /// indices in the CPU backend's merged rows, `merged_indegree_csr`).
    pub targets: Vec<u32>,
    /// Weight of each synapse in fixed-point units of the receptor (see `network::FixedPoint`).
    pub weights: PerSynapse<i32>,
    /// Delay of each synapse [steps], at least 1.
    pub delays: PerSynapse<u16>,
}

impl Csr {
    pub fn n_rows(&self) -> usize {
        self.row_offsets.len() - 1
    }

    pub fn n_synapses(&self) -> usize {
        self.targets.len()
    }

    /// Index range of the synapses of source `row`.
    #[inline]
    pub fn row(&self, row: usize) -> std::ops::Range<usize> {
        self.row_offsets[row] as usize..self.row_offsets[row + 1] as usize
    }

    /// Number of synapses onto each target.
    pub fn indegrees(&self, n_targets: usize) -> Vec<u32> {
        let mut counts = vec![0u32; n_targets];
        for &t in &self.targets {
            counts[t as usize] += 1;
        }
        counts
    }

    /// Number of synapses of each source.
    pub fn outdegrees(&self) -> Vec<u32> {
        self.row_offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as u32)
            .collect()
    }

    /// Host bytes held by this projection's synapses.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(self.row_offsets.as_slice())
            + std::mem::size_of_val(self.targets.as_slice())
            + self.weights.bytes()
            + self.delays.bytes()
    }

    /// The largest delay [steps].
    pub fn max_delay(&self) -> u16 {
        match &self.delays {
            PerSynapse::Constant(d) => *d,
            PerSynapse::Each(ds) => ds.iter().copied().max().unwrap_or(1),
        }
    }
}

/// Most threads a transpose uses: each reads every source list once.
const MAX_TRANSPOSE_THREADS: usize = 4;

/// A transpose takes a thread per this many synapses, a remainder counting as one more (up to
/// `MAX_TRANSPOSE_THREADS`): 1 Mi synapses or fewer take one.
const MIN_TRANSPOSE_SYNAPSES_PER_THREAD: usize = 1 << 20;

/// Synapses as produced by a connection rule: source-major structure, no values yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    pub row_offsets: Vec<u64>,
    pub targets: Vec<u32>,
}

impl Wiring {
    /// Build source-major rows from per-target source lists (`sources_of[t]`, flattened with
    /// `offsets`), keeping each row sorted by target: a counting sort by source.
    pub fn from_target_lists(
        n_sources: usize,
        target_offsets: &[u64],
        sources: &[u32],
        threads: usize,
    ) -> Wiring {
        let mut row_offsets = vec![0u64; n_sources + 1];
        for &s in sources {
            row_offsets[s as usize + 1] += 1;
        }
        for i in 0..n_sources {
            row_offsets[i + 1] += row_offsets[i];
        }
        let mut targets = vec![0u32; sources.len()];
        // Each thread fills the rows of one range (about equal synapses each): it reads every
        // list, in target order, and keeps the sources of its range. Rows come out sorted by
        // target, the same for any thread count.
        let threads = threads.clamp(1, MAX_TRANSPOSE_THREADS).min(
            sources
                .len()
                .div_ceil(MIN_TRANSPOSE_SYNAPSES_PER_THREAD)
                .max(1),
        );
        let total = sources.len() as u64;
        let mut bounds: Vec<usize> = (0..=threads)
            .map(|j| {
                row_offsets
                    .partition_point(|&o| o < total * j as u64 / threads as u64)
                    .min(n_sources)
            })
            .collect();
        bounds[0] = 0;
        bounds[threads] = n_sources;
        let mut parts = Vec::with_capacity(threads);
        let mut rest = targets.as_mut_slice();
        for w in bounds.windows(2) {
            let len = (row_offsets[w[1]] - row_offsets[w[0]]) as usize;
            let (part, tail) = rest.split_at_mut(len);
            parts.push((w[0]..w[1], part));
            rest = tail;
        }
        let fill = |rows: std::ops::Range<usize>, part: &mut [u32]| {
            let base = row_offsets[rows.start];
            let mut cursor: Vec<u64> = row_offsets[rows.clone()]
                .iter()
                .map(|&o| o - base)
                .collect();
            let n_rows = rows.len();
            for (t, w) in target_offsets.windows(2).enumerate() {
                for &s in &sources[w[0] as usize..w[1] as usize] {
                    let r = (s as usize).wrapping_sub(rows.start);
                    if r < n_rows {
                        part[cursor[r] as usize] = t as u32;
                        cursor[r] += 1;
                    }
                }
            }
        };
        if parts.len() == 1 {
            let (rows, part) = parts.pop().expect("one part");
            fill(rows, part);
        } else {
            std::thread::scope(|scope| {
                for (rows, part) in parts {
                    let fill = &fill;
                    scope.spawn(move || fill(rows, part));
                }
            });
        }
        Wiring {
            row_offsets,
            targets,
        }
    }

    /// Build rows from unordered (source, target) pairs; rows end up sorted by target.
    pub fn from_pairs(n_sources: usize, pairs: &[(u32, u32)]) -> Wiring {
        let mut row_offsets = vec![0u64; n_sources + 1];
        for &(s, _) in pairs {
            row_offsets[s as usize + 1] += 1;
        }
        for i in 0..n_sources {
            row_offsets[i + 1] += row_offsets[i];
        }
        let mut cursor: Vec<u64> = row_offsets[..n_sources].to_vec();
        let mut targets = vec![0u32; pairs.len()];
        for &(s, t) in pairs {
            let c = &mut cursor[s as usize];
            targets[*c as usize] = t;
            *c += 1;
        }
        for w in row_offsets.windows(2) {
            targets[w[0] as usize..w[1] as usize].sort_unstable();
        }
        Wiring {
            row_offsets,
            targets,
        }
    }

    pub fn n_synapses(&self) -> usize {
        self.targets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_lists_transpose_into_sorted_rows() {
        // target 0 <- sources [2, 0]; target 1 <- [0]; target 2 <- [2, 2]
        let w = Wiring::from_target_lists(3, &[0, 2, 3, 5], &[2, 0, 0, 2, 2], 1);
        assert_eq!(w.row_offsets, vec![0, 2, 2, 5]);
        assert_eq!(w.targets, vec![0, 1, 0, 2, 2]);
        let p = Wiring::from_pairs(3, &[(2, 2), (0, 1), (2, 0), (0, 0), (2, 2)]);
        assert_eq!(p, w);
    }

    #[test]
    fn a_transpose_gives_the_same_rows_on_any_thread_count() {
        // 4 Mi synapses: enough for four threads. Sources skewed towards low rows, so that the
        // threads' row ranges differ in length.
        let n_targets = 1 << 16;
        let k = 64u64;
        let mut x = 12345u64;
        let sources: Vec<u32> = (0..n_targets as u64 * k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (x >> 33) as u32 % 1000;
                u * u / 1000
            })
            .collect();
        let offsets: Vec<u64> = (0..=n_targets as u64).map(|t| t * k).collect();
        let one = Wiring::from_target_lists(1000, &offsets, &sources, 1);
        assert_eq!(one.targets.len(), sources.len());
        for w in one.row_offsets.windows(2) {
            assert!(one.targets[w[0] as usize..w[1] as usize].is_sorted());
        }
        for threads in [2, 3, 4, 16] {
            assert_eq!(
                Wiring::from_target_lists(1000, &offsets, &sources, threads),
                one,
                "{threads} threads"
            );
        }
    }
}
