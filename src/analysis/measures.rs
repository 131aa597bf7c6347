//! The statistics of `lifsim stats`, as pure functions of spike trains. `docs/analysis.md`
//! defines each one; the formulas there and here must agree.
//!
//! The count-based measures (Fano factor, correlation, synchrony) work on the spike counts
//! c_i(b) of neuron i in bins b = 0..B of equal width w that tile the window from its start:
//! bin b is (from + b w, from + (b + 1) w]; the partial bin at the end is left out. Every
//! variance is taken over the B bins with divisor B (population variance). Sums of counts are
//! integers, so the moments are formed in integer arithmetic and divided once at the end: the
//! results are exact up to that one rounding.

use std::collections::HashSet;

use serde::Serialize;

use super::{SpikeTrains, TIME_TOLERANCE_MS};
use crate::rng::Philox;

/// A statistic averaged over (or computed from) `n` neurons or pairs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    /// How many neurons (or, for correlations, pairs) it rests on.
    pub n: usize,
}

/// Mean firing rate [Hz]: spikes in the window / (neurons x window length), silent neurons
/// included.
pub fn mean_rate_hz(trains: &SpikeTrains) -> f64 {
    let duration_s = trains.window().duration_ms() * 1e-3;
    let n = trains.n_neurons();
    if n == 0 || duration_s <= 0.0 {
        return 0.0;
    }
    trains.n_spikes() as f64 / (n as f64 * duration_s)
}

/// Neurons with at least one spike in the window.
pub fn active_neurons(trains: &SpikeTrains) -> usize {
    trains.trains().filter(|t| !t.is_empty()).count()
}

/// Fewest spikes a neuron needs for its CV(ISI) to count: two intervals, as in NEST's and
/// Brian2's COBA analyses.
pub const CV_MIN_SPIKES: usize = 3;

/// Mean over neurons with at least [`CV_MIN_SPIKES`] spikes in the window of CV_i = sd_i / m_i,
/// where m_i and sd_i are the mean and the standard deviation (divisor: number of intervals) of
/// neuron i's inter-spike intervals. `None` if no neuron has enough spikes.
pub fn cv_isi(trains: &SpikeTrains) -> Option<Estimate> {
    let mut sum = 0.0;
    let mut n = 0;
    for train in trains.trains().filter(|t| t.len() >= CV_MIN_SPIKES) {
        let intervals = train.len() - 1;
        let mean = (train[intervals] - train[0]) / intervals as f64;
        let variance = train
            .windows(2)
            .map(|w| (w[1] - w[0] - mean).powi(2))
            .sum::<f64>()
            / intervals as f64;
        sum += variance.sqrt() / mean;
        n += 1;
    }
    (n > 0).then(|| Estimate {
        value: sum / n as f64,
        n,
    })
}

/// The population rate [Hz] in each whole bin of `bin_ms` of the window: spikes of all neurons
/// in the bin / (neurons x bin length), silent neurons included.
pub fn population_rate_hz(trains: &SpikeTrains, bin_ms: f64) -> Vec<f64> {
    let n_bins = trains.window().n_bins(bin_ms);
    let mut counts = vec![0u64; n_bins];
    let from = trains.window().from_ms;
    for train in trains.trains() {
        for (b, c) in bin_counts(train, from, bin_ms, n_bins) {
            counts[b] += c;
        }
    }
    let scale = 1.0 / (trains.n_neurons().max(1) as f64 * bin_ms * 1e-3);
    counts.into_iter().map(|c| c as f64 * scale).collect()
}

/// A neuron's non-zero bin counts, as (bin, count) in increasing bin order.
fn bin_counts(train: &[f64], from_ms: f64, bin_ms: f64, n_bins: usize) -> Vec<(usize, u64)> {
    let mut counts: Vec<(usize, u64)> = Vec::new();
    for &t in train {
        // Bin b holds (from + b w, from + (b + 1) w]: a spike on a boundary belongs to the bin
        // it ends.
        let b = ((t - from_ms - TIME_TOLERANCE_MS) / bin_ms).ceil().max(1.0) as usize - 1;
        if b >= n_bins {
            break;
        }
        match counts.last_mut() {
            Some((last, count)) if *last == b => *count += 1,
            _ => counts.push((b, 1)),
        }
    }
    counts
}

/// The first two moments of a neuron's bin counts, as integer sums: s1 = sum_b c(b),
/// s2 = sum_b c(b)^2.
#[derive(Clone, Copy, Debug)]
struct CountSums {
    s1: u64,
    s2: u64,
}

impl CountSums {
    fn of(counts: &[(usize, u64)]) -> Self {
        CountSums {
            s1: counts.iter().map(|&(_, c)| c).sum(),
            s2: counts.iter().map(|&(_, c)| c * c).sum(),
        }
    }

    /// B^2 x the variance of the counts over `n_bins` = B: B s2 - s1^2 (exact, >= 0).
    fn scaled_variance(self, n_bins: usize) -> i128 {
        n_bins as i128 * i128::from(self.s2) - i128::from(self.s1).pow(2)
    }
}

/// Mean over neurons with at least one spike in the binned part of the window of the Fano
/// factor of their spike counts in bins of `bin_ms`: F_i = var_b c_i(b) / mean_b c_i(b)
/// = (B s2_i - s1_i^2) / (B s1_i). `None` with fewer than 2 bins or no such neuron.
pub fn fano_factor(trains: &SpikeTrains, bin_ms: f64) -> Option<Estimate> {
    let n_bins = trains.window().n_bins(bin_ms);
    if n_bins < 2 {
        return None;
    }
    let from = trains.window().from_ms;
    let mut sum = 0.0;
    let mut n = 0;
    for train in trains.trains() {
        let sums = CountSums::of(&bin_counts(train, from, bin_ms, n_bins));
        if sums.s1 > 0 {
            sum += sums.scaled_variance(n_bins) as f64 / (n_bins as f64 * sums.s1 as f64);
            n += 1;
        }
    }
    (n > 0).then(|| Estimate {
        value: sum / n as f64,
        n,
    })
}

/// Mean Pearson correlation of the spike counts (bins of `bin_ms`) of pairs of distinct
/// neurons whose counts vary (non-zero variance):
/// r_ij = (B s12 - s1_i s1_j) / sqrt((B s2_i - s1_i^2)(B s2_j - s1_j^2)), s12 = sum_b c_i c_j.
///
/// With k such neurons, all k(k-1)/2 pairs are used if they are at most `max_pairs`; otherwise
/// `max_pairs` distinct pairs are drawn uniformly from them by Philox keyed by `seed` (the same
/// seed always gives the same pairs). `None` with fewer than 2 bins or 2 such neurons.
pub fn spike_count_correlation(
    trains: &SpikeTrains,
    bin_ms: f64,
    max_pairs: usize,
    seed: u64,
) -> Option<Estimate> {
    let n_bins = trains.window().n_bins(bin_ms);
    if n_bins < 2 || max_pairs == 0 {
        return None;
    }
    let from = trains.window().from_ms;
    let varying: Vec<Vec<(usize, u64)>> = trains
        .trains()
        .map(|train| bin_counts(train, from, bin_ms, n_bins))
        .filter(|counts| CountSums::of(counts).scaled_variance(n_bins) > 0)
        .collect();
    let pairs = choose_pairs(varying.len(), max_pairs, seed);
    if pairs.is_empty() {
        return None;
    }
    let sum: f64 = pairs
        .iter()
        .map(|&(i, j)| correlation(&varying[i], &varying[j], n_bins))
        .sum();
    Some(Estimate {
        value: sum / pairs.len() as f64,
        n: pairs.len(),
    })
}

/// Pearson correlation of two neurons' counts over `n_bins`, both with non-zero variance.
fn correlation(a: &[(usize, u64)], b: &[(usize, u64)], n_bins: usize) -> f64 {
    let (sa, sb) = (CountSums::of(a), CountSums::of(b));
    // s12 over the bins where both counted: merge the two sorted lists.
    let mut s12: u64 = 0;
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s12 += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    let covariance = n_bins as i128 * i128::from(s12) - i128::from(sa.s1) * i128::from(sb.s1);
    let variances = sa.scaled_variance(n_bins) as f64 * sb.scaled_variance(n_bins) as f64;
    covariance as f64 / variances.sqrt()
}

/// Pairs (i, j), i < j, of `0..k`: all of them in order if there are at most `max_pairs`,
/// else `max_pairs` distinct ones drawn uniformly by Philox keyed by `seed`.
pub fn choose_pairs(k: usize, max_pairs: usize, seed: u64) -> Vec<(usize, usize)> {
    let all = k * k.saturating_sub(1) / 2;
    if all <= max_pairs {
        return (0..k)
            .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
            .collect();
    }
    // k fits in u32: populations have at most 2^32 - 1 neurons.
    let k32 = k as u32;
    let mut draws = Philox::new(seed).sequence(0, 0);
    let mut seen = HashSet::with_capacity(max_pairs);
    let mut pairs = Vec::with_capacity(max_pairs);
    while pairs.len() < max_pairs {
        let (a, b) = (draws.below(k32) as usize, draws.below(k32) as usize);
        let pair = (a.min(b), a.max(b));
        if a != b && seen.insert(pair) {
            pairs.push(pair);
        }
    }
    pairs
}

/// Golomb's synchrony measure chi (Golomb 2007, Scholarpedia 2(1):1347; Golomb & Rinzel 1993)
/// on the spike counts in bins of `bin_ms` of the N neurons with at least one spike in the
/// binned part of the window: chi^2 = var_b P(b) / ((1/N) sum_i var_b c_i(b)), with P(b) =
/// (1/N) sum_i c_i(b) the population's mean count. In integer sums over S(b) = sum_i c_i(b):
/// chi^2 = (B sum_b S(b)^2 - (sum_b S(b))^2) / (N sum_i (B s2_i - s1_i^2)).
///
/// chi is 1 when all neurons count alike in every bin and about 1/sqrt(N) when they are
/// independent. `None` with fewer than 2 bins, no active neuron, or no variance at all.
pub fn synchrony_chi(trains: &SpikeTrains, bin_ms: f64) -> Option<Estimate> {
    let n_bins = trains.window().n_bins(bin_ms);
    if n_bins < 2 {
        return None;
    }
    let from = trains.window().from_ms;
    let mut population = vec![0u64; n_bins];
    let mut sum_scaled_variances: i128 = 0;
    let mut n = 0usize;
    for train in trains.trains() {
        let counts = bin_counts(train, from, bin_ms, n_bins);
        if counts.is_empty() {
            continue;
        }
        for &(b, c) in &counts {
            population[b] += c;
        }
        sum_scaled_variances += CountSums::of(&counts).scaled_variance(n_bins);
        n += 1;
    }
    if n == 0 || sum_scaled_variances == 0 {
        return None;
    }
    let population_sums = CountSums {
        s1: population.iter().sum(),
        s2: population.iter().map(|&s| s * s).sum(),
    };
    let chi_squared =
        population_sums.scaled_variance(n_bins) as f64 / (n as f64 * sum_scaled_variances as f64);
    Some(Estimate {
        value: chi_squared.sqrt(),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Window;
    use super::*;

    fn trains(trains: &[&[f64]], from_ms: f64, to_ms: f64) -> SpikeTrains {
        let owned: Vec<Vec<f64>> = trains.iter().map(|t| t.to_vec()).collect();
        SpikeTrains::from_trains(&owned, Window::new(from_ms, to_ms).unwrap())
    }

    #[test]
    fn boundary_spikes_belong_to_the_bin_they_end() {
        // Bins of 10 ms from 0: (0, 10], (10, 20], (20, 30]; 30.5 is past the last whole bin.
        let counts = bin_counts(&[0.1, 10.0, 10.1, 20.0, 30.0, 30.5], 0.0, 10.0, 3);
        assert_eq!(counts, [(0, 2), (1, 2), (2, 1)]);
        // Round-off in (k + 1) dt does not move a spike across a boundary.
        let t = 100.0 * 0.1 + 1e-12;
        assert_eq!(bin_counts(&[t], 0.0, 10.0, 3), [(0, 1)]);
    }

    #[test]
    fn identical_trains_are_fully_synchronous() {
        let t: &[f64] = &[1.0, 2.0, 12.0, 25.0];
        let s = trains(&[t, t, t], 0.0, 30.0);
        let chi = synchrony_chi(&s, 10.0).unwrap();
        assert_eq!(chi, Estimate { value: 1.0, n: 3 });
        let r = spike_count_correlation(&s, 10.0, 10, 1).unwrap();
        assert!((r.value - 1.0).abs() < 1e-15, "{r:?}");
        assert_eq!(r.n, 3);
    }

    #[test]
    fn pairs_are_all_pairs_or_a_reproducible_sample() {
        assert_eq!(choose_pairs(3, 3, 7), [(0, 1), (0, 2), (1, 2)]);
        assert!(choose_pairs(1, 10, 7).is_empty());
        let drawn = choose_pairs(100, 50, 7);
        assert_eq!(drawn.len(), 50);
        assert_eq!(drawn, choose_pairs(100, 50, 7));
        assert_ne!(drawn, choose_pairs(100, 50, 8));
        let distinct: HashSet<_> = drawn.iter().collect();
        assert_eq!(distinct.len(), 50);
        assert!(drawn.iter().all(|&(i, j)| i < j && j < 100));
    }

    #[test]
    fn too_short_windows_give_no_count_statistics() {
        let s = trains(&[&[1.0, 2.0, 3.0]], 0.0, 15.0);
        assert_eq!(s.window().n_bins(10.0), 1);
        assert_eq!(fano_factor(&s, 10.0), None);
        assert_eq!(synchrony_chi(&s, 10.0), None);
        assert_eq!(spike_count_correlation(&s, 10.0, 10, 1), None);
        assert!(cv_isi(&s).is_some());
    }
}
