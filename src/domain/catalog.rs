//! The assessment types Ashby can start, and the custom fields it asks for: the default
//! catalog (configuration) and a tenant's own (vendor API), checked by the same rules.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ids::AssessmentTypeId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentType {
    pub id: AssessmentTypeId,
    pub name: String,
    pub description: Option<String>,
    /// Inactive types are not offered to Ashby and cannot be started, but their
    /// assessments keep their name.
    pub active: bool,
}

/// The catalog that applies to one tenant (or the default one).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    types: Vec<AssessmentType>,
    index: HashMap<AssessmentTypeId, usize>,
    custom_fields: Vec<CustomField>,
    /// Types once in this tenant's catalog and since removed: only their names are used,
    /// for the assessments that were started with them.
    retired: Vec<AssessmentType>,
}

impl Catalog {
    pub fn new(types: Vec<AssessmentType>, custom_fields: Vec<CustomField>) -> Self {
        let index = types.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        Self {
            types,
            index,
            custom_fields,
            retired: Vec::new(),
        }
    }

    /// Keeps the names of removed types readable (see [`TenantCatalog::retired_types`]).
    #[must_use]
    pub fn with_retired(mut self, retired: Vec<AssessmentType>) -> Self {
        self.retired = retired;
        self
    }

    /// Every current type, active or not, in catalog order.
    pub fn types(&self) -> &[AssessmentType] {
        &self.types
    }

    /// What Ashby's picker shows, in catalog order.
    pub fn active_types(&self) -> impl Iterator<Item = &AssessmentType> {
        self.types.iter().filter(|t| t.active)
    }

    /// A current type, active or not.
    pub fn find(&self, id: AssessmentTypeId) -> Option<&AssessmentType> {
        self.index.get(&id).and_then(|&i| self.types.get(i))
    }

    /// A type Ashby may start now.
    pub fn find_active(&self, id: AssessmentTypeId) -> Option<&AssessmentType> {
        self.find(id).filter(|t| t.active)
    }

    /// The name of a type an assessment was started with, even if it has since been made
    /// inactive or removed.
    pub fn name_of(&self, id: AssessmentTypeId) -> Option<&str> {
        self.find(id)
            .or_else(|| self.retired.iter().find(|t| t.id == id))
            .map(|t| t.name.as_str())
    }

    pub fn custom_fields(&self) -> &[CustomField] {
        &self.custom_fields
    }
}

/// A tenant's own catalog as stored: each part is `None` when the tenant uses the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantCatalog {
    pub assessment_types: Option<Vec<AssessmentType>>,
    pub custom_fields: Option<Vec<CustomField>>,
    /// Types the tenant's catalog offered once and no longer does, so that assessments
    /// started with them keep their name.
    pub retired_types: Vec<AssessmentType>,
}

impl TenantCatalog {
    /// The catalog that applies: the tenant's own parts, else the default's.
    pub fn applied_over(&self, default: &Catalog) -> Catalog {
        let types = self
            .assessment_types
            .clone()
            .unwrap_or_else(|| default.types().to_vec());
        let fields = self
            .custom_fields
            .clone()
            .unwrap_or_else(|| default.custom_fields().to_vec());
        Catalog::new(types, fields).with_retired(self.retired_types.clone())
    }

    /// Sets (or, with `None`, clears) the tenant's own types. Types that were in effect
    /// before and are not any more are kept as retired, so their names stay readable.
    pub fn replace_types(&mut self, types: Option<Vec<AssessmentType>>, default: &Catalog) {
        let before = self
            .assessment_types
            .take()
            .unwrap_or_else(|| default.types().to_vec());
        let after: &[AssessmentType] = types.as_deref().unwrap_or(default.types());
        let current: HashSet<AssessmentTypeId> = after.iter().map(|t| t.id).collect();
        let mut retired: Vec<AssessmentType> = std::mem::take(&mut self.retired_types);
        for old in before {
            if let Some(kept) = retired.iter_mut().find(|t| t.id == old.id) {
                *kept = old;
            } else {
                retired.push(old);
            }
        }
        retired.retain(|t| !current.contains(&t.id));
        for t in &mut retired {
            t.active = false;
        }
        self.retired_types = retired;
        self.assessment_types = types;
    }
}

/// A custom field Ashby asks for when it starts an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: CustomFieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// Checks a list of assessment types; `list` names it in the message (`assessment_types`
/// in configuration, `data` in the API), with the index of the first bad item.
///
/// # Errors
/// An empty name, or an id used twice.
pub fn validate_types(list: &str, types: &[AssessmentType]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for (index, assessment_type) in types.iter().enumerate() {
        if assessment_type.name.trim().is_empty() {
            return Err(format!("{list}[{index}].name must not be empty"));
        }
        if !seen.insert(assessment_type.id) {
            return Err(format!(
                "{list}[{index}].id {} is used twice; ids must be unique",
                assessment_type.id
            ));
        }
    }
    Ok(())
}

/// Checks a list of custom fields, naming the first bad item as `list[index]`.
///
/// # Errors
/// An empty id or name, an id used twice, or possible values missing for a select field,
/// present for another, empty, or with a key used twice.
pub fn validate_custom_fields(list: &str, fields: &[CustomField]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for (index, field) in fields.iter().enumerate() {
        let key = format!("{list}[{index}]");
        if field.id.trim().is_empty() || field.name.trim().is_empty() {
            return Err(format!("{key}: id and name must not be empty"));
        }
        if !seen.insert(field.id.as_str()) {
            return Err(format!("{key}.id {:?} is used twice", field.id));
        }
        match (&field.possible_values, field.field_type.is_select()) {
            (None, true) => {
                return Err(format!(
                    "{key}.possible_values is required for a {:?} field",
                    field.field_type
                ));
            }
            (Some(_), false) => {
                return Err(format!(
                    "{key}.possible_values is only allowed for ValueSelect and MultiValueSelect fields"
                ));
            }
            (Some(values), true) => validate_possible_values(&key, values)?,
            (None, false) => {}
        }
    }
    Ok(())
}

fn validate_possible_values(key: &str, values: &[PossibleValue]) -> Result<(), String> {
    if values.is_empty() {
        return Err(format!("{key}.possible_values must not be empty"));
    }
    let mut keys = HashSet::new();
    for value in values {
        if value.key.is_empty() || value.value.is_empty() {
            return Err(format!(
                "{key}.possible_values: key and value must not be empty"
            ));
        }
        if !keys.insert(value.key.as_str()) {
            return Err(format!(
                "{key}.possible_values: key {:?} is used twice",
                value.key
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u128, name: &str) -> AssessmentType {
        AssessmentType {
            id: AssessmentTypeId(uuid::Uuid::from_u128(n)),
            name: name.into(),
            description: None,
            active: true,
        }
    }

    #[test]
    fn a_removed_type_keeps_its_name_but_is_not_offered() {
        let default = Catalog::new(vec![t(1, "Default")], Vec::new());
        let mut own = TenantCatalog::default();
        own.replace_types(Some(vec![t(2, "Own")]), &default);
        own.replace_types(Some(vec![t(3, "Newer")]), &default);
        let applied = own.applied_over(&default);
        assert_eq!(applied.name_of(t(1, "").id), Some("Default"));
        assert_eq!(applied.name_of(t(2, "").id), Some("Own"));
        assert!(applied.find_active(t(1, "").id).is_none());
        assert!(applied.find_active(t(2, "").id).is_none());
        assert_eq!(applied.active_types().count(), 1);
    }

    #[test]
    fn a_type_that_comes_back_is_no_longer_retired() {
        let default = Catalog::new(vec![t(1, "Default")], Vec::new());
        let mut own = TenantCatalog::default();
        own.replace_types(Some(vec![t(2, "Own")]), &default);
        own.replace_types(None, &default);
        assert_eq!(
            own.retired_types,
            vec![AssessmentType {
                active: false,
                ..t(2, "Own")
            }]
        );
        assert!(
            own.applied_over(&default)
                .find_active(t(1, "").id)
                .is_some()
        );
    }

    #[test]
    fn bad_lists_are_refused_naming_the_item() {
        let cases = [
            (vec![t(1, "a"), t(2, " ")], "data[1].name must not be empty"),
            (vec![t(1, "a"), t(1, "b")], "data[1].id"),
        ];
        for (types, expected) in cases {
            let error = validate_types("data", &types).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
