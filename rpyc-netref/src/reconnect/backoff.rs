//! The delays between reconnection attempts: exponential, capped, with jitter (so clients that
//! lost the same server do not all come back at the same instant). The jitter's randomness is
//! a small xorshift generator seeded per client: no dependency, no cryptographic claim.

use std::time::Duration;

/// Delays between failed connection attempts ([`crate::Reconnecting::backoff`]).
///
/// After a connection is lost the first attempt is immediate; after `n` failed attempts in a
/// row the next waits `min × factor^(n-1)`, at most `max`, of which a random share up to
/// `jitter` is taken off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay after the first failure. Default 100 ms.
    pub min: Duration,
    /// The longest delay. Default 30 s.
    pub max: Duration,
    /// How much each further failure multiplies the delay (at least 1). Default 2.
    pub factor: f64,
    /// The share of each delay taken off at random, from 0 (none) to 1 (anything from zero to
    /// the whole delay). Default 0.5.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after `failures` failed ones in a row (none: none),
    /// jittered with `rng`.
    pub(super) fn delay(&self, failures: u32, rng: &mut XorShift) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let exp = i32::try_from(failures - 1).unwrap_or(i32::MAX).min(1000);
        let full = self.min.as_secs_f64() * self.factor.max(1.0).powi(exp);
        let full = full.min(self.max.as_secs_f64()).max(0.0);
        let jitter = self.jitter.clamp(0.0, 1.0);
        Duration::from_secs_f64(full * (1.0 - jitter * rng.next_f64()))
    }
}

/// xorshift64*: a tiny pseudo-random generator for the jitter.
#[derive(Debug)]
pub(super) struct XorShift(u64);

impl XorShift {
    /// Seeded from the clock and a per-process counter (two clients never share a sequence).
    pub(super) fn seeded() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mix = COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        XorShift((nanos ^ mix) | 1)
    }

    /// A number in `[0, 1)`.
    pub(super) fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_the_factor_up_to_the_cap_and_jitter_only_shortens_them() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
            factor: 3.0,
            jitter: 0.0,
        };
        let mut rng = XorShift::seeded();
        let ms = |n| b.delay(n, &mut XorShift::seeded()).as_millis();
        assert_eq!(
            [ms(0), ms(1), ms(2), ms(3), ms(4), ms(40)],
            [0, 100, 300, 900, 1000, 1000]
        );
        let j = Backoff { jitter: 0.5, ..b };
        for n in 1..50 {
            let d = j.delay(n, &mut rng);
            let full = b.delay(n, &mut rng);
            assert!(d <= full && d >= full / 2, "{d:?} vs {full:?}");
        }
        // Two draws in a row differ (the generator moves).
        let (x, y) = (rng.next_f64(), rng.next_f64());
        assert!(x != y && (0.0..1.0).contains(&x) && (0.0..1.0).contains(&y));
    }
}
