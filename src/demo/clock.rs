//! Pacing a simulation against the wall clock, `slowdown` times slower than real time.

use std::time::{Duration, Instant};

/// Slowest and fastest pace a page may ask for (times slower than real time).
pub const SLOWDOWN_RANGE: (f64, f64) = (1.0, 1000.0);

/// How far a simulation may fall behind its schedule before the schedule moves instead [ms of
/// wall time]: after a stall (a suspended laptop, a slow machine) it continues from where it is
/// rather than racing to catch up.
const MAX_LAG: Duration = Duration::from_millis(250);

/// Maps wall-clock time to the step a simulation should have reached.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    slowdown: f64,
    dt_ms: f64,
    /// Wall time at which the simulation was at `anchor_steps`.
    anchor: Instant,
    anchor_steps: u64,
}

impl Clock {
    pub fn new(slowdown: f64, dt_ms: f64, now: Instant, steps_done: u64) -> Clock {
        Clock {
            slowdown,
            dt_ms,
            anchor: now,
            anchor_steps: steps_done,
        }
    }

    pub fn slowdown(&self) -> f64 {
        self.slowdown
    }

    /// Changes the pace from now on, without a jump.
    pub fn set_slowdown(&mut self, slowdown: f64, now: Instant, steps_done: u64) {
        *self = Clock::new(slowdown, self.dt_ms, now, steps_done);
    }

    /// Restarts the schedule at `steps_done` (after a pause).
    pub fn restart(&mut self, now: Instant, steps_done: u64) {
        self.set_slowdown(self.slowdown, now, steps_done);
    }

    /// Steps to simulate now to be on schedule, given `steps_done`. A simulation that has
    /// fallen more than [`MAX_LAG`] behind is re-anchored and takes the steps of one lag.
    pub fn steps_due(&mut self, now: Instant, steps_done: u64) -> u64 {
        let elapsed_ms = now.saturating_duration_since(self.anchor).as_secs_f64() * 1e3;
        let target = self.anchor_steps + (elapsed_ms / self.slowdown / self.dt_ms) as u64;
        let due = target.saturating_sub(steps_done);
        let max_due = (MAX_LAG.as_secs_f64() * 1e3 / self.slowdown / self.dt_ms).ceil() as u64;
        if due > max_due {
            self.restart(now, steps_done + max_due);
            return max_due;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_the_wall_clock_slowed_down() {
        let t0 = Instant::now();
        let mut clock = Clock::new(100.0, 0.1, t0, 0);
        // 100 ms of wall time at 100x slower: 1 ms simulated, 10 steps.
        assert_eq!(clock.steps_due(t0 + Duration::from_millis(100), 0), 10);
        assert_eq!(clock.steps_due(t0 + Duration::from_millis(100), 10), 0);
        clock.set_slowdown(10.0, t0 + Duration::from_millis(100), 10);
        assert_eq!(clock.steps_due(t0 + Duration::from_millis(200), 10), 100);
    }

    #[test]
    fn a_stalled_simulation_does_not_race_to_catch_up() {
        let t0 = Instant::now();
        let mut clock = Clock::new(1.0, 0.1, t0, 0);
        let late = t0 + Duration::from_secs(60);
        assert_eq!(clock.steps_due(late, 0), 2500);
        assert_eq!(clock.steps_due(late, 2500), 0);
        assert_eq!(clock.steps_due(late + Duration::from_millis(1), 2500), 10);
    }
}
