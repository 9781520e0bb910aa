//! Vendor API bearer tokens: HS256 JWTs signed with `security.token_secret`, with a
//! pinned algorithm, a required expiry and an audience of their own.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::ids::AssessmentId;

/// Only tokens minted for the vendor API are accepted by it.
const VENDOR_AUDIENCE: &str = "ashby-partner/vendor-api";
/// Candidate links carry tokens of their own audience: one cannot stand in for the other.
const CANDIDATE_AUDIENCE: &str = "ashby-partner/candidate";
/// Tolerated clock difference when checking expiry.
const LEEWAY_SECONDS: u64 = 5;
/// The longest a vendor API token may live: a leaked token must die on its own within a
/// year even if nobody revokes it.
pub const MAX_VENDOR_TOKEN_DAYS: u64 = 366;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// The token's id. Vendor tokens of the first releases carry none (or one that was
    /// never recorded): they cannot be revoked one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// What the token may do. Tokens issued before scopes carry none: they are `engine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// What a vendor API token may do (CONTRACT §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The vendor's assessment engine: read assessments, post events and results.
    Engine,
    /// Every GET, for a support team.
    Read,
    /// Everything.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engine => "engine",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Engine, Self::Read, Self::Admin]
            .into_iter()
            .find(|scope| scope.as_str() == text)
    }
}

/// A token that verified: its id (`jti`, when it has one), its scope and its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub id: Option<uuid::Uuid>,
    pub scope: Scope,
    /// When it stops working (`exp`, Unix seconds): a console session ends then at the latest.
    pub expires_at_s: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is expired")]
    Expired,
    #[error("the token is invalid")]
    Invalid,
    #[error("--ttl is too long: a vendor API token lives at most {MAX_VENDOR_TOKEN_DAYS}d")]
    TtlTooLong,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// A minted token, its id (`jti`) and its dates.
pub struct IssuedToken {
    pub id: uuid::Uuid,
    pub token: SecretString,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub scope: Scope,
}

impl TokenKeys {
    /// # Errors
    /// [`TokenError::Invalid`] for a secret the HMAC cannot use (empty).
    pub fn new(secret: &SecretString) -> Result<Self, TokenError> {
        let bytes = secret.expose_secret().as_bytes();
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
            decoding: DecodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
        })
    }

    /// Mints an `engine` vendor API token valid for `ttl`, with a fresh id.
    ///
    /// # Errors
    /// [`TokenError::TtlTooLong`] beyond [`MAX_VENDOR_TOKEN_DAYS`].
    pub fn issue_vendor_token(&self, ttl: Duration) -> Result<IssuedToken, TokenError> {
        self.issue_scoped_token(ttl, Scope::Engine)
    }

    /// Mints a vendor API token of `scope` valid for `ttl`, with a fresh id.
    ///
    /// # Errors
    /// [`TokenError::TtlTooLong`] beyond [`MAX_VENDOR_TOKEN_DAYS`].
    pub fn issue_scoped_token(
        &self,
        ttl: Duration,
        scope: Scope,
    ) -> Result<IssuedToken, TokenError> {
        if ttl > Duration::from_secs(MAX_VENDOR_TOKEN_DAYS * 24 * 3600) {
            return Err(TokenError::TtlTooLong);
        }
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(ttl).map_err(|_| TokenError::TtlTooLong)?;
        let expires_at = now.checked_add_signed(ttl).ok_or(TokenError::TtlTooLong)?;
        // `exp` holds whole seconds: say exactly when the token stops working.
        let expires_at =
            chrono::DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
        let id = uuid::Uuid::new_v4();
        let claims = Claims {
            sub: "vendor".into(),
            aud: VENDOR_AUDIENCE.into(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Some(id.to_string()),
            scope: Some(scope.as_str().into()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok(IssuedToken {
            id,
            token: token.into(),
            issued_at: now,
            expires_at,
            scope,
        })
    }

    /// Checks a vendor API token — signature, algorithm, audience and expiry — and
    /// returns its id (`jti`) when it has one, for the revocation check, and its scope.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`] (also for a `jti` that is
    /// present but not a UUID, or a scope we do not know: we never minted it).
    pub fn verify_vendor_token(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let claims = self.verify(token, VENDOR_AUDIENCE)?;
        let id = claims
            .jti
            .map(|jti| jti.parse().map_err(|_| TokenError::Invalid))
            .transpose()?;
        let scope = match claims.scope.as_deref() {
            None => Scope::Engine,
            Some(text) => Scope::parse(text).ok_or(TokenError::Invalid)?,
        };
        Ok(VerifiedToken {
            id,
            scope,
            expires_at_s: claims.exp,
        })
    }

    /// The token of a candidate link: names the assessment, expires `ttl` after
    /// `issued_at_ms`. The same inputs give the same token, so an assessment's link is
    /// stable without being stored.
    ///
    /// # Errors
    /// A `ttl` beyond what a timestamp can hold.
    pub fn candidate_token(
        &self,
        assessment_id: AssessmentId,
        issued_at_ms: i64,
        ttl: Duration,
    ) -> Result<String, TokenError> {
        let iat = issued_at_ms.div_euclid(1000);
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| TokenError::TtlTooLong)?;
        let claims = Claims {
            sub: assessment_id.to_string(),
            aud: CANDIDATE_AUDIENCE.into(),
            iat,
            exp: iat.checked_add(ttl).ok_or(TokenError::TtlTooLong)?,
            jti: Some(assessment_id.to_string()),
            scope: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    /// The assessment a candidate link's token names.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`].
    pub fn verify_candidate_token(&self, token: &str) -> Result<AssessmentId, TokenError> {
        let claims = self.verify(token, CANDIDATE_AUDIENCE)?;
        claims.sub.parse().map_err(|_| TokenError::Invalid)
    }

    /// Signature (HS256 only), audience, and expiry — which is required.
    fn verify(&self, token: &str, audience: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud", "iat"]);
        validation.leeway = LEEWAY_SECONDS;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(error)
                if matches!(
                    error.kind(),
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature
                ) =>
            {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&secret.to_string().into()).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let issued = keys.issue_vendor_token(Duration::from_secs(3600)).unwrap();
        assert!(
            keys.verify_vendor_token(issued.token.expose_secret())
                .is_ok()
        );
        let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
        assert!((issued.expires_at - in_an_hour).num_seconds().abs() <= 1);
    }

    #[test]
    fn expired_foreign_tampered_and_unsigned_tokens_are_refused() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let expired = Claims {
            sub: "vendor".into(),
            aud: VENDOR_AUDIENCE.into(),
            iat: now - 7200,
            exp: now - 3600,
            jti: None,
            scope: None,
        };
        let expired =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &expired, &keys.encoding).unwrap();
        assert!(matches!(
            keys.verify_vendor_token(&expired),
            Err(TokenError::Expired)
        ));

        let other = self::keys("another-secret-another-secret-another");
        let foreign = other.issue_vendor_token(Duration::from_secs(60)).unwrap();
        assert!(matches!(
            keys.verify_vendor_token(foreign.token.expose_secret()),
            Err(TokenError::Invalid)
        ));

        let good = keys.issue_vendor_token(Duration::from_secs(60)).unwrap();
        let mut tampered = good.token.expose_secret().to_owned();
        tampered.push('x');
        assert!(keys.verify_vendor_token(&tampered).is_err());

        // alg "none": an unsigned token must never pass.
        let unsigned = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                format!(
                    r#"{{"sub":"vendor","aud":"{VENDOR_AUDIENCE}","iat":{now},"exp":{}}}"#,
                    now + 600
                )
            )
        );
        assert!(keys.verify_vendor_token(&unsigned).is_err());
        assert!(keys.verify_vendor_token("").is_err());
    }

    #[test]
    fn candidate_tokens_are_stable_name_their_assessment_and_are_not_vendor_tokens() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let id = AssessmentId::new_random();
        let now = chrono::Utc::now().timestamp_millis();
        let token = keys
            .candidate_token(id, now, Duration::from_secs(600))
            .unwrap();
        assert_eq!(
            token,
            keys.candidate_token(id, now, Duration::from_secs(600))
                .unwrap()
        );
        assert_eq!(keys.verify_candidate_token(&token).unwrap(), id);
        assert!(
            keys.verify_vendor_token(&token).is_err(),
            "a candidate token is no API token"
        );
        let vendor = keys.issue_vendor_token(Duration::from_secs(60)).unwrap();
        assert!(
            keys.verify_candidate_token(vendor.token.expose_secret())
                .is_err()
        );
        let old = keys
            .candidate_token(id, now - 7_200_000, Duration::from_secs(3600))
            .unwrap();
        assert!(matches!(
            keys.verify_candidate_token(&old),
            Err(TokenError::Expired)
        ));
    }

    #[test]
    fn a_token_names_its_id_and_lives_at_most_366_days() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let day = Duration::from_secs(24 * 3600);
        let issued = keys.issue_vendor_token(day * 366).unwrap();
        assert_eq!(
            keys.verify_vendor_token(issued.token.expose_secret())
                .unwrap()
                .id,
            Some(issued.id)
        );
        for too_long in [day * 367, day * 100_000, Duration::MAX] {
            let error = keys.issue_vendor_token(too_long).err().unwrap();
            assert!(error.to_string().contains("366d"), "{error}");
        }
    }

    #[test]
    fn a_token_carries_its_scope_and_one_without_a_scope_is_an_engine_token() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        for scope in [Scope::Engine, Scope::Read, Scope::Admin] {
            let issued = keys
                .issue_scoped_token(Duration::from_secs(60), scope)
                .unwrap();
            let verified = keys
                .verify_vendor_token(issued.token.expose_secret())
                .unwrap();
            assert_eq!(verified.scope, scope);
        }
        let now = chrono::Utc::now().timestamp();
        let old = Claims {
            sub: "vendor".into(),
            aud: VENDOR_AUDIENCE.into(),
            iat: now,
            exp: now + 600,
            jti: None,
            scope: None,
        };
        let old =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &old, &keys.encoding).unwrap();
        assert_eq!(keys.verify_vendor_token(&old).unwrap().scope, Scope::Engine);
        let bogus = Claims {
            sub: "vendor".into(),
            aud: VENDOR_AUDIENCE.into(),
            iat: now,
            exp: now + 600,
            jti: None,
            scope: Some("root".into()),
        };
        let bogus =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &bogus, &keys.encoding).unwrap();
        assert!(keys.verify_vendor_token(&bogus).is_err());
    }

    #[test]
    fn a_token_without_expiry_is_refused() {
        #[derive(Serialize)]
        struct NoExpiry {
            sub: String,
            aud: String,
            iat: i64,
        }
        let keys = keys("0123456789abcdef0123456789abcdef");
        let claims = NoExpiry {
            sub: "vendor".into(),
            aud: VENDOR_AUDIENCE.into(),
            iat: chrono::Utc::now().timestamp(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert!(keys.verify_vendor_token(&token).is_err());
    }
}
