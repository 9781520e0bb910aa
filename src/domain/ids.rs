//! Typed ids, so a tenant id can never be passed where an assessment id is meant.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }
    };
}

typed_id!(
    /// One customer organisation using Ashby.
    TenantId
);
typed_id!(
    /// Our id for one assessment; Ashby stores it and sends it back.
    AssessmentId
);
typed_id!(
    /// An entry of the catalog (`[[assessment_types]]`).
    AssessmentTypeId
);
typed_id!(
    /// One message in the outbox (to Ashby or to the vendor).
    DeliveryId
);
