//! The delays between reconnection attempts: exponential, capped, with jitter (so clients that
//! lost the same server do not all come back at the same instant). The jitter's randomness is
//! std's own: the keys of a fresh `RandomState` (random per process, different at every call),
//! so there is no generator of ours to seed or keep.

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
    /// of which the share `jitter × draw` is taken off (`draw` in `[0, 1)`, see
    /// [`random_unit`]).
    pub(super) fn delay(&self, failures: u32, draw: f64) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let exp = i32::try_from(failures - 1).unwrap_or(i32::MAX).min(1000);
        let full = self.min.as_secs_f64() * self.factor.max(1.0).powi(exp);
        let full = full.min(self.max.as_secs_f64()).max(0.0);
        let jitter = self.jitter.clamp(0.0, 1.0);
        Duration::from_secs_f64(full * (1.0 - jitter * draw))
    }
}

/// A number in `[0, 1)`, different at every call.
pub(super) fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(());
    (bits >> 11) as f64 / (1u64 << 53) as f64
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
        let ms = |n| b.delay(n, random_unit()).as_millis();
        assert_eq!(
            [ms(0), ms(1), ms(2), ms(3), ms(4), ms(40)],
            [0, 100, 300, 900, 1000, 1000]
        );
        let j = Backoff { jitter: 0.5, ..b };
        for n in 1..50 {
            let d = j.delay(n, random_unit());
            let full = b.delay(n, random_unit());
            assert!(d <= full && d >= full / 2, "{d:?} vs {full:?}");
        }
        assert_eq!(j.delay(3, 0.0), b.delay(3, 0.0), "no draw, no jitter");
        // Two draws in a row differ.
        let (x, y) = (random_unit(), random_unit());
        assert!(x != y && (0.0..1.0).contains(&x) && (0.0..1.0).contains(&y));
    }
}
