//! The server's own secrets (`security.*`): configured, or generated once for SQLite.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::crypto::{SealError, Sealer, random_secret_base64};
use crate::settings::Settings;
use crate::store::DatabaseLocation;

/// Minimum length of `security.token_secret`, in bytes (HMAC-SHA256 key strength).
const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// The resolved `security.*` secrets.
#[derive(Clone)]
pub struct ServerSecrets {
    pub sealer: Sealer,
    pub token_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "security.encryption_key and security.token_secret must both be set when the database is PostgreSQL (replicas must share them); generate each with: head -c 32 /dev/urandom | base64"
    )]
    RequiredForPostgres,
    #[error(transparent)]
    BadEncryptionKey(#[from] SealError),
    #[error("security.token_secret must be at least {MIN_TOKEN_SECRET_BYTES} bytes long")]
    ShortTokenSecret,
    #[error("secrets file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// What the generated secrets file holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    encryption_key: String,
    token_secret: String,
}

impl ServerSecrets {
    /// Uses the configured secrets; where one is unset and the database is a SQLite file,
    /// reads it from (or generates it into) a 0600 file beside the database.
    ///
    /// # Errors
    /// Unset secrets on PostgreSQL, malformed secrets, or an unreadable secrets file.
    pub fn resolve(settings: &Settings) -> Result<Self, SecretsError> {
        let configured_key = settings.security.encryption_key.clone();
        let configured_token = settings.security.token_secret.clone();
        let (encryption_key, token_secret) = match (configured_key, configured_token) {
            (Some(key), Some(token)) => (key, token),
            (key, token) => {
                let generated = match DatabaseLocation::from_url(&settings.database.url) {
                    DatabaseLocation::Postgres => return Err(SecretsError::RequiredForPostgres),
                    DatabaseLocation::SqliteFile(db_file) => {
                        load_or_create_secrets_file(&secrets_file_beside(&db_file))?
                    }
                    DatabaseLocation::SqliteMemory => {
                        tracing::warn!(
                            "security.* secrets are unset and the database is in memory: using throwaway secrets"
                        );
                        SecretsFile {
                            encryption_key: random_secret_base64(),
                            token_secret: random_secret_base64(),
                        }
                    }
                };
                (
                    key.unwrap_or_else(|| generated.encryption_key.into()),
                    token.unwrap_or_else(|| generated.token_secret.into()),
                )
            }
        };
        if token_secret.expose_secret().len() < MIN_TOKEN_SECRET_BYTES {
            return Err(SecretsError::ShortTokenSecret);
        }
        Ok(Self {
            sealer: Sealer::from_base64(&encryption_key)?,
            token_secret,
        })
    }
}

/// `data/ashby-partner.db` → `data/ashby-partner.db.secrets.toml`.
pub fn secrets_file_beside(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".secrets.toml");
    PathBuf::from(name)
}

fn load_or_create_secrets_file(path: &Path) -> Result<SecretsFile, SecretsError> {
    let fail = |reason: String| SecretsError::File {
        path: path.to_owned(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_secrets_file(&text).map_err(fail),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let secrets = SecretsFile {
                encryption_key: random_secret_base64(),
                token_secret: random_secret_base64(),
            };
            match publish_private_file(path, &secrets) {
                Ok(()) => {
                    tracing::warn!(
                        path = %crate::store::schema::absolute(path).display(),
                        "security.encryption_key / security.token_secret unset: generated them into a 0600 file; back it up with the database"
                    );
                    Ok(secrets)
                }
                // Another process starting at the same moment published first: use its.
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
                    parse_secrets_file(&text).map_err(fail)
                }
                Err(error) => Err(fail(error.to_string())),
            }
        }
        Err(error) => Err(fail(error.to_string())),
    }
}

/// Parses the file without echoing it: a parse error must not print a secret.
fn parse_secrets_file(text: &str) -> Result<SecretsFile, String> {
    let malformed = || {
        "malformed: it must hold encryption_key and token_secret (restore it from backup)"
            .to_string()
    };
    let table: toml::Table = text.parse().map_err(|_| malformed())?;
    table.try_into().map_err(|_| malformed())
}

/// Writes the file complete and private under a temporary name, then links it into place:
/// the file appears whole or not at all (a crash leaves no empty file), and never
/// replaces one that another process published first.
fn publish_private_file(path: &Path, secrets: &SecretsFile) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let text = format!(
        "# Generated by ashby-partner. Keep it secret; losing it makes stored Ashby keys unreadable.\nencryption_key = \"{}\"\ntoken_secret = \"{}\"\n",
        secrets.encryption_key, secrets.token_secret
    );
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let published = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    published
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_settings(dir: &Path) -> Settings {
        let mut settings = Settings::builtin().unwrap();
        settings.database.url = format!("sqlite://{}/app.db?mode=rwc", dir.display());
        settings
    }

    #[test]
    fn unset_secrets_on_sqlite_are_generated_once_into_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let settings = sqlite_settings(dir.path());
        let first = ServerSecrets::resolve(&settings).unwrap();
        let path = dir.path().join("app.db.secrets.toml");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = ServerSecrets::resolve(&settings).unwrap();
        assert_eq!(
            first.token_secret.expose_secret(),
            second.token_secret.expose_secret()
        );
        let sealed = first.sealer.seal("k", "t").unwrap();
        assert_eq!(
            second.sealer.open(&sealed, "t").unwrap().expose_secret(),
            "k"
        );
    }

    #[test]
    fn processes_starting_together_agree_on_one_generated_file() {
        let dir = tempfile::tempdir().unwrap();
        let settings = sqlite_settings(dir.path());
        let tokens: Vec<String> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| ServerSecrets::resolve(&settings).unwrap()))
                .collect();
            runs.into_iter()
                .map(|run| run.join().unwrap().token_secret.expose_secret().to_owned())
                .collect()
        });
        assert!(tokens.windows(2).all(|w| w[0] == w[1]));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|name| name.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_malformed_secrets_file_is_reported_without_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db.secrets.toml");
        std::fs::write(
            &path,
            "token_secret = \"top-secret-value\"\nencryption_key = ",
        )
        .unwrap();
        let error = ServerSecrets::resolve(&sqlite_settings(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("malformed"), "{error}");
        assert!(!error.contains("top-secret-value"), "{error}");
        assert_eq!(error.lines().count(), 1);
    }

    #[test]
    fn postgres_refuses_to_run_without_configured_secrets() {
        let mut settings = Settings::builtin().unwrap();
        settings.database.url = "postgres://localhost/app".into();
        assert!(matches!(
            ServerSecrets::resolve(&settings),
            Err(SecretsError::RequiredForPostgres)
        ));
        settings.security.encryption_key = Some(random_secret_base64().into());
        settings.security.token_secret = Some(random_secret_base64().into());
        assert!(ServerSecrets::resolve(&settings).is_ok());
    }

    #[test]
    fn malformed_configured_secrets_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = sqlite_settings(dir.path());
        settings.security.encryption_key = Some("short".to_string().into());
        settings.security.token_secret = Some(random_secret_base64().into());
        assert!(matches!(
            ServerSecrets::resolve(&settings),
            Err(SecretsError::BadEncryptionKey(_))
        ));
        settings.security.encryption_key = Some(random_secret_base64().into());
        settings.security.token_secret = Some("too short".to_string().into());
        assert!(matches!(
            ServerSecrets::resolve(&settings),
            Err(SecretsError::ShortTokenSecret)
        ));
    }
}
