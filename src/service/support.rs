//! What the support team looks up (the operator console): the overview's numbers,
//! assessments by candidate email or id, one assessment's whole story, one tenant in full.
//! Reads only; the console's actions are the use cases of `deliveries` and `tenants`.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DbErr};

use super::catalogs::tenant_catalog;
use super::deliveries::with_sent_payloads;
use crate::domain::assessment::Assessment;
use crate::domain::catalog::{Catalog, TenantCatalog};
use crate::domain::delivery::{Attempt, Delivery, DeliveryStatus};
use crate::domain::ids::{AssessmentId, TenantId};
use crate::domain::tenant::{AshbyKeyStatus, Tenant, TenantOverview};
use crate::store::assessments::{self, Lookup};
use crate::store::tenants::{self, PartnerKeySummary};
use crate::store::{delivery_ops, delivery_stats};

/// The window over which the overview measures how fast deliveries go out.
pub const RATE_WINDOW_MS: i64 = 10 * 60 * 1000;

/// At most this many tenants are listed as needing attention on the overview.
const ATTENTION_LIMIT: u64 = 50;

/// How the outbox and the tenants' Ashby keys are doing, at a glance.
#[derive(Debug)]
pub struct Overview {
    pub pending: u64,
    pub dead: u64,
    pub oldest_pending_created_ms: Option<i64>,
    /// Delivered within the last [`RATE_WINDOW_MS`].
    pub delivered_recently: u64,
    /// Tenants whose Ashby key is rejected or not yet confirmed.
    pub tenants_needing_attention: Vec<TenantOverview>,
}

/// # Errors
/// Database errors.
pub async fn console_overview(db: &DatabaseConnection, now_ms: i64) -> Result<Overview, DbErr> {
    let mut pending = 0;
    let mut dead = 0;
    let unsettled = [DeliveryStatus::Pending, DeliveryStatus::Dead];
    for (_, status, n) in delivery_stats::counts(db, &unsettled).await? {
        let n = u64::try_from(n).unwrap_or(0);
        match DeliveryStatus::parse(&status) {
            Some(DeliveryStatus::Pending) => pending += n,
            Some(DeliveryStatus::Dead) => dead += n,
            _ => {}
        }
    }
    Ok(Overview {
        pending,
        dead,
        oldest_pending_created_ms: delivery_stats::oldest_pending_created_ms(db).await?,
        delivered_recently: delivery_stats::delivered_since(db, now_ms - RATE_WINDOW_MS).await?,
        tenants_needing_attention: tenants::with_key_status(
            db,
            &[AshbyKeyStatus::Rejected, AshbyKeyStatus::Unverified],
            ATTENTION_LIMIT,
        )
        .await?,
    })
}

/// Tenants whose Ashby key status is one of `statuses`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn tenants_by_key_status(
    db: &DatabaseConnection,
    statuses: &[AshbyKeyStatus],
    limit: u64,
) -> Result<Vec<TenantOverview>, DbErr> {
    tenants::with_key_status(db, statuses, limit).await
}

/// A page of deliveries, newest first, with the tenants' names (to label rows and offer
/// a filter).
#[derive(Debug)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub tenant_names: Vec<(TenantId, String)>,
}

/// At most this many tenants are offered in the deliveries page's filter.
const TENANT_NAMES_LIMIT: u64 = 500;

/// # Errors
/// Database errors.
pub async fn delivery_page(
    db: &DatabaseConnection,
    filter: &delivery_ops::DeliveryFilter,
    limit: u64,
) -> Result<DeliveryPage, DbErr> {
    Ok(DeliveryPage {
        deliveries: super::deliveries::list_deliveries(db, filter, limit).await?,
        tenant_names: tenants::names(db, TENANT_NAMES_LIMIT).await?,
    })
}

/// What a support engineer typed in the search box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessmentQuery {
    CandidateEmail(String),
    /// An assessment id or Ashby's application id.
    Id(String),
}

impl AssessmentQuery {
    /// `Ok(None)` for an empty search.
    ///
    /// # Errors
    /// A text too long, or with control characters, to be an email or an id.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > 320 || text.chars().any(char::is_control) {
            return Err(
                "search for a candidate's email, an application id or an assessment id".into(),
            );
        }
        Ok(Some(if text.contains('@') {
            Self::CandidateEmail(text.to_owned())
        } else {
            Self::Id(text.to_owned())
        }))
    }
}

/// An assessment found, with its tenant's name (when the tenant still exists).
#[derive(Debug)]
pub struct AssessmentHit {
    pub assessment: Assessment,
    pub tenant_name: Option<String>,
}

/// Assessments matching the query, newest first.
///
/// # Errors
/// Database errors.
pub async fn search_assessments(
    db: &DatabaseConnection,
    query: &AssessmentQuery,
    limit: u64,
) -> Result<Vec<AssessmentHit>, DbErr> {
    let lookup = match query {
        AssessmentQuery::CandidateEmail(email) => Lookup::CandidateEmail(email.clone()),
        AssessmentQuery::Id(id) => Lookup::Id(id.clone()),
    };
    let found = assessments::lookup(db, &lookup, limit).await?;
    let mut names: HashMap<TenantId, Option<String>> = HashMap::new();
    let mut hits = Vec::with_capacity(found.len());
    for assessment in found {
        let tenant_name = match names.get(&assessment.tenant_id) {
            Some(name) => name.clone(),
            None => {
                let name = tenants::find(db, assessment.tenant_id)
                    .await?
                    .map(|t| t.name);
                names.insert(assessment.tenant_id, name.clone());
                name
            }
        };
        hits.push(AssessmentHit {
            assessment,
            tenant_name,
        });
    }
    Ok(hits)
}

/// One assessment's whole story: what Ashby sent, each status change (in its history),
/// every delivery (payload as sent) with every attempt.
#[derive(Debug)]
pub struct Timeline {
    pub assessment: Assessment,
    pub tenant: Option<Tenant>,
    /// The assessment type's name in the tenant's catalog, when it has one.
    pub type_name: Option<String>,
    pub deliveries: Vec<(Delivery, Vec<Attempt>)>,
}

/// # Errors
/// Database errors.
pub async fn assessment_timeline(
    db: &DatabaseConnection,
    default_catalog: &Catalog,
    id: AssessmentId,
) -> Result<Option<Timeline>, DbErr> {
    let Some(assessment) = assessments::find_any(db, id).await? else {
        return Ok(None);
    };
    let tenant = tenants::find(db, assessment.tenant_id)
        .await?
        .map(tenants::decode)
        .transpose()?;
    let type_name = match tenant_catalog(db, default_catalog, assessment.tenant_id).await? {
        Some((_, applied)) => applied
            .name_of(assessment.assessment_type_id)
            .map(str::to_owned),
        None => None,
    };
    let rows = delivery_ops::for_assessment(db, id.0).await?;
    let rows = with_sent_payloads(db, rows).await?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for row in rows {
        let attempts = delivery_ops::attempts_of(db, row.id.0).await?;
        deliveries.push((row, attempts));
    }
    Ok(Some(Timeline {
        assessment,
        tenant,
        type_name,
        deliveries,
    }))
}

/// Everything the console shows about one tenant.
#[derive(Debug)]
pub struct TenantDetails {
    pub overview: TenantOverview,
    pub partner_keys: Vec<PartnerKeySummary>,
    /// The tenant's own catalog parts (`None`: the default applies).
    pub own_catalog: TenantCatalog,
    /// The catalog that applies to it.
    pub catalog: Catalog,
    /// Its newest assessments.
    pub recent: Vec<Assessment>,
}

/// `None` when there is no such tenant.
///
/// # Errors
/// Database errors.
pub async fn tenant_details(
    db: &DatabaseConnection,
    default_catalog: &Catalog,
    id: TenantId,
    recent: u64,
) -> Result<Option<TenantDetails>, DbErr> {
    let Some(overview) = tenants::overview(db, id).await? else {
        return Ok(None);
    };
    let Some((own_catalog, catalog)) = tenant_catalog(db, default_catalog, id).await? else {
        return Ok(None);
    };
    Ok(Some(TenantDetails {
        overview,
        partner_keys: tenants::partner_keys(db, id).await?,
        own_catalog,
        catalog,
        recent: assessments::lookup(db, &Lookup::Tenant(id), recent).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_an_email_when_it_has_an_at_sign_and_an_id_otherwise() {
        assert_eq!(AssessmentQuery::parse("  "), Ok(None));
        assert_eq!(
            AssessmentQuery::parse(" Ada@Example.com "),
            Ok(Some(AssessmentQuery::CandidateEmail(
                "Ada@Example.com".into()
            )))
        );
        assert_eq!(
            AssessmentQuery::parse("app-1"),
            Ok(Some(AssessmentQuery::Id("app-1".into())))
        );
        for bad in ["a\u{0}b".to_owned(), "x".repeat(321)] {
            assert!(AssessmentQuery::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
