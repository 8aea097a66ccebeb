//! One operation of a kind at a time (a join, a network test): starting another cancels the
//! one under way, and the window can cancel it.

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The cancellation token of the operation under way, if any.
#[derive(Default)]
pub struct Latest(Mutex<Option<CancellationToken>>);

impl Latest {
    /// A token for a new operation; the one under way, if any, is cancelled.
    pub fn start(&self) -> CancellationToken {
        let token = CancellationToken::new();
        let earlier = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(token.clone());
        if let Some(earlier) = earlier {
            earlier.cancel();
        }
        token
    }

    /// Cancels the operation under way, if any.
    pub fn cancel(&self) {
        let pending = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(pending) = pending {
            pending.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_start_cancels_the_one_under_way_and_cancel_the_last() {
        let latest = Latest::default();
        let first = latest.start();
        let second = latest.start();
        assert!(first.is_cancelled());
        assert!(!second.is_cancelled());
        latest.cancel();
        assert!(second.is_cancelled());
        latest.cancel();
    }
}
