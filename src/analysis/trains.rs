//! Spike trains of one population within a time window, neuron by neuron.

use super::{AnalysisError, Window};

/// The spikes of one population that fall in a [`Window`], grouped by neuron and sorted by time
/// within each neuron. Silent neurons are kept (with empty trains): they count in rates.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTrains {
    window: Window,
    /// Neuron i's spikes are `times_ms[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    times_ms: Vec<f64>,
}

impl SpikeTrains {
    /// Groups the spikes `(node_ids[k], times_ms[k])` of a population of `n_neurons` by neuron,
    /// keeping those in `window`. The input may be in any order (files hold it sorted by time).
    /// `population` names the population in errors.
    pub fn from_spikes(
        population: &str,
        n_neurons: u32,
        node_ids: &[u64],
        times_ms: &[f64],
        window: Window,
    ) -> Result<Self, AnalysisError> {
        if node_ids.len() != times_ms.len() {
            return Err(AnalysisError::Inconsistent {
                population: population.to_owned(),
                reason: format!(
                    "{} node ids but {} timestamps",
                    node_ids.len(),
                    times_ms.len()
                ),
            });
        }
        let n = n_neurons as usize;
        // Counting sort by neuron: two passes, O(spikes + neurons), stable, so trains that
        // arrive sorted by time stay sorted.
        let mut offsets = vec![0usize; n + 1];
        for (&node, &t) in node_ids.iter().zip(times_ms) {
            let Some(slot) = usize::try_from(node).ok().filter(|&i| i < n) else {
                return Err(AnalysisError::NodeOutOfRange {
                    population: population.to_owned(),
                    node_id: node,
                    n_neurons,
                });
            };
            if window.contains(t) {
                offsets[slot + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut sorted = vec![0.0; offsets[n]];
        for (&node, &t) in node_ids.iter().zip(times_ms) {
            if window.contains(t) {
                let slot = &mut next[node as usize];
                sorted[*slot] = t;
                *slot += 1;
            }
        }
        for i in 0..n {
            let train = &mut sorted[offsets[i]..offsets[i + 1]];
            if !train.is_sorted() {
                train.sort_by(f64::total_cmp);
            }
        }
        Ok(SpikeTrains {
            window,
            offsets,
            times_ms: sorted,
        })
    }

    /// One train per neuron (spike times in ms); spikes outside `window` are dropped.
    pub fn from_trains(trains: &[Vec<f64>], window: Window) -> Self {
        let mut node_ids = Vec::new();
        let mut times_ms = Vec::new();
        for (node, train) in trains.iter().enumerate() {
            node_ids.extend(std::iter::repeat_n(node as u64, train.len()));
            times_ms.extend_from_slice(train);
        }
        let n_neurons = u32::try_from(trains.len()).expect("at most 2^32 - 1 trains");
        Self::from_spikes("", n_neurons, &node_ids, &times_ms, window)
            .expect("node ids index the trains")
    }

    pub fn window(&self) -> Window {
        self.window
    }

    /// Neurons of the population, silent ones included.
    pub fn n_neurons(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Spikes in the window, all neurons together.
    pub fn n_spikes(&self) -> usize {
        self.times_ms.len()
    }

    /// Spike times of neuron `i` in the window [ms], sorted.
    pub fn train(&self, i: usize) -> &[f64] {
        &self.times_ms[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Every neuron's train, in neuron order.
    pub fn trains(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.offsets.windows(2).map(|w| &self.times_ms[w[0]..w[1]])
    }
}
