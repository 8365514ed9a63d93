//! Seeded randomness for the simulated province, written here so that no `rand` version can change
//! a seed's meaning: a SplitMix64 generator for sequences (which river floods next) and a stateless
//! hash for noise, so that every simulated value is a pure function of (seed, station, time).

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for a simulation.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        to_unit(self.next_u64())
    }

    /// Uniform in `0..n`; `0` when `n` is `0`.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_f64() * n as f64) as usize % n
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijective avalanche of 64 bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes several words into one; order matters.
pub fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(GOLDEN_GAMMA, |acc, &p| {
        mix(acc ^ mix(p.wrapping_add(GOLDEN_GAMMA)))
    })
}

/// A stable hash of a string (FNV-1a), for mixing station keys into seeds.
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |acc, b| {
        (acc ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Uniform in `[0, 1)` from the hash of `parts`.
pub fn unit(parts: &[u64]) -> f64 {
    to_unit(hash(parts))
}

/// Smooth value noise in `[-1, 1]`: random knots every `period` seconds, cosine-interpolated, so a
/// signal wanders instead of jumping between samples.
pub fn smooth(stream: u64, t: f64, period: f64) -> f64 {
    let x = t / period;
    let k = x.floor();
    let frac = x - k;
    let knot = |i: f64| unit(&[stream, i as i64 as u64]) * 2.0 - 1.0;
    let w = (1.0 - (frac * std::f64::consts::PI).cos()) / 2.0;
    knot(k) * (1.0 - w) + knot(k + 1.0) * w
}

fn to_unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    #[test]
    fn units_and_noise_stay_in_range() {
        let mut r = SplitMix64::new(7);
        for i in 0..10_000 {
            let u = r.next_f64();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(5) < 5);
            let n = smooth(3, f64::from(i) * 7.3, 60.0);
            assert!((-1.0..=1.0).contains(&n), "{n}");
        }
    }

    #[test]
    fn noise_is_continuous() {
        let a = smooth(9, 1000.0, 60.0);
        let b = smooth(9, 1000.5, 60.0);
        assert!((a - b).abs() < 0.1);
    }
}
