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
    /// Target neuron of each synapse, 0-based within the target population.
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

/// Synapses as produced by a connection rule: source-major structure, no values yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    pub row_offsets: Vec<u64>,
    pub targets: Vec<u32>,
}

impl Wiring {
    /// Build source-major rows from per-target source lists (`sources_of[t]`, flattened with
    /// `offsets`), keeping each row sorted by target: a counting sort by source.
    pub fn from_target_lists(n_sources: usize, target_offsets: &[u64], sources: &[u32]) -> Wiring {
        let mut row_offsets = vec![0u64; n_sources + 1];
        for &s in sources {
            row_offsets[s as usize + 1] += 1;
        }
        for i in 0..n_sources {
            row_offsets[i + 1] += row_offsets[i];
        }
        let mut cursor: Vec<u64> = row_offsets[..n_sources].to_vec();
        let mut targets = vec![0u32; sources.len()];
        for (t, w) in target_offsets.windows(2).enumerate() {
            for &s in &sources[w[0] as usize..w[1] as usize] {
                let c = &mut cursor[s as usize];
                targets[*c as usize] = t as u32;
                *c += 1;
            }
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
        let w = Wiring::from_target_lists(3, &[0, 2, 3, 5], &[2, 0, 0, 2, 2]);
        assert_eq!(w.row_offsets, vec![0, 2, 2, 5]);
        assert_eq!(w.targets, vec![0, 1, 0, 2, 2]);
        let p = Wiring::from_pairs(3, &[(2, 2), (0, 1), (2, 0), (0, 0), (2, 2)]);
        assert_eq!(p, w);
    }
}
