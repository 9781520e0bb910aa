//! Candidate links: `vendor.candidate_url_template` with `{token}` replaced by a signed,
//! expiring token naming the assessment (CONTRACT §7).

use std::time::Duration;

use crate::domain::ids::AssessmentId;
use crate::settings::VendorSettings;
use crate::tokens::TokenKeys;

#[derive(Clone)]
pub struct CandidateLinks {
    template: Option<String>,
    ttl: Duration,
    keys: TokenKeys,
}

impl CandidateLinks {
    pub fn new(settings: &VendorSettings, keys: TokenKeys) -> Self {
        Self {
            template: Some(settings.candidate_url_template.clone()).filter(|t| !t.is_empty()),
            ttl: settings.candidate_link_ttl,
            keys,
        }
    }

    /// The candidate's link to an assessment started at `started_at_ms`; `None` when no
    /// template is configured. The link expires `vendor.candidate_link_ttl` after the start.
    pub fn url_for(&self, id: AssessmentId, started_at_ms: i64) -> Option<String> {
        let template = self.template.as_deref()?;
        match self.keys.candidate_token(id, started_at_ms, self.ttl) {
            Ok(token) => Some(template.replace("{token}", &token)),
            Err(error) => {
                tracing::error!(%error, assessment_id = %id, "cannot make a candidate link");
                None
            }
        }
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }
}
