//! One assessment, as every layer above the store sees it: typed, decoded once.

use serde_json::Value;

use super::data_block::DataBlock;
use super::ids::{AssessmentId, AssessmentTypeId, TenantId};
use super::lifecycle::{HistoryEntry, Transition};
use super::status::AssessmentStatus;
use super::vendor_event::VendorEvent;

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub id: AssessmentId,
    pub tenant_id: TenantId,
    pub assessment_type_id: AssessmentTypeId,
    /// With the tenant and the type, identifies "the same start" for idempotency.
    pub application_ashby_id: String,
    pub candidate_ashby_id: String,
    pub status: AssessmentStatus,
    /// The whole `assessment.start` body as Ashby sent it, unknown fields included.
    pub start_request: Value,
    pub result: Option<DataBlock>,
    pub profile_url: Option<String>,
    /// Accumulated: see [`Assessment::merged_metadata`].
    pub metadata: Vec<DataBlock>,
    /// Every status change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The `timestamp` of the last update reported to the ATS; the next must be larger.
    pub last_update_ms: i64,
    /// The vendor event that made the assessment terminal: an exact repeat of it is
    /// answered as a success without a new delivery.
    pub terminal_event: Option<VendorEvent>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Assessment {
    /// One part of the start request (`candidate`, `application`, `job`, ...), or null.
    pub fn start_part(&self, name: &str) -> Value {
        self.start_request.get(name).cloned().unwrap_or(Value::Null)
    }

    /// Metadata accumulates: a new block replaces the stored one with the same
    /// identifier; others are appended in order.
    pub fn merged_metadata(&self, new: &[DataBlock]) -> Vec<DataBlock> {
        let mut merged = self.metadata.clone();
        for block in new {
            match merged.iter_mut().find(|b| b.identifier == block.identifier) {
                Some(existing) => *existing = block.clone(),
                None => merged.push(block.clone()),
            }
        }
        merged
    }

    /// Timestamps for `count` updates of an event at `at_ms`: the ATS orders updates by
    /// timestamp only, so they stay strictly increasing per assessment, even for two
    /// events within one millisecond or an event dated before the last update.
    pub fn next_update_timestamps(&self, at_ms: i64, count: usize) -> Vec<i64> {
        let mut last = self.last_update_ms;
        (0..count)
            .map(|_| {
                last = at_ms.max(last + 1);
                last
            })
            .collect()
    }
}

impl Assessment {
    /// The assessment after a transition the lifecycle decided: its status and history
    /// entry, what the vendor's event brought (if a vendor event caused it), and the last
    /// update timestamp handed out for its emissions.
    #[must_use]
    pub fn after(
        &self,
        transition: &Transition,
        event: Option<&VendorEvent>,
        last_update_ms: i64,
        now_ms: i64,
    ) -> Self {
        let mut next = self.clone();
        next.status = transition.to;
        next.history.push(transition.history.clone());
        next.last_update_ms = last_update_ms;
        next.updated_at_ms = now_ms.max(self.updated_at_ms);
        if let Some(event) = event {
            if event.result.is_some() {
                next.result.clone_from(&event.result);
            }
            if event.profile_url.is_some() {
                next.profile_url.clone_from(&event.profile_url);
            }
            next.metadata = self.merged_metadata(&event.metadata);
            if transition.to.is_terminal() {
                next.terminal_event = Some(event.clone());
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn assessment(last_update_ms: i64, metadata: Vec<DataBlock>) -> Assessment {
        Assessment {
            id: AssessmentId(Uuid::nil()),
            tenant_id: TenantId(Uuid::nil()),
            assessment_type_id: AssessmentTypeId(Uuid::nil()),
            application_ashby_id: "app".into(),
            candidate_ashby_id: "cand".into(),
            status: AssessmentStatus::Started,
            start_request: json!({"candidate": {"ashby_id": "cand"}}),
            result: None,
            profile_url: None,
            metadata,
            history: Vec::new(),
            last_update_ms,
            terminal_event: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn block(identifier: &str, value: i64) -> DataBlock {
        serde_json::from_value(json!({"identifier": identifier, "label": identifier, "type": "numeric_score", "value": value})).unwrap()
    }

    #[test]
    fn metadata_blocks_replace_those_with_the_same_identifier_and_append_the_rest() {
        let stored = assessment(0, vec![block("a", 1), block("b", 2)]);
        let merged = stored.merged_metadata(&[block("b", 20), block("c", 3)]);
        assert_eq!(merged, vec![block("a", 1), block("b", 20), block("c", 3)]);
    }

    #[test]
    fn update_timestamps_follow_the_event_but_never_repeat_or_go_back() {
        assert_eq!(
            assessment(100, vec![]).next_update_timestamps(500, 2),
            [500, 501]
        );
        // Same millisecond as the last update, or earlier: one past it.
        assert_eq!(
            assessment(500, vec![]).next_update_timestamps(500, 1),
            [501]
        );
        assert_eq!(
            assessment(500, vec![]).next_update_timestamps(10, 2),
            [501, 502]
        );
        assert!(
            assessment(5, vec![])
                .next_update_timestamps(9, 0)
                .is_empty()
        );
    }

    #[test]
    fn a_missing_part_of_the_start_request_is_null() {
        let stored = assessment(0, vec![]);
        assert_eq!(stored.start_part("candidate"), json!({"ashby_id": "cand"}));
        assert_eq!(stored.start_part("job"), Value::Null);
    }
}
