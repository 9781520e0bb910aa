//! The assessment types Ashby can start, and the custom fields it asks for.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ids::AssessmentTypeId;

#[derive(Debug, Clone)]
pub struct AssessmentType {
    pub id: AssessmentTypeId,
    pub name: String,
    pub description: Option<String>,
}

/// Read-only after start-up; built from validated settings.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    types: Vec<AssessmentType>,
    index: HashMap<AssessmentTypeId, usize>,
    custom_fields: Vec<CustomField>,
}

impl Catalog {
    pub fn new(types: Vec<AssessmentType>, custom_fields: Vec<CustomField>) -> Self {
        let index = types.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        Self {
            types,
            index,
            custom_fields,
        }
    }

    /// In configuration order: the order Ashby's picker shows.
    pub fn types(&self) -> &[AssessmentType] {
        &self.types
    }

    pub fn find(&self, id: AssessmentTypeId) -> Option<&AssessmentType> {
        self.index.get(&id).and_then(|&i| self.types.get(i))
    }

    pub fn custom_fields(&self) -> &[CustomField] {
        &self.custom_fields
    }
}

/// A custom field Ashby asks for when it starts an assessment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: CustomFieldType,
    #[serde(default)]
    pub required: bool,
    pub possible_values: Option<Vec<PossibleValue>>,
}

/// Ashby's custom field types, spelled as Ashby spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CustomFieldType {
    String,
    Date,
    DateRange,
    Number,
    ValueSelect,
    MultiValueSelect,
    Boolean,
    LongText,
    Email,
    Phone,
    Score,
    SocialLink,
    Url,
    Currency,
    Location,
}

impl CustomFieldType {
    pub fn is_select(self) -> bool {
        matches!(self, Self::ValueSelect | Self::MultiValueSelect)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PossibleValue {
    pub key: String,
    pub value: String,
}
