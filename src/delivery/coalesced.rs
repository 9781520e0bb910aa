//! Reads by primary key that arrive together share one query. A batch of claimed
//! deliveries is sent side by side, and each needs a row before its request can go out
//! (its tenant's key, its assessment's start request): read one by one, that was a round
//! trip per delivery, as many as the claim and the record of the whole batch together.
//!
//! Nothing is cached: every answer was read after it was asked for, exactly as a read of
//! its own would be. Whatever is asked while a query runs waits for it to return, then
//! goes in the next query together.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

/// The most keys one query asks for.
const MAX_KEYS: usize = 256;

type Answer<V> = Result<Option<V>, DbErr>;

/// Reads of `V` by `K`, coalesced. Cheap to clone; the task that reads ends when the last
/// clone is dropped.
pub struct CoalescedReads<K, V> {
    queue: mpsc::UnboundedSender<(K, oneshot::Sender<Answer<V>>)>,
}

impl<K, V> Clone for CoalescedReads<K, V> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<K, V> CoalescedReads<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// `read_many` reads the rows of the keys it is given (those it does not return do
    /// not exist). Spawns the reading task on the current tokio runtime.
    pub fn new<F, Fut>(read_many: F) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, DbErr>> + Send + 'static,
    {
        let (queue, asked) = mpsc::unbounded_channel();
        tokio::spawn(answer_all(read_many, asked));
        Self { queue }
    }

    /// The row of `key`, read after this call began; `None` when there is none.
    ///
    /// # Errors
    /// The database's error for the query this read went in (each reader gets its text).
    pub async fn get(&self, key: K) -> Answer<V> {
        let stopped = || DbErr::Custom("the coalesced reader stopped".into());
        let (reply, answer) = oneshot::channel();
        self.queue.send((key, reply)).map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

async fn answer_all<K, V, F, Fut>(
    read_many: F,
    mut asked: mpsc::UnboundedReceiver<(K, oneshot::Sender<Answer<V>>)>,
) where
    K: Clone + Eq + Hash,
    V: Clone,
    F: Fn(Vec<K>) -> Fut,
    Fut: Future<Output = Result<HashMap<K, V>, DbErr>>,
{
    let mut waiting = Vec::new();
    while asked.recv_many(&mut waiting, MAX_KEYS).await > 0 {
        let mut keys: Vec<K> = Vec::with_capacity(waiting.len());
        for (key, _) in &waiting {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        match read_many(keys).await {
            Ok(rows) => {
                for (key, reply) in waiting.drain(..) {
                    // The asker may be gone (its send was cancelled).
                    let _ = reply.send(Ok(rows.get(&key).cloned()));
                }
            }
            Err(error) => {
                let text = error.to_string();
                for (_, reply) in waiting.drain(..) {
                    let _ = reply.send(Err(DbErr::Custom(text.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A reader over `0..10` (key n has the row n * 10) that logs every query's keys.
    fn reader(log: Arc<Mutex<Vec<Vec<u32>>>>) -> CoalescedReads<u32, u32> {
        CoalescedReads::new(move |keys: Vec<u32>| {
            let log = Arc::clone(&log);
            async move {
                log.lock().unwrap().push(keys.clone());
                if keys.contains(&99) {
                    return Err(DbErr::Custom("no such table".into()));
                }
                Ok(keys
                    .into_iter()
                    .filter(|key| *key < 10)
                    .map(|key| (key, key * 10))
                    .collect())
            }
        })
    }

    #[tokio::test]
    async fn reads_asked_together_share_one_query_and_each_gets_its_own_row() {
        let log = Arc::default();
        let reads = reader(Arc::clone(&log));
        // On this one-threaded runtime the reading task runs only once all are asked.
        let answers = tokio::join!(reads.get(3), reads.get(5), reads.get(3), reads.get(42));
        let answers = [answers.0, answers.1, answers.2, answers.3].map(Result::unwrap);
        assert_eq!(answers, [Some(30), Some(50), Some(30), None]);
        assert_eq!(
            *log.lock().unwrap(),
            [vec![3, 5, 42]],
            "one query, each key once"
        );
    }

    #[tokio::test]
    async fn a_failed_query_fails_every_read_in_it_and_the_next_query_is_fresh() {
        let log = Arc::default();
        let reads = reader(Arc::clone(&log));
        let (one, other) = tokio::join!(reads.get(1), reads.get(99));
        for answer in [one, other] {
            let error = answer.unwrap_err().to_string();
            assert!(error.contains("no such table"), "{error}");
        }
        assert_eq!(reads.get(1).await.unwrap(), Some(10));
        assert_eq!(*log.lock().unwrap(), [vec![1, 99], vec![1]]);
    }
}
