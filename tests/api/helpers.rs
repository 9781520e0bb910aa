//! Spawning the application on port 0 over a fresh database, and talking to it.

use std::path::PathBuf;
use std::sync::OnceLock;

use actix_web::dev::ServerHandle;
use ashby_partner::crypto::{IssuedPartnerKey, issue_partner_key, random_secret_base64};
use ashby_partner::domain::ids::TenantId;
use ashby_partner::secrets::ServerSecrets;
use ashby_partner::settings::Settings;
use ashby_partner::startup::Application;
use ashby_partner::store::{self, tenants};
use ashby_partner::telemetry::SpanScope;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// A database created for one test, and removed with it.
pub struct TestDatabase {
    pub url: String,
    /// Keeps the SQLite file's directory alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the server's admin URL and the database's name, dropped on drop.
    created_on: Option<(String, String)>,
}

impl Drop for TestDatabase {
    /// Drops a PostgreSQL database this test created, so that runs do not pile them up.
    /// Best effort: one left behind is clutter, not a failure (`.ci/run` also drops its
    /// run's databases by their prefix).
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.created_on.take() else {
            return;
        };
        // A thread with a runtime of its own: this may run inside the test's runtime,
        // which cannot block on itself. FORCE ends the sessions the test's pool still holds.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .map_err(|error| error.to_string())?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                admin
                    .execute_unprepared(&sql)
                    .await
                    .map_err(|error| error.to_string())?;
                admin.close().await.map_err(|error| error.to_string())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop a test database: {error}");
        }
    }
}

impl TestDatabase {
    /// A new, empty database: a SQLite file in a temp dir, or, with TEST_DATABASE_URL, a
    /// new PostgreSQL database on that server.
    pub async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                // A run can name its databases (TEST_DATABASE_PREFIX) to clean up only its own.
                let prefix =
                    std::env::var("TEST_DATABASE_PREFIX").unwrap_or_else(|_| "ap_test_".into());
                let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("TEST_DATABASE_URL must be reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    _dir: None,
                    created_on: Some((admin_url, name)),
                }
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
                Self {
                    url,
                    _dir: Some(dir),
                    created_on: None,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// PostgreSQL: the server's admin connection, and this database's name.
    pub async fn admin(&self) -> Option<(DatabaseConnection, String)> {
        let (admin_url, name) = self.created_on.as_ref()?;
        let admin = Database::connect(admin_url.as_str()).await.unwrap();
        Some((admin, name.clone()))
    }

    /// The sessions connected to this PostgreSQL database, counted by `application_name`.
    pub async fn sessions_by_application(&self) -> std::collections::BTreeMap<String, i64> {
        let (admin, name) = self.admin().await.expect("a PostgreSQL test database");
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT application_name AS name, count(*) AS n FROM pg_stat_activity \
                     WHERE datname = '{name}' GROUP BY application_name"
                ),
            ))
            .await
            .unwrap();
        admin.close().await.unwrap();
        rows.iter()
            .map(|row| {
                (
                    row.try_get("", "name").unwrap(),
                    row.try_get("", "n").unwrap(),
                )
            })
            .collect()
    }

    /// PostgreSQL: no session may connect to this database any more, and those connected
    /// are ended — the database gone, for every pool of the server at once.
    pub async fn refuse_connections(&self) {
        let (admin, name) = self.admin().await.expect("a PostgreSQL test database");
        admin
            .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await
            .unwrap();
        admin.close().await.unwrap();
    }

    /// A database the test made itself (a file on its own filesystem, a server of its own).
    pub fn at_url(url: String) -> Self {
        Self {
            url,
            _dir: None,
            created_on: None,
        }
    }
}

/// Settings for a test: port 0, the given database, fixed secrets.
pub fn test_settings(database_url: &str) -> Settings {
    static SECRETS: OnceLock<(String, String)> = OnceLock::new();
    let (key, token) = SECRETS.get_or_init(|| (random_secret_base64(), random_secret_base64()));
    let mut settings = Settings::builtin().unwrap();
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.database.url = database_url.into();
    settings.database.max_connections = 5;
    // Tests read the feed right after writing; the delay has a test of its own.
    settings.vendor.feed_delay_ms = 0;
    // Tests change tenants behind the server's back (the command line, the database) and
    // expect the next request to see it; the lookup cache has tests of its own.
    settings.server.lookup_cache_ms = 0;
    settings.security.encryption_key = Some(key.clone().into());
    settings.security.token_secret = Some(token.clone().into());
    settings
}

/// Whether a test app's background work runs by itself.
enum Workers {
    SteppedByTheTest,
    Running,
}

/// The catalog entry every test can start.
pub const TYPE_ID: &str = "6f1c2a4e-0000-4000-8000-000000000001";

pub struct TestApp {
    pub address: String,
    /// The delivery engine; tests step it (no background workers run, but in
    /// [`TestApp::serve_in_scope`]).
    pub engine: std::sync::Arc<ashby_partner::delivery::DeliveryEngine>,
    /// Expiry and the rest of the background work; tests step it too.
    pub housekeeping: std::sync::Arc<ashby_partner::housekeeping::Housekeeping>,
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub database: TestDatabase,
    pub client: reqwest::Client,
    /// The server's partner-key and catalog cache (tests move its clock).
    pub lookups: ashby_partner::lookup_cache::LookupCache,
    handle: ServerHandle,
}

/// A tenant created for a test, with its partner key in the clear.
pub struct TestTenant {
    pub id: TenantId,
    pub key: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with settings adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let database = TestDatabase::create().await;
        let mut settings = test_settings(&database.url);
        adjust(&mut settings);
        Self::start(settings, database).await
    }

    /// The server's background work and the test share one pool (on SQLite, the whole
    /// server does; on PostgreSQL each actix worker also has its own — the readiness test
    /// takes the database away from both).
    pub async fn start(settings: Settings, database: TestDatabase) -> Self {
        Self::start_in_scope(settings, database, SpanScope::default()).await
    }

    /// [`Self::start`], with the app's spans going to `scope`'s subscriber (the global
    /// one is shared by every test of the binary).
    pub async fn start_in_scope(
        settings: Settings,
        database: TestDatabase,
        scope: SpanScope,
    ) -> Self {
        Self::launch(settings, database, scope, Workers::SteppedByTheTest).await
    }

    /// [`Self::start_in_scope`], with the delivery workers and housekeeping running as in
    /// `serve` (tests must then not step them).
    pub async fn serve_in_scope(
        settings: Settings,
        database: TestDatabase,
        scope: SpanScope,
    ) -> Self {
        Self::launch(settings, database, scope, Workers::Running).await
    }

    async fn launch(
        settings: Settings,
        database: TestDatabase,
        scope: SpanScope,
        workers: Workers,
    ) -> Self {
        let db = store::connect(&settings.database).await.unwrap();
        store::migrate(&db).await.unwrap();
        let secrets = ServerSecrets::resolve(&settings).unwrap();
        let application =
            Application::build_in_scope(settings.clone(), db.clone(), secrets, scope).unwrap();
        let address = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        let engine = application.delivery_engine();
        let housekeeping = application.housekeeping();
        let lookups = application.lookup_cache();
        match workers {
            Workers::SteppedByTheTest => tokio::spawn(application.run_without_workers()),
            Workers::Running => tokio::spawn(application.run_until_stopped()),
        };
        Self {
            address,
            engine,
            housekeeping,
            db,
            settings,
            database,
            client: reqwest::Client::new(),
            lookups,
            handle,
        }
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(self) -> Self {
        self.handle.stop(true).await;
        self.db.close().await.unwrap();
        Self::start(self.settings, self.database).await
    }

    pub fn secrets(&self) -> ServerSecrets {
        ServerSecrets::resolve(&self.settings).unwrap()
    }

    /// A tenant with an Ashby key (a start needs one) pointed at a port where nothing
    /// listens: its Ashby deliveries are retried until a test connects it to a mock Ashby.
    pub async fn create_tenant(&self, name: &str) -> TestTenant {
        let id = TenantId::new_random();
        let key: IssuedPartnerKey = issue_partner_key();
        let sealed = self
            .secrets()
            .sealer
            .seal_ashby_key("placeholder-key", id)
            .unwrap();
        tenants::create(
            &self.db,
            id,
            name,
            Some(sealed),
            Some(NOWHERE.to_owned()),
            &key,
        )
        .await
        .unwrap();
        TestTenant {
            id,
            key: key.plaintext.expose_secret().to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs JSON to a partner endpoint as the tenant (key as Basic username).
    pub async fn post_as(
        &self,
        tenant: &TestTenant,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(&tenant.key, Some(""))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a raw body with the tenant's key.
    pub async fn post_raw(
        &self,
        tenant: &TestTenant,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(&tenant.key, Some(""))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Starts an assessment and returns its id, asserting success.
    pub async fn start_assessment(&self, tenant: &TestTenant, body: &Value) -> String {
        let response = self.post_as(tenant, "/assessment.start", body).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["results"]["assessment_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A realistic `assessment.start` body, as Ashby sends it (with fields we do not know).
pub fn start_body(application_id: &str) -> Value {
    json!({
        "assessment_type_id": TYPE_ID,
        "candidate": {
            "ashby_id": uuid::Uuid::new_v4().to_string(),
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "ashby_profile_url": "https://app.ashbyhq.com/candidates/ada"
        },
        "application": { "ashby_id": application_id, "status": "Active" },
        "job": {
            "ashby_id": uuid::Uuid::new_v4().to_string(),
            "name": "Backend Engineer",
            "req_id": "REQ-42",
            "ashby_job_url": "https://app.ashbyhq.com/jobs/backend",
            "hiringTeam": [{
                "userId": uuid::Uuid::new_v4().to_string(),
                "firstName": "Grace",
                "lastName": "Hopper",
                "email": "grace@example.com",
                "role": "Hiring Manager"
            }]
        },
        "additional_fields": { "seniority": "sr" },
        "interviewStageId": "a-field-ashby-added-later"
    })
}

/// Where Ashby's schemas are: a copy is vendored in tests/ashby-schemas so a fresh clone
/// can run the suite; `shared_copy_matches` checks it against the project's original.
fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ashby-schemas")
}

/// Validates `instance` against one of Ashby's schemas (by file name), formats included.
pub fn assert_matches_schema(schema_file: &str, instance: &Value) {
    let text = std::fs::read_to_string(schemas_dir().join(schema_file)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} does not match {schema_file}: {errors:#?}"
    );
}

#[test]
fn vendored_schemas_match_the_shared_originals() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/ashby-schemas");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return; // Outside the project's workspace there is no shared/ to compare with.
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let vendored = schemas_dir().join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&vendored).unwrap_or_default(),
            "{} differs from the vendored copy",
            path.display()
        );
    }
}

/// Asserts a partner-API error: the exact status and the JSON envelope
/// `{"success": false, "message", "errors": [code], "errorInfo": {"code", "message",
/// "requestId"}}` with a non-empty message and request id. Returns the body.
pub async fn assert_error_envelope(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status for {code}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!message.trim().is_empty(), "{body}");
    assert_eq!(body["errors"], json!([code]), "{body}");
    assert_eq!(body["errorInfo"]["code"], code, "{body}");
    assert_eq!(body["errorInfo"]["message"], message, "{body}");
    assert!(
        body["errorInfo"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    body
}

/// Talking to the vendor API and stepping deliveries.
impl TestApp {
    /// A valid vendor API token.
    pub fn vendor_token(&self) -> String {
        let keys = ashby_partner::tokens::TokenKeys::new(&self.secrets().token_secret).unwrap();
        let issued = keys
            .issue_vendor_token(std::time::Duration::from_secs(3600))
            .unwrap();
        issued.token.expose_secret().to_owned()
    }

    pub async fn vendor_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.vendor_token())
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn vendor_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.vendor_token())
            .send()
            .await
            .unwrap()
    }

    /// Posts a vendor event and returns the answer's status and body.
    pub async fn vendor_event(&self, assessment_id: &str, event: &Value) -> (u16, Value) {
        let response = self
            .vendor_post(&format!("/v1/assessments/{assessment_id}/events"), event)
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Starts an assessment for `application_id` and reports it in progress, which
    /// queues one `assessment.update` for Ashby; its id.
    pub async fn start_in_progress(&self, tenant: &TestTenant, application_id: &str) -> String {
        let id = self
            .start_assessment(tenant, &start_body(application_id))
            .await;
        self.vendor_event(&id, &json!({"status": "in_progress"}))
            .await;
        id
    }

    /// Points the tenant at an Ashby (a mock server) with an API key.
    pub async fn connect_tenant_to_ashby(
        &self,
        tenant: &TestTenant,
        base_url: &str,
        api_key: &str,
    ) {
        use sea_orm::{ActiveValue::Set, EntityTrait as _};
        let sealed = self
            .secrets()
            .sealer
            .seal_ashby_key(api_key, tenant.id)
            .unwrap();
        let row = entity::tenant::ActiveModel {
            id: Set(tenant.id.0),
            ashby_api_key_sealed: Set(Some(sealed)),
            ashby_base_url: Set(Some(base_url.to_owned())),
            ..Default::default()
        };
        entity::tenant::Entity::update(row)
            .exec(&self.db)
            .await
            .unwrap();
    }

    /// Removes the tenant's Ashby key (after its assessments started): its Ashby
    /// deliveries then go dead, saying how to fix it.
    /// A tenant connected to a mock Ashby that accepts every `assessment.update`; the
    /// server lives as long as the returned guard.
    pub async fn tenant_on_accepting_ashby(
        &self,
        name: &str,
    ) -> (TestTenant, mockito::ServerGuard) {
        let mut ashby = mockito::Server::new_async().await;
        accept_updates(&mut ashby).await;
        let tenant = self.create_tenant(name).await;
        self.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
            .await;
        (tenant, ashby)
    }

    pub async fn forget_ashby_key(&self, tenant: &TestTenant) {
        use sea_orm::{ActiveValue::Set, EntityTrait as _};
        let row = entity::tenant::ActiveModel {
            id: Set(tenant.id.0),
            ashby_api_key_sealed: Set(None),
            ashby_key_status: Set("unset".into()),
            ..Default::default()
        };
        entity::tenant::Entity::update(row)
            .exec(&self.db)
            .await
            .unwrap();
    }

    /// A recorded-nowhere vendor API token of `scope` ("engine", "read" or "admin").
    pub fn token_with_scope(&self, scope: &str) -> String {
        let keys = ashby_partner::tokens::TokenKeys::new(&self.secrets().token_secret).unwrap();
        let scope = ashby_partner::tokens::Scope::parse(scope).unwrap();
        let issued = keys
            .issue_scoped_token(std::time::Duration::from_secs(3600), scope)
            .unwrap();
        issued.token.expose_secret().to_owned()
    }

    /// The status `GET /v1/assessment-types` answers with this vendor token.
    pub async fn assessment_types_status(&self, token: &str) -> u16 {
        self.get_status_with_token("/v1/assessment-types", token)
            .await
    }

    /// The status a `GET` of `path` answers with this vendor token.
    pub async fn get_status_with_token(&self, path: &str, token: &str) -> u16 {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A request to the vendor API with an admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.token_with_scope("admin"))
    }

    /// The deliveries of an assessment, in order.
    /// The stored rows, as they are in the database (tests look at the columns).
    pub async fn deliveries_of(&self, assessment_id: &str) -> Vec<entity::delivery::Model> {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
        let id: uuid::Uuid = assessment_id.parse().unwrap();
        entity::delivery::Entity::find()
            .filter(entity::delivery::Column::AssessmentId.eq(id))
            .order_by_asc(entity::delivery::Column::Position)
            .order_by_asc(entity::delivery::Column::CreatedAtMs)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// Steps the engine with a clock that jumps an hour per round (so every backoff has
    /// passed), until nothing is pending. Returns the number of rounds.
    pub async fn deliver_everything(&self) -> usize {
        let mut now = ashby_partner::store::now_ms();
        for round in 1..=200 {
            self.engine.step_at(now).await.unwrap();
            let pending = ashby_partner::store::delivery_ops::list(
                &self.db,
                Some(ashby_partner::domain::delivery::DeliveryStatus::Pending),
                None,
                1,
            )
            .await
            .unwrap();
            if pending.is_empty() {
                return round;
            }
            now += 3_600_000;
        }
        panic!("deliveries still pending after 200 rounds");
    }
}

impl TestApp {
    /// The real binary, set up to run on this app's database and secrets from `cwd` (an
    /// empty directory, so no `config/` is read), with no inherited configuration.
    pub fn binary(&self, cwd: &std::path::Path) -> std::process::Command {
        let security = &self.settings.security;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ashby-partner"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ASHBY_PARTNER") {
                command.env_remove(name);
            }
        }
        command
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &self.database.url)
            .env(
                "ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY",
                security.encryption_key.as_ref().unwrap().expose_secret(),
            )
            .env(
                "ASHBY_PARTNER__SECURITY__TOKEN_SECRET",
                security.token_secret.as_ref().unwrap().expose_secret(),
            );
        command
    }
}

/// Where tenants' Ashby calls go until a test connects them: nothing listens there.
pub const NOWHERE: &str = "http://127.0.0.1:9";

/// An Ashby success answer.
pub const ASHBY_OK: &str = r#"{"success": true, "results": {}}"#;

/// Makes the mock Ashby accept every `assessment.update` (after the mocks made before it).
pub async fn accept_updates(ashby: &mut mockito::ServerGuard) {
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
}
