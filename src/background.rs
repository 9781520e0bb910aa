//! The runtime the background work runs on — the delivery workers and housekeeping —
//! apart from the HTTP workers', with threads that yield the CPU to theirs.
//!
//! On a small machine both want every core during a burst of starts: each start queues a
//! webhook, and sending it (signing, HTTP, recording) competes with the next requests.
//! Ashby waits on those requests; a webhook can wait a few milliseconds more. So the
//! background threads run at a lower CPU priority (a higher nice value,
//! `server.background_nice`): when the cores are busy the kernel's scheduler gives the
//! request threads about ten times their share, and the background threads take whatever
//! is left; when the cores are idle, nothing changes. A priority only weighs the shares,
//! so a steady stream of requests slows the deliveries down but never stops them. A
//! request never schedules work on those threads itself: its wake goes through a relay
//! (see `DeliveryWaker`), so that it never waits for a lock a lower-priority thread holds.
//! BENCHMARKS.md has the measurements.

use std::io;

use sea_orm::DbBackend;

/// Thread names (at most 15 bytes: what Linux keeps of a thread's name).
pub const THREAD_NAME: &str = "background-work";

/// The nice value the background threads get on `backend`, given the setting.
///
/// PostgreSQL only. An SQLite connection runs on a thread of its own, started by whichever
/// thread opened the connection and inheriting its priority; a connection the delivery
/// workers happened to open would then serve the requests' queries at the lower priority
/// too. So on SQLite the background work keeps the requests' priority.
pub fn nice_for(backend: DbBackend, setting: u8) -> u8 {
    if backend == DbBackend::Postgres {
        setting
    } else {
        0
    }
}

/// Where the background work runs: at a `nice` above 0, a multi-threaded runtime of its
/// own, a thread per core, whose threads run at a nice value of at least `nice`; at 0, the
/// runtime that starts it, as if there were none. Threads of its own pay only when they
/// yield: measured on SQLite (where the priority stays), a separate runtime alone made the
/// drain and repeated starts 10–15% slower (BENCHMARKS.md).
///
/// Dropped, its own runtime stops without waiting for its tasks: it may be dropped from
/// async code (where a plain runtime's drop panics), such as a server future that is
/// dropped.
pub struct BackgroundRuntime {
    /// Its own runtime, if any; taken when dropped.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl BackgroundRuntime {
    /// # Errors
    /// The runtime's threads or I/O driver cannot be created; at 0, called outside a
    /// tokio runtime.
    pub fn start(nice: u8) -> io::Result<Self> {
        if nice == 0 {
            let here = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
            return Ok(Self {
                runtime: None,
                handle: here,
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name(THREAD_NAME)
            .on_thread_start(move || lower_this_threads_priority(nice))
            .enable_all()
            .build()?;
        Ok(Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Runs `task` on the background work's threads.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Raises the calling thread's nice value to `nice` (Linux keeps one per thread). A
/// failure only costs the priority, so it is logged, not returned.
fn lower_this_threads_priority(nice: u8) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let this_thread = Some(rustix::thread::gettid());
        // Lower only: a process started at a lower priority already stays out of the way.
        let lowered = rustix::process::getpriority_process(this_thread).and_then(|current| {
            if current >= i32::from(nice) {
                Ok(())
            } else {
                rustix::process::setpriority_process(this_thread, i32::from(nice))
            }
        });
        if let Err(error) = lowered {
            tracing::warn!(%error, nice, "cannot lower the background threads' priority; they compete with the requests");
        }
    }
    #[cfg(not(target_os = "linux"))]
    tracing::warn!(
        nice,
        "server.background_nice applies on Linux only; the background threads compete with the requests"
    );
}

/// The calling thread's nice value (tests).
///
/// # Errors
/// The kernel does not answer.
#[cfg(target_os = "linux")]
pub fn this_threads_nice() -> io::Result<i32> {
    Ok(rustix::process::getpriority_process(Some(
        rustix::thread::gettid(),
    ))?)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn above_0_the_work_runs_on_threads_of_its_own_at_the_nice_value() {
        let before = this_threads_nice().unwrap();
        let caller = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let where_it_runs = |nice: u8| {
            caller.block_on(async {
                let background = BackgroundRuntime::start(nice).unwrap();
                background
                    .spawn(async {
                        (
                            this_threads_nice().unwrap(),
                            std::thread::current().name().map(str::to_owned),
                        )
                    })
                    .await
                    .unwrap()
            })
        };
        let (nice, name) = where_it_runs(7);
        assert_eq!(nice, before.max(7), "a background thread's nice value");
        assert_eq!(name.as_deref(), Some(THREAD_NAME));
        assert_eq!(
            this_threads_nice().unwrap(),
            before,
            "the caller's is unchanged"
        );
        // At 0, on the caller's runtime (here, the caller's own thread).
        let (nice, name) = where_it_runs(0);
        assert_eq!(nice, before);
        assert_eq!(name, std::thread::current().name().map(str::to_owned));
    }

    #[test]
    fn only_postgresql_lowers_the_priority() {
        assert_eq!(nice_for(DbBackend::Postgres, 10), 10);
        assert_eq!(nice_for(DbBackend::Sqlite, 10), 0);
        assert_eq!(nice_for(DbBackend::Postgres, 0), 0);
    }
}
