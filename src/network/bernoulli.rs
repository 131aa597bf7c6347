//! `pairwise_bernoulli` in integer arithmetic, so that a GPU draws exactly the synapses the host
//! draws (WGSL has no f64, and its `log` is not exact). Twin: `shaders/shared/bernoulli.wgsl`.
//!
//! Every (source, target) pair is a synapse with probability `p`. A source's row is walked by
//! geometric skips (Batagelj & Brandes 2005): the number of targets passed over before the next
//! synapse is geometric, P(skip >= j) = q^j with q = 1 - p, so a row costs its synapses, not its
//! pairs. A skip is drawn from one random word `u` against the thresholds
//! `T_j = floor(q^j 2^32)`, j = 1, 2, ...: skip >= j exactly when `u < T_j`, so the skip is the
//! number of thresholds above `u` (a binary search). The table ends where `T_j` reaches 0, or
//! after [`MAX_TABLE`] entries; a word below the last threshold then means "at least L", and, as
//! geometric skips are memoryless, L is added and another word drawn. Each pair is a synapse
//! with probability p to within 2^-32.
//!
//! A row is cut into segments of [`BernoulliDraw::segment`] consecutive targets (about 16
//! synapses each). Segment `g` of row `r` draws from the words of `(Connectivity stream, r)` from
//! block `g << 32` on (counter word 1 holds `g`), so the segments are independent: a row is drawn
//! the same on any number of threads, and a GPU draws a procedural row with many threads at once.

use crate::rng::{Philox, WordSequence};

/// Most thresholds in a table (256 KiB): enough for one word per skip down to p = 3.5e-4.
pub const MAX_TABLE: usize = 65_536;

/// Synapses a segment holds on average.
const SYNAPSES_PER_SEGMENT: f64 = 16.0;

/// How the rows of one `pairwise_bernoulli` rule are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct BernoulliDraw {
    pub n_targets: u32,
    /// Leave out target `row` (no autapses within one population).
    pub exclude_self: bool,
    /// Targets per segment.
    pub segment: u32,
    /// `T_j = floor(q^j 2^32)` for j = 1..=len, decreasing; empty when p = 0 (no synapses).
    pub thresholds: Vec<u32>,
}

impl BernoulliDraw {
    /// The draw of probability `p` (0 <= p < 1; p = 1 is `all_to_all`) over `n_targets`.
    pub fn new(p: f64, n_targets: u32, exclude_self: bool) -> BernoulliDraw {
        debug_assert!((0.0..1.0).contains(&p), "p = {p}");
        let thresholds = thresholds(p).collect();
        let segment = if p > 0.0 {
            (SYNAPSES_PER_SEGMENT / p)
                .ceil()
                .clamp(64.0, f64::from(1u32 << 30)) as u32
        } else {
            1 << 30
        };
        BernoulliDraw {
            n_targets,
            exclude_self,
            segment,
            thresholds,
        }
    }

    /// Segments per row.
    pub fn segments(&self) -> u32 {
        self.n_targets.div_ceil(self.segment)
    }

    /// Calls `emit` with the targets of segment `g` of row `row`, in increasing order.
    pub fn segment_targets(
        &self,
        rng: &Philox,
        stream: u32,
        row: u32,
        g: u32,
        mut emit: impl FnMut(u32),
    ) {
        if self.thresholds.is_empty() {
            return;
        }
        let begin = u64::from(g) * u64::from(self.segment);
        let end = (begin + u64::from(self.segment)).min(u64::from(self.n_targets));
        let mut seq = rng.sequence_from(stream, row, u64::from(g) << 32);
        let mut t = begin;
        while let Some(skip) = self.skip(&mut seq, end - t) {
            t += skip;
            if !(self.exclude_self && t == u64::from(row)) {
                emit(t as u32);
            }
            t += 1;
            if t >= end {
                break;
            }
        }
    }

    /// Appends the targets of row `row` to `out`, in increasing order.
    pub fn row_targets(&self, rng: &Philox, stream: u32, row: u32, out: &mut Vec<u32>) {
        for g in 0..self.segments() {
            self.segment_targets(rng, stream, row, g, |t| out.push(t));
        }
    }

    /// The next skip, if it is below `room` (the targets left in the segment).
    fn skip(&self, seq: &mut WordSequence, room: u64) -> Option<u64> {
        let len = self.thresholds.len();
        let mut total = 0u64;
        loop {
            let u = seq.next_u32();
            let j = self.thresholds.partition_point(|&t| u < t);
            total += j as u64;
            if total >= room {
                return None;
            }
            if j < len {
                return Some(total);
            }
        }
    }
}

/// The thresholds `T_j = floor(q^j 2^32)`, j = 1.., of probability `p` (none for p = 0 or 1:
/// nothing is drawn): to the first 0, at most [`MAX_TABLE`].
fn thresholds(p: f64) -> impl Iterator<Item = u32> {
    // q^j by repeated multiplication: plain IEEE operations, the same table everywhere.
    let q = 1.0 - p;
    let drawn = p > 0.0 && p < 1.0;
    let mut q_j = 1.0f64;
    let mut ended = !drawn;
    std::iter::from_fn(move || {
        if ended {
            return None;
        }
        q_j *= q;
        // Below 2^32 (q^j < 1); a saturating cast for p so small that q rounds to 1.
        let t = (q_j * 4_294_967_296.0).floor().min(f64::from(u32::MAX)) as u32;
        ended = t == 0;
        Some(t)
    })
    .take(MAX_TABLE)
}

/// Device bytes of the thresholds of probability `p`.
pub fn table_bytes(p: f64) -> u64 {
    4 * thresholds(p).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_q_to_the_j() {
        let d = BernoulliDraw::new(0.25, 1000, false);
        assert_eq!(d.thresholds[0], 3 << 30);
        assert_eq!(d.thresholds[1], 9 << 28);
        assert!(d.thresholds.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(*d.thresholds.last().unwrap(), 0);
        assert_eq!(d.segment, 64);
        assert!(BernoulliDraw::new(0.0, 10, false).thresholds.is_empty());
        assert_eq!(
            BernoulliDraw::new(1e-6, 10, false).thresholds.len(),
            MAX_TABLE
        );
    }

    /// Rows hold each target with probability p, independently: counts per target position and
    /// the row lengths' mean and variance match the binomial, also where skips pass the end of
    /// the table (small p) and across segments.
    #[test]
    fn each_pair_is_drawn_with_probability_p() {
        let rng = Philox::new(9);
        for (p, n_targets, rows) in [
            (0.3, 200u32, 4000u32),
            (0.02, 3000, 2000),
            (1e-4, 200_000, 400),
        ] {
            let d = BernoulliDraw::new(p, n_targets, false);
            let mut hits = vec![0u32; n_targets as usize];
            let mut lengths = Vec::new();
            let mut row = Vec::new();
            for r in 0..rows {
                row.clear();
                d.row_targets(&rng, 7, r, &mut row);
                assert!(
                    row.windows(2).all(|w| w[0] < w[1]),
                    "p = {p}: row {r} unsorted"
                );
                for &t in &row {
                    hits[t as usize] += 1;
                }
                lengths.push(row.len() as f64);
            }
            let n = f64::from(n_targets);
            let mean = lengths.iter().sum::<f64>() / f64::from(rows);
            let var = lengths.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / f64::from(rows - 1);
            let sigma_mean = (n * p * (1.0 - p) / f64::from(rows)).sqrt();
            assert!(
                (mean - n * p).abs() < 4.0 * sigma_mean,
                "p = {p}: mean row {mean}"
            );
            assert!(
                (var / (n * p * (1.0 - p)) - 1.0).abs() < 0.2,
                "p = {p}: variance {var}"
            );
            // The first and the last targets are as likely as any (no edge effect at segment
            // boundaries): compare segment halves.
            let half = |range: std::ops::Range<usize>| {
                hits[range].iter().map(|&h| f64::from(h)).sum::<f64>()
            };
            let a = half(0..n_targets as usize / 2);
            let b = half(n_targets as usize / 2..n_targets as usize);
            let expected = n / 2.0 * f64::from(rows) * p;
            assert!(
                (a - b).abs() < 6.0 * (2.0 * expected).sqrt(),
                "p = {p}: halves {a} vs {b}"
            );
        }
    }

    #[test]
    fn autapses_are_left_out_and_segments_are_independent() {
        let rng = Philox::new(2);
        let d = BernoulliDraw::new(0.5, 1000, true);
        assert!(d.segments() > 1);
        let mut all = Vec::new();
        for r in 0..200 {
            let mut row = Vec::new();
            d.row_targets(&rng, 3, r, &mut row);
            assert!(!row.contains(&r));
            // Drawing the segments in reverse order gives the same row.
            let mut reversed = Vec::new();
            for g in (0..d.segments()).rev() {
                let mut seg = Vec::new();
                d.segment_targets(&rng, 3, r, g, |t| seg.push(t));
                seg.extend(reversed);
                reversed = seg;
            }
            assert_eq!(row, reversed);
            all.push(row);
        }
        assert_ne!(all[0], all[1]);
    }
}
