//! Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers:
//! as easy as 1, 2, 3", the generator of the Random123 library).
//!
//! Every random number lifsim draws is a pure function of (seed, stream, index, step). Nothing
//! carries generator state from one draw to the next, so the numbers do not depend on the thread
//! count, on the order in which neurons are visited, or on the backend: `shaders/philox.wgsl`
//! computes the same words bit for bit.
//!
//! Layout of the counter, used everywhere in lifsim:
//! `[step low 32 bits, step high 32 bits (or a draw index), item (neuron or row), stream]`, where
//! `stream` = `purpose << 24 | id` names what the numbers are for (see [`Stream`]).

/// Multipliers and Weyl key increments of Philox4x32 (Random123, philox.h).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds: four random 32-bit words for one (counter, key) pair.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c0);
        let (hi1, lo1) = mulhilo(M1, c2);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    [c0, c1, c2, c3]
}

/// What a stream of random numbers is used for; the high byte of the stream word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Stream {
    /// Initial value of a state variable; id = population index * 4 + variable index.
    InitialValue = 1,
    /// Choice of partners by a connection rule; id = projection index.
    Connectivity = 2,
    /// Synaptic weights drawn from a distribution; id = projection index.
    Weight = 3,
    /// Synaptic delays drawn from a distribution; id = projection index.
    Delay = 4,
    /// Spike counts of a Poisson generator; id = stimulus index.
    Poisson = 5,
}

impl Stream {
    /// The stream word for this purpose and id (ids up to 2^24 - 1).
    pub fn word(self, id: usize) -> u32 {
        debug_assert!(id < (1 << 24), "stream id {id} does not fit in 24 bits");
        (self as u32) << 24 | (id as u32 & 0x00FF_FFFF)
    }
}

/// The generator of one run: Philox keyed by the run's seed.
#[derive(Clone, Copy, Debug)]
pub struct Philox {
    key: [u32; 2],
}

impl Philox {
    pub fn new(seed: u64) -> Self {
        Philox {
            key: [seed as u32, (seed >> 32) as u32],
        }
    }

    /// The key words, as uploaded to the GPU.
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// Four words for `(stream, item, index)`; `index` is a step or a draw counter.
    #[inline]
    pub fn words(&self, stream: u32, item: u32, index: u64) -> [u32; 4] {
        philox4x32_10([index as u32, (index >> 32) as u32, item, stream], self.key)
    }

    /// A sequential reader over the words of `(stream, item)`, for draws whose number is not
    /// known in advance (connection rules). Deterministic: the n-th word is always the same.
    pub fn sequence(&self, stream: u32, item: u32) -> WordSequence {
        self.sequence_from(stream, item, 0)
    }

    /// Like [`Philox::sequence`], from block `first_block` on: `first_block = part << 32` gives
    /// `part` of an item its own sequence (counter word 1), as `pairwise_bernoulli` draws the
    /// segments of a row.
    pub fn sequence_from(&self, stream: u32, item: u32, first_block: u64) -> WordSequence {
        WordSequence {
            rng: *self,
            stream,
            item,
            block: first_block,
            buffer: [0; 4],
            used: 4,
        }
    }
}

/// Consecutive words of one `(stream, item)`: block `b` holds words `4b .. 4b + 4`.
#[derive(Clone, Debug)]
pub struct WordSequence {
    rng: Philox,
    stream: u32,
    item: u32,
    block: u64,
    buffer: [u32; 4],
    used: usize,
}

impl WordSequence {
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            self.buffer = self.rng.words(self.stream, self.item, self.block);
            self.block += 1;
            self.used = 0;
        }
        let w = self.buffer[self.used];
        self.used += 1;
        w
    }

    /// Uniform integer in `0..n` by multiply-shift (Lemire 2019), the form the GPU can compute
    /// with 32-bit integers. Its bias is below n / 2^32.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        uniform_below(self.next_u32(), n)
    }

    /// Uniform f64 in [0, 1) with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        let hi = u64::from(self.next_u32()) << 21;
        let lo = u64::from(self.next_u32()) >> 11;
        (hi | lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal deviate (Box-Muller, one of the pair).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Map a random word onto `0..n` (multiply-shift); the shader uses the same formula.
#[inline(always)]
pub fn uniform_below(word: u32, n: u32) -> u32 {
    ((u64::from(word) * u64::from(n)) >> 32) as u32
}

/// Uniform f32 in [0, 1) from the top 24 bits of a word, exact on CPU and GPU.
#[inline(always)]
pub fn unit_f32(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors of Random123 (kat_vectors, philox4x32_10).
    #[test]
    fn matches_random123_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn sequence_is_reproducible_and_blockwise() {
        let rng = Philox::new(42);
        let mut a = rng.sequence(Stream::Connectivity.word(3), 17);
        let first: Vec<u32> = (0..10).map(|_| a.next_u32()).collect();
        let mut b = rng.sequence(Stream::Connectivity.word(3), 17);
        let again: Vec<u32> = (0..10).map(|_| b.next_u32()).collect();
        assert_eq!(first, again);
        assert_eq!(
            &first[4..8],
            &rng.words(Stream::Connectivity.word(3), 17, 1)
        );
    }

    #[test]
    fn uniform_below_stays_in_range_and_covers_it() {
        let mut s = Philox::new(7).sequence(1, 0);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            let x = s.below(10);
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        assert_eq!(uniform_below(u32::MAX, 10), 9);
        assert_eq!(uniform_below(0, 10), 0);
    }

    #[test]
    fn normal_deviates_have_unit_variance() {
        let mut s = Philox::new(1).sequence(9, 9);
        let xs: Vec<f64> = (0..20_000).map(|_| s.next_normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.04, "variance {var}");
    }
}
