//! A small pool of threads for CPU-bound work (RSA signing, ~0.25 ms a response), so that a
//! signature never stalls the async executor, without `spawn_blocking`'s thread churn: the
//! threads are started once and sleep on a channel between jobs.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Fixed threads fed by one queue. Dropping the pool lets the threads finish and exit.
pub struct CpuPool {
    queue: Mutex<Sender<Job>>,
}

impl CpuPool {
    /// A pool with `threads` threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("sso-sign-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Self {
            queue: Mutex::new(tx),
        })
    }

    /// A pool with one thread per CPU.
    pub fn per_cpu() -> std::io::Result<Self> {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `work` on the pool and waits for it without blocking the executor. `None` if the
    /// pool is gone (shutting down).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.queue.lock().ok()?.send(job).ok()?;
        result.await.ok()
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        // Hold the lock only to take the next job, never while running it.
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking job must not take the thread with it (its caller sees "stopped").
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_returns_results() {
        let pool = CpuPool::new(2).unwrap();
        let results = futures_join(&pool).await;
        assert_eq!(results, vec![0, 1, 4, 9, 16, 25, 36, 49]);
    }

    async fn futures_join(pool: &CpuPool) -> Vec<u64> {
        let mut out = Vec::new();
        for i in 0..8u64 {
            out.push(pool.run(move || i * i).await.unwrap());
        }
        out
    }
}
