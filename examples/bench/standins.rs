//! The two endpoints the server sends to, played on loopback: Ashby (`assessment.update`),
//! which can be switched to answer 503, and the vendor's webhook receiver. Each counts
//! what it answered, and notes when the last success arrived, so the bench can wait for a
//! count and time a single delivery to the moment it was received.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use tokio::sync::watch;

/// What a stand-in has answered so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub ok: usize,
    pub refused: usize,
    /// When the latest success was answered.
    pub last_ok_at: Option<Instant>,
}

/// A running stand-in: its URL, its switch and its tally.
pub struct StandIn {
    pub url: String,
    healthy: Arc<AtomicBool>,
    tally: watch::Receiver<Tally>,
    handle: ServerHandle,
}

struct Shared {
    healthy: Arc<AtomicBool>,
    tally: watch::Sender<Tally>,
}

impl StandIn {
    /// Ashby: `POST /assessment.update` answers Ashby's success envelope, or 503 while
    /// switched off. One worker thread: it only counts.
    pub fn ashby() -> Self {
        Self::start("/assessment.update", || {
            HttpResponse::Ok().json(json!({"success": true, "results": {}}))
        })
    }

    /// The vendor's webhook receiver: `POST /webhooks` answers 204.
    pub fn vendor_webhooks() -> Self {
        let mut stand_in = Self::start("/webhooks", || HttpResponse::NoContent().finish());
        stand_in.url.push_str("/webhooks");
        stand_in
    }

    fn start(path: &'static str, answer: fn() -> HttpResponse) -> Self {
        let healthy = Arc::new(AtomicBool::new(true));
        let (sender, tally) = watch::channel(Tally::default());
        let shared = web::Data::new(Shared {
            healthy: Arc::clone(&healthy),
            tally: sender,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a stand-in");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("stand-in address")
        );
        let server = HttpServer::new(move || {
            App::new().app_data(shared.clone()).route(
                path,
                // The body is read, as any server does: actix closes a connection whose
                // request body was left unread, and every delivery then paid for a new
                // TCP connection (a connect per delivery, which Ashby does not cause).
                web::post().to(
                    move |shared: web::Data<Shared>, _body: web::Bytes| async move {
                        if shared.healthy.load(Ordering::Relaxed) {
                            let at = Instant::now();
                            shared.tally.send_modify(|t| {
                                t.ok += 1;
                                t.last_ok_at = Some(at);
                            });
                            answer()
                        } else {
                            shared.tally.send_modify(|t| t.refused += 1);
                            HttpResponse::ServiceUnavailable().finish()
                        }
                    },
                ),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("stand-in listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url,
            healthy,
            tally,
            handle,
        }
    }

    /// Answer successes (true) or 503 (false) from now on.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    pub fn tally(&self) -> Tally {
        *self.tally.borrow()
    }

    /// Waits until the tally satisfies `done`, at most `timeout`; returns the tally then.
    pub async fn wait_for(&self, timeout: Duration, done: impl Fn(&Tally) -> bool) -> Tally {
        let mut tally = self.tally.clone();
        match tokio::time::timeout(timeout, tally.wait_for(|t| done(t))).await {
            Ok(Ok(reached)) => *reached,
            _ => self.tally(),
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}
