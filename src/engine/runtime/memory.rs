//! The engine-wide memory budget for large allocations made by tasks (image decodes): each
//! states what it will allocate before it starts, and runs only while the sum of what running
//! tasks hold fits the budget. Two 150-megapixel panoramas on two workers run one after the
//! other; small photos, each far below the budget, never wait.
//!
//! The default budget is a share of the memory the machine has available when the engine
//! starts ([`default_budget_bytes`]); a front end sets another (`--memory MB`, the window's
//! setting) with [`MemoryBudget::set_limit_bytes`]. A task whose need exceeds the whole budget
//! is refused by the caller with the figures (it could never run).
//!
//! Owns: [`MemoryBudget`] and [`Reservation`]. Must not touch: what a task allocates (the kind
//! estimates it), job state (a waiting task checks its own stop flag).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::lock;

/// The smallest budget the default gives, even on a machine short of memory.
pub const MIN_DEFAULT_BUDGET_BYTES: u64 = 512 << 20;
/// The share of the available memory the default budget takes: one half.
const DEFAULT_SHARE_DIVISOR: u64 = 2;
/// The budget when the available memory cannot be read.
const FALLBACK_BUDGET_BYTES: u64 = 2 << 30;
/// How often a waiting task looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// A share of the memory available now (Linux `MemAvailable`), at least
/// [`MIN_DEFAULT_BUDGET_BYTES`].
pub fn default_budget_bytes() -> u64 {
    available_memory_bytes()
        .map(|b| (b / DEFAULT_SHARE_DIVISOR).max(MIN_DEFAULT_BUDGET_BYTES))
        .unwrap_or(FALLBACK_BUDGET_BYTES)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[derive(Debug)]
struct Budget {
    limit_bytes: u64,
    held_bytes: u64,
    /// The most held at once since the budget was made.
    peak_bytes: u64,
    /// Reservations held now.
    holders: usize,
}

/// How much the running tasks may hold together, and how much they hold.
#[derive(Debug)]
pub struct MemoryBudget {
    budget: Mutex<Budget>,
    freed: Condvar,
}

/// Why a reservation was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReserved {
    /// The need alone exceeds the whole budget: it can never run.
    OverBudget {
        /// What was asked for, in bytes.
        need_bytes: u64,
        /// The whole budget, in bytes.
        budget_bytes: u64,
    },
    /// The task was asked to stop while it waited.
    Stopped,
}

impl MemoryBudget {
    /// A budget of `limit_bytes`.
    pub fn new(limit_bytes: u64) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            budget: Mutex::new(Budget {
                limit_bytes: limit_bytes.max(1),
                held_bytes: 0,
                peak_bytes: 0,
                holders: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// The whole budget, in bytes.
    pub fn limit_bytes(&self) -> u64 {
        lock(&self.budget).limit_bytes
    }

    /// What reservations hold now, in bytes.
    pub fn held_bytes(&self) -> u64 {
        lock(&self.budget).held_bytes
    }

    /// The most reservations held at once so far, in bytes.
    pub fn peak_bytes(&self) -> u64 {
        lock(&self.budget).peak_bytes
    }

    /// Sets the whole budget (tasks already running keep what they hold; waiting ones look
    /// again).
    pub fn set_limit_bytes(&self, limit_bytes: u64) {
        lock(&self.budget).limit_bytes = limit_bytes.max(1);
        self.freed.notify_all();
    }

    /// Reserves `need_bytes`, waiting while the tasks running hold too much for it to fit (a
    /// task that is alone always runs when its need fits the whole budget). `stop` is asked
    /// while waiting; when it says stop, nothing is reserved. The reservation is given back when
    /// dropped.
    pub fn reserve(
        self: &Arc<Self>,
        need_bytes: u64,
        stop: impl Fn() -> bool,
    ) -> Result<Reservation, NotReserved> {
        let mut budget = lock(&self.budget);
        loop {
            if need_bytes > budget.limit_bytes {
                return Err(NotReserved::OverBudget {
                    need_bytes,
                    budget_bytes: budget.limit_bytes,
                });
            }
            if budget.holders == 0 || budget.held_bytes + need_bytes <= budget.limit_bytes {
                budget.held_bytes += need_bytes;
                budget.peak_bytes = budget.peak_bytes.max(budget.held_bytes);
                budget.holders += 1;
                return Ok(Reservation {
                    budget: Arc::clone(self),
                    bytes: need_bytes,
                });
            }
            if stop() {
                return Err(NotReserved::Stopped);
            }
            budget = self
                .freed
                .wait_timeout(budget, STOP_POLL)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// Memory reserved in a [`MemoryBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Reservation {
    /// What this reservation holds, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut budget = lock(&self.budget.budget);
        budget.held_bytes = budget.held_bytes.saturating_sub(self.bytes);
        budget.holders = budget.holders.saturating_sub(1);
        drop(budget);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    #[test]
    fn reservations_that_do_not_fit_together_run_one_after_the_other() {
        let budget = MemoryBudget::new(100);
        let first = budget.reserve(70, || false).unwrap();
        let running_max = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let waiter = {
            let budget = Arc::clone(&budget);
            let running_max = Arc::clone(&running_max);
            let done = Arc::clone(&done);
            std::thread::Builder::new()
                .name("budget-test".into())
                .spawn(move || {
                    let second = budget.reserve(70, || false).unwrap();
                    running_max.fetch_max(budget.held_bytes(), Ordering::SeqCst);
                    done.store(true, Ordering::SeqCst);
                    drop(second);
                })
                .unwrap()
        };
        // Small ones still fit beside the first.
        let small = budget.reserve(30, || false).unwrap();
        assert_eq!(budget.held_bytes(), 100);
        assert!(!done.load(Ordering::SeqCst), "70 + 70 never run together");
        drop(small);
        drop(first);
        waiter.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(running_max.load(Ordering::SeqCst), 70);
        assert_eq!(budget.held_bytes(), 0);
        assert_eq!(budget.peak_bytes(), 100);
    }

    #[test]
    fn a_need_over_the_whole_budget_is_refused_with_its_figures() {
        let budget = MemoryBudget::new(100);
        assert_eq!(
            budget.reserve(101, || false).unwrap_err(),
            NotReserved::OverBudget {
                need_bytes: 101,
                budget_bytes: 100
            }
        );
        // Alone, a need that fits the budget runs.
        assert_eq!(budget.reserve(100, || false).unwrap().bytes(), 100);
    }

    #[test]
    fn a_waiting_task_that_is_stopped_reserves_nothing() {
        let budget = MemoryBudget::new(100);
        let held = budget.reserve(80, || false).unwrap();
        assert_eq!(
            budget.reserve(50, || true).unwrap_err(),
            NotReserved::Stopped
        );
        assert_eq!(budget.held_bytes(), 80);
        drop(held);
        budget.set_limit_bytes(10);
        assert!(matches!(
            budget.reserve(50, || false),
            Err(NotReserved::OverBudget { .. })
        ));
    }

    #[test]
    fn the_default_is_a_share_of_what_the_machine_has() {
        let bytes = default_budget_bytes();
        assert!(bytes >= MIN_DEFAULT_BUDGET_BYTES);
        if let Some(available) = available_memory_bytes() {
            assert!(bytes <= available.max(MIN_DEFAULT_BUDGET_BYTES));
        }
    }
}
