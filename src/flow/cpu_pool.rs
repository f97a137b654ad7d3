//! A small pool of threads for CPU-bound work (RSA verification and signing, parsing inbound
//! XML), so that it never stalls the async executor, without `spawn_blocking`'s thread churn:
//! the threads are started once and sleep on a channel between jobs.
//!
//! The queue is bounded: beyond [`CpuPool::max_waiting`] jobs waiting, new work is refused at
//! once ([`PoolError::Busy`], a 503 for the client) instead of piling up behind a flood, so the
//! wait of an admitted job stays short. A job whose caller has gone (the client disconnected and
//! its request future was dropped) is skipped when its turn comes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Jobs allowed to wait per thread. A job takes 0.05 ms (verification) to 1 ms (signing a
/// response with RSA-4096), so a full queue is at most a few tens of milliseconds of work.
pub const WAITING_PER_THREAD: usize = 32;

/// Why work did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: shed the request.
    #[error("CPU pool saturated")]
    Busy,
    /// The pool is gone (shutting down).
    #[error("CPU pool stopped")]
    Stopped,
}

/// Fixed threads fed by one bounded queue. Dropping the pool lets the threads finish and exit.
pub struct CpuPool {
    queue: Mutex<Sender<Job>>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

impl CpuPool {
    /// A pool with `threads` threads (at least one) and at most `max_waiting` queued jobs.
    pub fn new(threads: usize, max_waiting: usize) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("sso-cpu-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Self {
            queue: Mutex::new(tx),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: max_waiting.max(1),
        })
    }

    /// A pool with one thread per CPU and [`WAITING_PER_THREAD`] queued jobs per thread.
    pub fn per_cpu() -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(threads, threads * WAITING_PER_THREAD)
    }

    /// Most jobs that may wait for a thread.
    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Jobs waiting for a thread now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `work` on the pool and waits for it without blocking the executor; refuses at once
    /// when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolError::Busy);
        }
        self.enqueue(work).await
    }

    /// Runs `work` even when the queue is full: for the second half of a request that was
    /// admitted already (signing the answer to a request whose ID is now used up). Shedding it
    /// would only turn a retry into a replay; its count was bounded when it was admitted.
    pub async fn run_admitted<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.enqueue(work).await
    }

    /// Queues `work`, already counted in `waiting`, and waits for its result.
    async fn enqueue<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let waiting = Arc::clone(&self.waiting);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            waiting.fetch_sub(1, Ordering::AcqRel);
            // Nobody waits for the answer any more: spend nothing on it.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work());
        });
        let sent = match self.queue.lock() {
            Ok(queue) => queue.send(job).map_err(drop),
            Err(_) => Err(()),
        };
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolError::Stopped);
        }
        result.await.map_err(|_| PoolError::Stopped)
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
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    #[tokio::test]
    async fn runs_jobs_and_returns_results() {
        let pool = CpuPool::new(2, 8).unwrap();
        let mut out = Vec::new();
        for i in 0..8u64 {
            out.push(pool.run(move || i * i).await.unwrap());
        }
        assert_eq!(out, vec![0, 1, 4, 9, 16, 25, 36, 49]);
        assert_eq!(pool.waiting(), 0);
    }

    /// Occupies the pool's only thread until the returned flag is set; returns once the thread
    /// is busy.
    async fn block_the_thread(pool: &Arc<CpuPool>) -> Arc<AtomicBool> {
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (r, s) = (Arc::clone(&release), Arc::clone(&started));
        let p = Arc::clone(pool);
        tokio::spawn(async move {
            p.run(move || {
                s.store(true, Ordering::Release);
                while !r.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .await
        });
        until(|| started.load(Ordering::Acquire)).await;
        release
    }

    async fn until(cond: impl Fn() -> bool) {
        for _ in 0..2000 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_sheds_at_once() {
        let pool = Arc::new(CpuPool::new(1, 2).unwrap());
        let release = block_the_thread(&pool).await;
        let queued: Vec<_> = (0..2u32)
            .map(|i| {
                let p = Arc::clone(&pool);
                tokio::spawn(async move { p.run(move || i).await })
            })
            .collect();
        until(|| pool.waiting() == 2).await;
        assert_eq!(pool.run(|| 7).await, Err(PoolError::Busy));
        // The second half of an admitted request is never shed.
        let p = Arc::clone(&pool);
        let admitted = tokio::spawn(async move { p.run_admitted(|| 8).await });
        until(|| pool.waiting() == 3).await;
        release.store(true, Ordering::Release);
        assert_eq!(admitted.await.unwrap(), Ok(8));
        for (i, q) in queued.into_iter().enumerate() {
            assert_eq!(q.await.unwrap(), Ok(i as u32));
        }
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_whose_caller_left_is_skipped() {
        let pool = Arc::new(CpuPool::new(1, 4).unwrap());
        let release = block_the_thread(&pool).await;
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let p = Arc::clone(&pool);
        let gone =
            tokio::spawn(async move { p.run(move || r.store(true, Ordering::Release)).await });
        until(|| pool.waiting() == 1).await;
        gone.abort();
        let _ = gone.await;
        release.store(true, Ordering::Release);
        // A later job runs after the skipped one, so the skip has happened by then.
        assert_eq!(pool.run(|| 1).await, Ok(1));
        assert!(!ran.load(Ordering::Acquire), "work of a gone caller ran");
    }
}
