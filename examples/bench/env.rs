//! The bench's world: the two stand-ins, the database, the real server (with its delivery
//! workers) in this process, one tenant with a partner key, and vendor API tokens; plus
//! [`Api`], the requests the phases send.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use ashby_partner::crypto::{issue_partner_key, random_secret_base64};
use ashby_partner::domain::ids::TenantId;
use ashby_partner::secrets::ServerSecrets;
use ashby_partner::settings::Settings;
use ashby_partner::startup::Application;
use ashby_partner::store::{self, tenants, vendor_tokens};
use ashby_partner::tokens::{Scope, TokenKeys};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, Statement};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::Plan;
use crate::standins::StandIn;

pub struct Bench {
    pub api: Api,
    /// The bench's own pool, of `database.max_connections` (bare transactions, seeding,
    /// the GET's read alone); on SQLite it is also the server's.
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub ashby: StandIn,
    pub webhooks: StandIn,
    handle: ServerHandle,
    /// The throwaway SQLite file's directory, removed at the end.
    sqlite_dir: Option<PathBuf>,
}

impl Bench {
    pub async fn start(plan: &Plan) -> Self {
        let ashby = StandIn::ashby();
        let webhooks = StandIn::vendor_webhooks();
        let mut settings = Settings::builtin().expect("built-in settings");
        settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        // Empty counts as unset: a throwaway SQLite file.
        let given = std::env::var("BENCH_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        let sqlite_dir = match given {
            Some(url) => {
                settings.database.url = url;
                None
            }
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "ashby-partner-bench-{}",
                    uuid::Uuid::new_v4().simple()
                ));
                settings.database.url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
                Some(dir)
            }
        };
        settings.security.encryption_key = Some(random_secret_base64().into());
        settings.security.token_secret = Some(random_secret_base64().into());
        settings.ashby.base_url.clone_from(&ashby.url);
        // Every start causes an assessment.started webhook, as in production.
        settings.vendor.webhook_url.clone_from(&webhooks.url);
        settings.vendor.webhook_secret = format!("whsec_{}", random_secret_base64()).into();
        // The bench measures the server, not the per-tenant rate limiter (one tenant, 32
        // clients would spend most of the run on 429s).
        settings.limits.partner_requests_per_second = 0;
        settings.limits.vendor_requests_per_second = 0;
        // The drain phase: a delivery Ashby refuses goes dead at once, and the whole
        // backlog is put back in line together when Ashby answers again (see phases.rs).
        settings.delivery.max_attempts = 1;
        if let Some(pool) = plan.pool {
            settings.database.max_connections = pool;
        }

        let secrets = ServerSecrets::resolve(&settings).expect("secrets");
        let db = store::connect(&settings.database)
            .await
            .expect("connect to the database");
        store::migrate(&db).await.expect("migrate");
        // The server's pools as `serve` opens them: on PostgreSQL the background work gets
        // what the HTTP workers' own pools leave of max_connections (see PoolShares).
        let shares = store::PoolShares::for_this_machine(&settings.database);
        let background = if shares.per_worker.is_some() {
            let mut server_settings = settings.database.clone();
            server_settings.max_connections = shares.background;
            store::connect(&server_settings)
                .await
                .expect("connect to the database")
        } else {
            db.clone()
        };
        let application = Application::build_with(settings.clone(), background, secrets.clone())
            .expect("build the server");
        let base = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        tokio::spawn(application.run_until_stopped());

        let tenant = TenantId::new_random();
        let key = issue_partner_key();
        let sealed = secrets
            .sealer
            .seal_ashby_key("bench-key", tenant)
            .expect("seal");
        tenants::create(&db, tenant, "Bench", Some(sealed), None, &key)
            .await
            .expect("create the tenant");
        let keys = TokenKeys::new(&secrets.token_secret).expect("token keys");
        let token = async |scope: Scope| {
            let issued = keys
                .issue_scoped_token(Duration::from_secs(6 * 3600), scope)
                .expect("token");
            vendor_tokens::record(&db, &issued, Some("bench".into()))
                .await
                .expect("record the token");
            Arc::<str>::from(issued.token.expose_secret())
        };
        let engine = token(Scope::Engine).await;
        let admin = token(Scope::Admin).await;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(plan.concurrency * 2)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        Self {
            api: Api {
                http,
                base: base.into(),
                partner_key: key.plaintext.expose_secret().into(),
                engine,
                admin,
            },
            db,
            settings,
            ashby,
            webhooks,
            handle,
            sqlite_dir,
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// A single number from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        self.db
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await
            .expect("count")
            .expect("a row")
            .try_get_by_index::<i64>(0)
            .expect("an integer")
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.ashby.stop().await;
        self.webhooks.stop().await;
        self.db.close().await.ok();
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The requests the phases send; cheap to clone into each load client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Arc<str>,
    partner_key: Arc<str>,
    engine: Arc<str>,
    admin: Arc<str>,
}

impl Api {
    pub async fn healthz(&self) -> bool {
        let answer = self.http.get(format!("{}/healthz", self.base)).send().await;
        drained_ok(answer).await
    }

    /// `assessment.start` as Ashby calls it; the assessment id it answered.
    pub async fn start(&self, application: &str) -> Option<String> {
        let body = json!({
            "assessment_type_id": "6f1c2a4e-0000-4000-8000-000000000001",
            "candidate": {"ashby_id": format!("c-{application}"), "first_name": "Ada", "last_name": "Bench",
                          "email": "ada@example.com", "ashby_profile_url": "https://app.ashbyhq.com/c"},
            "application": {"ashby_id": application, "status": "Active"},
            "job": {"ashby_id": "j", "name": "Engineer", "ashby_job_url": "https://app.ashbyhq.com/j"}
        });
        let answer = self
            .http
            .post(format!("{}/assessment.start", self.base))
            .basic_auth(&*self.partner_key, Some(""))
            .json(&body)
            .send()
            .await;
        let answer = json_of(answer).await?;
        let id = answer["results"]["assessment_id"]
            .as_str()
            .map(str::to_owned);
        if id.is_none() {
            show_failure(&format!("assessment.start answered {answer}"));
        }
        id
    }

    pub async fn list(&self) -> bool {
        let answer = self
            .http
            .post(format!("{}/assessment.list", self.base))
            .basic_auth(&*self.partner_key, Some(""))
            .json(&json!({}))
            .send()
            .await;
        drained_ok(answer).await
    }

    pub async fn get(&self, id: &str) -> bool {
        let answer = self
            .http
            .get(format!("{}/v1/assessments/{id}", self.base))
            .bearer_auth(&*self.engine)
            .send()
            .await;
        drained_ok(answer).await
    }

    /// The vendor's engine reports a completed assessment with a score.
    pub async fn complete(&self, id: &str) -> bool {
        let event = json!({"status": "completed", "profile_url": "https://t.example/r",
            "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 80}});
        let answer = self
            .http
            .post(format!("{}/v1/assessments/{id}/events", self.base))
            .bearer_auth(&*self.engine)
            .json(&event)
            .send()
            .await;
        drained_ok(answer).await
    }

    /// `POST /v1/deliveries/retry`: every dead delivery back in line; how many.
    pub async fn retry_dead(&self) -> Option<u64> {
        let answer = self
            .http
            .post(format!("{}/v1/deliveries/retry", self.base))
            .bearer_auth(&*self.admin)
            .json(&json!({}))
            .send()
            .await;
        json_of(answer).await?["retried"].as_u64()
    }

    pub async fn metrics(&self) -> bool {
        let answer = self.http.get(format!("{}/metrics", self.base)).send().await;
        drained_ok(answer).await
    }
}

/// A 2xx whose body was read to the end (so the connection is reused). The first few
/// failures are shown on stderr, so an incomplete run says why.
async fn drained_ok(answer: reqwest::Result<reqwest::Response>) -> bool {
    match answer {
        Ok(response) => {
            let status = response.status();
            let body = response.bytes().await;
            if status.is_success() && body.is_ok() {
                return true;
            }
            let body = body.map_or_else(|e| e.to_string(), |b| String::from_utf8_lossy(&b).into());
            show_failure(&format!(
                "HTTP {status}: {}",
                body.chars().take(300).collect::<String>()
            ));
            false
        }
        Err(error) => {
            show_failure(&error.to_string());
            false
        }
    }
}

/// The JSON body of an answer, whatever its status; None (shown) when there is none.
async fn json_of(answer: reqwest::Result<reqwest::Response>) -> Option<serde_json::Value> {
    let decoded = match answer {
        Ok(response) => response.json().await,
        Err(error) => Err(error),
    };
    decoded
        .map_err(|error| show_failure(&error.to_string()))
        .ok()
}

fn show_failure(what: &str) {
    static SHOWN: AtomicUsize = AtomicUsize::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("bench: a request failed: {what}");
    }
}
