//! Thresholds: N consecutive failures open an alert, M consecutive
//! successes resolve it, so a flapping check does not page on every blip.

use super::ProbeResult;
use std::num::NonZeroU32;

/// What a result did to a check's alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The `fail_after`-th consecutive failure arrived while up.
    Open,
    /// The `recover_after`-th consecutive success arrived while down.
    Resolve,
}

/// A check's threshold state, fed results in the order they were taken.
///
/// It starts up (a new check has nothing to resolve). While up it counts
/// consecutive failures and opens exactly when the count reaches
/// `fail_after`; while down it counts consecutive successes and resolves
/// exactly when that count reaches `recover_after`. Any result of the
/// other kind resets the count, so alternating results never open with
/// `fail_after > 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    fail_after: NonZeroU32,
    recover_after: NonZeroU32,
    down: bool,
    /// Consecutive results pointing away from the current state.
    streak: u32,
}

impl Tracker {
    pub fn new(fail_after: NonZeroU32, recover_after: NonZeroU32) -> Self {
        Self {
            fail_after,
            recover_after,
            down: false,
            streak: 0,
        }
    }

    /// A tracker resumed in a known state (e.g. after a restart, from the
    /// store) with no streak counted.
    pub fn resumed(fail_after: NonZeroU32, recover_after: NonZeroU32, down: bool) -> Self {
        Self {
            down,
            ..Self::new(fail_after, recover_after)
        }
    }

    /// Whether an alert is open for this check.
    pub fn is_down(&self) -> bool {
        self.down
    }

    /// Feeds one result's verdict.
    pub fn observe(&mut self, ok: bool) -> Option<Transition> {
        // A result agreeing with the current state ends any streak.
        if ok != self.down {
            self.streak = 0;
            return None;
        }
        self.streak = self.streak.saturating_add(1);
        let (needed, transition) = if self.down {
            (self.recover_after, Transition::Resolve)
        } else {
            (self.fail_after, Transition::Open)
        };
        if self.streak >= needed.get() {
            self.down = !self.down;
            self.streak = 0;
            Some(transition)
        } else {
            None
        }
    }

    /// Feeds one probe's result.
    pub fn feed(&mut self, result: &ProbeResult) -> Option<Transition> {
        self.observe(result.ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
    }

    fn run(n: u32, m: u32, results: &[bool]) -> Vec<Option<Transition>> {
        let mut t = Tracker::new(nz(n), nz(m));
        results.iter().map(|ok| t.observe(*ok)).collect()
    }

    #[test]
    fn opens_on_the_nth_consecutive_failure() {
        use Transition::*;
        assert_eq!(
            run(3, 2, &[false, false, false, false]),
            vec![None, None, Some(Open), None]
        );
        assert_eq!(run(1, 1, &[false, true]), vec![Some(Open), Some(Resolve)]);
    }

    #[test]
    fn resolves_on_the_mth_consecutive_success() {
        use Transition::*;
        assert_eq!(
            run(1, 3, &[false, true, true, false, true, true, true, true]),
            vec![
                Some(Open),
                None,
                None,
                None,
                None,
                None,
                Some(Resolve),
                None
            ]
        );
    }

    #[test]
    fn flapping_never_opens_with_n_above_one() {
        let flaps: Vec<bool> = (0..100).map(|i| i % 2 == 0).collect();
        assert!(run(2, 1, &flaps).iter().all(Option::is_none));
    }

    #[test]
    fn resumed_down_resolves() {
        let mut t = Tracker::resumed(nz(2), nz(1), true);
        assert!(t.is_down());
        assert_eq!(t.observe(true), Some(Transition::Resolve));
    }

    /// The reference model: the state before each result, computed from
    /// the trailing runs of the whole history.
    fn trailing(results: &[bool], ok: bool) -> usize {
        results.iter().rev().take_while(|r| **r == ok).count()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn transitions_alternate_and_follow_runs(
            n in 1u32..5, m in 1u32..5,
            results in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let mut t = Tracker::new(nz(n), nz(m));
            let mut last: Option<Transition> = None;
            let mut down = false;
            for (i, ok) in results.iter().enumerate() {
                let got = t.observe(*ok);
                let seen = &results[..=i];
                match got {
                    Some(Transition::Open) => {
                        // Never opens twice without a resolve in between.
                        prop_assert_ne!(last, Some(Transition::Open));
                        prop_assert!(!down);
                        // Opens only at the end of a run of at least N failures…
                        prop_assert!(!ok);
                        prop_assert!(trailing(seen, false) >= n as usize);
                        down = true;
                        last = got;
                    }
                    Some(Transition::Resolve) => {
                        prop_assert_eq!(last, Some(Transition::Open));
                        prop_assert!(*ok);
                        prop_assert!(trailing(seen, true) >= m as usize);
                        down = false;
                        last = got;
                    }
                    None => {
                        // …and never misses one: while up, a run of exactly N
                        // failures opens; while down, M successes resolve.
                        if !down {
                            prop_assert!(*ok || trailing(seen, false) < n as usize);
                        } else {
                            prop_assert!(!*ok || trailing(seen, true) < m as usize);
                        }
                    }
                }
                prop_assert_eq!(t.is_down(), down);
            }
        }

        #[test]
        fn up_opens_iff_a_run_of_n_failures(
            n in 1u32..6,
            results in proptest::collection::vec(any::<bool>(), 0..100),
        ) {
            // With M larger than the history, the first Open is the only
            // transition: it happens iff some run of N failures exists, at
            // the end of the first such run.
            let got = run(n, 1000, &results);
            let opens: Vec<usize> = got.iter().enumerate()
                .filter(|(_, t)| **t == Some(Transition::Open)).map(|(i, _)| i).collect();
            let first_run_end = (0..results.len())
                .find(|&i| trailing(&results[..=i], false) == n as usize);
            prop_assert_eq!(opens.first().copied(), first_run_end);
            prop_assert!(opens.len() <= 1);
        }
    }
}
