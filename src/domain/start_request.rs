//! `assessment.start` parsed at the edge: every required field present, typed and named
//! in the error when it is not. The raw body is kept whole for the vendor.

use serde_json::{Map, Value};

use super::ids::AssessmentTypeId;
use super::text;

/// Ashby's ids are short; a longer one is malformed (and too long to index).
const MAX_ID_BYTES: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    Hired,
    Archived,
    Active,
    Lead,
}

impl ApplicationStatus {
    const ALL: [(&'static str, Self); 4] = [
        ("Hired", Self::Hired),
        ("Archived", Self::Archived),
        ("Active", Self::Active),
        ("Lead", Self::Lead),
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub assessment_type_id: AssessmentTypeId,
    pub candidate_ashby_id: String,
    pub candidate_email: String,
    pub application_ashby_id: String,
    pub application_status: ApplicationStatus,
    pub job_ashby_id: String,
    /// The body exactly as received, unknown fields and `additional_fields` included.
    pub raw: Value,
}

/// Everything wrong with a start request, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStartRequest {
    pub problems: Vec<String>,
}

impl std::fmt::Display for InvalidStartRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Invalid assessment.start request: {}",
            self.problems.join("; ")
        )
    }
}

/// The problem with `assessment_type_id`, reported apart because it has its own error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRequestError {
    Invalid(InvalidStartRequest),
    UnknownAssessmentType(String),
}

impl StartRequest {
    /// Parses the body; `is_known_type` says whether the catalog has a type id.
    ///
    /// # Errors
    /// [`StartRequestError::Invalid`] listing every missing or ill-typed field, or
    /// [`StartRequestError::UnknownAssessmentType`] when only the type id is wrong.
    pub fn parse(
        raw: Value,
        is_known_type: impl Fn(AssessmentTypeId) -> bool,
    ) -> Result<Self, StartRequestError> {
        let Some(body) = raw.as_object() else {
            return Err(StartRequestError::Invalid(InvalidStartRequest {
                problems: vec!["the body must be a JSON object".into()],
            }));
        };
        let mut fields = Fields::default();
        let type_id = fields.string(body, "", "assessment_type_id", true);
        let candidate = fields.object(body, "candidate");
        let application = fields.object(body, "application");
        let job = fields.object(body, "job");

        let candidate_ashby_id = fields.string_in(candidate, "candidate", "ashby_id", true);
        fields.string_in(candidate, "candidate", "first_name", false);
        fields.string_in(candidate, "candidate", "last_name", false);
        let candidate_email = fields.string_in(candidate, "candidate", "email", true);
        fields.string_in(candidate, "candidate", "ashby_profile_url", false);

        let application_ashby_id = fields.string_in(application, "application", "ashby_id", true);
        let status_text = fields.string_in(application, "application", "status", true);
        let application_status = status_text.as_deref().and_then(|text| {
            let status = ApplicationStatus::ALL
                .iter()
                .find(|(name, _)| *name == text)
                .map(|(_, status)| *status);
            if status.is_none() {
                fields.problem(format!(
                    "application.status must be one of Hired, Archived, Active, Lead (got {text:?})"
                ));
            }
            status
        });

        let job_ashby_id = fields.string_in(job, "job", "ashby_id", true);
        fields.string_in(job, "job", "name", false);
        fields.string_in(job, "job", "ashby_job_url", false);
        if let Some(job) = job
            && let Some(req_id) = job.get("req_id")
            && !req_id.is_null()
            && !req_id.is_string()
        {
            fields.problem("job.req_id must be a string".into());
        }
        if let Some(job) = job
            && let Some(team) = job.get("hiringTeam")
            && !team.is_null()
            && !team.is_array()
        {
            fields.problem("job.hiringTeam must be an array".into());
        }

        let (
            Some(type_text),
            Some(candidate_ashby_id),
            Some(candidate_email),
            Some(application_ashby_id),
            Some(application_status),
            Some(job_ashby_id),
        ) = (
            type_id,
            candidate_ashby_id,
            candidate_email,
            application_ashby_id,
            application_status,
            job_ashby_id,
        )
        else {
            return Err(StartRequestError::Invalid(fields.into_error()));
        };
        if !fields.problems.is_empty() {
            return Err(StartRequestError::Invalid(fields.into_error()));
        }
        if !candidate_email.contains('@') {
            return Err(StartRequestError::Invalid(InvalidStartRequest {
                problems: vec![format!(
                    "candidate.email must be an email address (got {candidate_email:?})"
                )],
            }));
        }
        for (path, id) in [
            ("candidate.ashby_id", &candidate_ashby_id),
            ("application.ashby_id", &application_ashby_id),
            ("job.ashby_id", &job_ashby_id),
        ] {
            if id.len() > MAX_ID_BYTES {
                return Err(StartRequestError::Invalid(InvalidStartRequest {
                    problems: vec![format!("{path} must be at most {MAX_ID_BYTES} bytes long")],
                }));
            }
            // Ids are echoed to Ashby, the vendor and logs: a hidden character would make
            // one id pass for another.
            if let Some(rule) = text::id_problem(id) {
                return Err(StartRequestError::Invalid(InvalidStartRequest {
                    problems: vec![format!("{path} must {rule}")],
                }));
            }
        }
        let assessment_type_id = match type_text.parse::<AssessmentTypeId>() {
            Ok(id) if is_known_type(id) => id,
            _ => return Err(StartRequestError::UnknownAssessmentType(type_text)),
        };
        Ok(Self {
            assessment_type_id,
            candidate_ashby_id,
            candidate_email,
            application_ashby_id,
            application_status,
            job_ashby_id,
            raw,
        })
    }
}

/// Collects problems while reading fields, so one answer names all of them.
#[derive(Default)]
struct Fields {
    problems: Vec<String>,
}

impl Fields {
    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    fn into_error(self) -> InvalidStartRequest {
        InvalidStartRequest {
            problems: self.problems,
        }
    }

    fn object<'a>(
        &mut self,
        body: &'a Map<String, Value>,
        name: &str,
    ) -> Option<&'a Map<String, Value>> {
        match body.get(name) {
            None | Some(Value::Null) => {
                self.problem(format!("{name} is required"));
                None
            }
            Some(Value::Object(object)) => Some(object),
            Some(_) => {
                self.problem(format!("{name} must be an object"));
                None
            }
        }
    }

    fn string_in(
        &mut self,
        object: Option<&Map<String, Value>>,
        parent: &str,
        name: &str,
        non_empty: bool,
    ) -> Option<String> {
        object.and_then(|object| self.string(object, parent, name, non_empty))
    }

    /// A required string field; `non_empty` also refuses "" and whitespace.
    fn string(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        name: &str,
        non_empty: bool,
    ) -> Option<String> {
        let path = if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        };
        match object.get(name) {
            None | Some(Value::Null) => {
                self.problem(format!("{path} is required"));
                None
            }
            Some(Value::String(text)) if non_empty && text.trim().is_empty() => {
                self.problem(format!("{path} must not be empty"));
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                self.problem(format!("{path} must be a string"));
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "start_request_tests.rs"]
mod tests;
