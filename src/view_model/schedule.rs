//! Bookkeeping that keeps typing independent of inference: a debounce token, and a scheduler
//! that runs at most one forward at a time, always the newest text next, and tells the caller
//! whether a finished result still belongs to the newest request (else it is dropped).

/// Debounce: every keystroke bumps the token; a timer fires only if its token is still current.
#[derive(Debug, Default, Clone)]
pub struct Debounce {
    token: u64,
}

impl Debounce {
    pub fn bump(&mut self) -> u64 {
        self.token += 1;
        self.token
    }
    pub fn is_current(&self, token: u64) -> bool {
        token == self.token
    }
}

/// A request to run: its generation and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub generation: u64,
    pub text: String,
}

/// One-in-flight scheduler with "latest wins" semantics.
#[derive(Debug, Default)]
pub struct Scheduler {
    latest: u64,
    running: bool,
    pending: Option<Job>,
}

impl Scheduler {
    /// Queues `text`, replacing any queued request that has not started. Returns its generation.
    pub fn submit(&mut self, text: impl Into<String>) -> u64 {
        self.latest += 1;
        self.pending = Some(Job { generation: self.latest, text: text.into() });
        self.latest
    }

    /// The job to start now, if nothing is running and something is queued.
    pub fn start(&mut self) -> Option<Job> {
        if self.running {
            return None;
        }
        let job = self.pending.take()?;
        self.running = true;
        Some(job)
    }

    /// Marks the running job finished. `true` if its result is for the newest request and may be
    /// shown; `false` if newer text arrived meanwhile (that job is then queued or will be).
    pub fn finish(&mut self, generation: u64) -> bool {
        self.running = false;
        generation == self.latest
    }

    /// Forgets queued work and makes any running job's result stale (e.g. a new model loads).
    pub fn invalidate(&mut self) {
        self.latest += 1;
        self.pending = None;
    }

    #[cfg(test)]
    pub fn is_running(&self) -> bool {
        self.running
    }

    #[cfg(test)]
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debounce_keeps_only_the_last_token() {
        let mut d = Debounce::default();
        let a = d.bump();
        let b = d.bump();
        assert!(!d.is_current(a));
        assert!(d.is_current(b));
    }

    #[test]
    fn one_in_flight_and_latest_wins() {
        let mut s = Scheduler::default();
        let g1 = s.submit("a [MASK]");
        let job = s.start().unwrap();
        assert_eq!(job, Job { generation: g1, text: "a [MASK]".into() });
        assert!(s.is_running());
        // While it runs, two more edits arrive: only the last is kept, nothing else starts.
        s.submit("ab [MASK]");
        let g3 = s.submit("abc [MASK]");
        assert_eq!(s.start(), None);
        // The first result is stale.
        assert!(!s.finish(g1));
        let job = s.start().unwrap();
        assert_eq!(job.generation, g3);
        assert_eq!(job.text, "abc [MASK]");
        assert!(s.finish(g3));
        assert_eq!(s.start(), None);
    }

    #[test]
    fn invalidate_drops_queue_and_running_result() {
        let mut s = Scheduler::default();
        let g = s.submit("x [MASK]");
        s.start().unwrap();
        s.submit("y [MASK]");
        s.invalidate();
        assert!(!s.has_pending());
        assert!(!s.finish(g));
        assert_eq!(s.start(), None);
    }
}
