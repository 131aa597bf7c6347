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

/// Most threads that fill rows of one CSR (`Wiring::row_parts`): each reads every block of
/// drawn sources.
const MAX_ROW_FILL_THREADS: usize = 4;

/// Rows are filled by a thread per this many synapses, a remainder counting as one more (up to
/// `MAX_ROW_FILL_THREADS`): 1 Mi synapses or fewer take one.
const MIN_ROW_FILL_SYNAPSES_PER_THREAD: usize = 1 << 20;

/// Synapses as produced by a connection rule: source-major structure, no values yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    pub row_offsets: Vec<u64>,
    pub targets: Vec<u32>,
}

impl Wiring {
    /// `rows` (the synapses of rows with offsets `row_offsets`) cut into contiguous ranges of
    /// rows, about equal synapses each, one per thread that fills them: at most
    /// `MAX_ROW_FILL_THREADS`, and one per `MIN_ROW_FILL_SYNAPSES_PER_THREAD` synapses.
    pub fn row_parts<'a>(
        row_offsets: &[u64],
        rows: &'a mut [u32],
        threads: usize,
    ) -> Vec<(std::ops::Range<usize>, &'a mut [u32])> {
        let n_rows = row_offsets.len().saturating_sub(1);
        let total = rows.len();
        let threads = threads
            .clamp(1, MAX_ROW_FILL_THREADS)
            .min(total.div_ceil(MIN_ROW_FILL_SYNAPSES_PER_THREAD).max(1));
        let mut bounds: Vec<usize> = (0..=threads)
            .map(|j| {
                row_offsets
                    .partition_point(|&o| o < total as u64 * j as u64 / threads as u64)
                    .min(n_rows)
            })
            .collect();
        bounds[0] = 0;
        bounds[threads] = n_rows;
        let mut parts = Vec::with_capacity(threads);
        let mut rest = rows;
        for w in bounds.windows(2) {
            let len = (row_offsets[w[1]] - row_offsets[w[0]]) as usize;
            let (part, tail) = rest.split_at_mut(len);
            parts.push((w[0]..w[1], part));
            rest = tail;
        }
        parts
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
    fn pairs_make_rows_sorted_by_target() {
        let p = Wiring::from_pairs(3, &[(2, 2), (0, 1), (2, 0), (0, 0), (2, 2)]);
        assert_eq!(p.row_offsets, vec![0, 2, 2, 5]);
        assert_eq!(p.targets, vec![0, 1, 0, 2, 2]);
    }

    #[test]
    fn row_parts_cut_whole_rows_of_about_equal_synapses() {
        // 4 Mi synapses over 1000 rows of growing length: four threads, whole rows each.
        let row_offsets: Vec<u64> = (0..=1000u64)
            .map(|r| r * r * 4 * 1024 * 1024 / 1_000_000)
            .collect();
        let mut rows = vec![0u32; *row_offsets.last().unwrap() as usize];
        let total = rows.len();
        let parts = Wiring::row_parts(&row_offsets, &mut rows, 16);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].0.start, 0);
        assert_eq!(parts[3].0.end, 1000);
        for (w, (rows, part)) in parts.windows(2).zip(&parts) {
            assert_eq!(w[0].0.end, w[1].0.start);
            assert_eq!(
                part.len() as u64,
                row_offsets[rows.end] - row_offsets[rows.start]
            );
            assert!(part.len() < total / 4 + total / 100);
        }
        // Few synapses: one thread.
        let mut few = vec![0u32; 10];
        assert_eq!(Wiring::row_parts(&[0, 4, 10], &mut few, 8).len(), 1);
    }
}
