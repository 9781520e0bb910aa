//! Where an assessment stands. Every layer speaks of status in these words; each ATS
//! module translates them into its own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    Started,
    InProgress,
    Completed,
    Cancelled,
    Expired,
}

impl AssessmentStatus {
    pub const ALL: [Self; 5] = [
        Self::Started,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// A terminal assessment never changes again; a new start makes a new one (a retake).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Expired)
    }
}
