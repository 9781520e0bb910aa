//! The assessment types Ashby can start, and the custom fields it asks for.

use std::collections::HashMap;

use super::ids::AssessmentTypeId;
use crate::settings::{AssessmentTypeSettings, CustomFieldSettings};

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
    custom_fields: Vec<CustomFieldSettings>,
}

impl Catalog {
    pub fn new(types: &[AssessmentTypeSettings], custom_fields: &[CustomFieldSettings]) -> Self {
        let types: Vec<AssessmentType> = types
            .iter()
            .map(|t| AssessmentType {
                id: AssessmentTypeId(t.id),
                name: t.name.clone(),
                description: t.description.clone(),
            })
            .collect();
        let index = types.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        Self {
            types,
            index,
            custom_fields: custom_fields.to_vec(),
        }
    }

    /// In configuration order: the order Ashby's picker shows.
    pub fn types(&self) -> &[AssessmentType] {
        &self.types
    }

    pub fn find(&self, id: AssessmentTypeId) -> Option<&AssessmentType> {
        self.index.get(&id).and_then(|&i| self.types.get(i))
    }

    pub fn custom_fields(&self) -> &[CustomFieldSettings] {
        &self.custom_fields
    }
}
