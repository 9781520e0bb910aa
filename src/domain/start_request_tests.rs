use serde_json::json;

use super::*;

const KNOWN: &str = "6f1c2a4e-0000-4000-8000-000000000001";

fn valid() -> Value {
    json!({
        "assessment_type_id": KNOWN,
        "candidate": {
            "ashby_id": "c-1", "first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "ashby_profile_url": "https://app.ashbyhq.com/c/1"
        },
        "application": { "ashby_id": "a-1", "status": "Active" },
        "job": { "ashby_id": "j-1", "name": "Engineer", "ashby_job_url": "https://app.ashbyhq.com/j/1" },
        "additional_fields": { "seniority": "sr" },
        "someFutureField": 1
    })
}

fn parse(raw: Value) -> Result<StartRequest, StartRequestError> {
    StartRequest::parse(raw, |id| id.to_string() == KNOWN)
}

fn problems(raw: Value) -> Vec<String> {
    match parse(raw) {
        Err(StartRequestError::Invalid(invalid)) => invalid.problems,
        other => panic!("expected an invalid request, got {other:?}"),
    }
}

#[test]
fn a_valid_request_parses_and_keeps_the_raw_body() {
    let request = parse(valid()).unwrap();
    assert_eq!(request.assessment_type_id.to_string(), KNOWN);
    assert_eq!(request.application_ashby_id, "a-1");
    assert_eq!(request.application_status, ApplicationStatus::Active);
    assert_eq!(request.raw, valid());
}

#[test]
fn every_problem_is_named_by_its_path() {
    let mut body = valid();
    body["candidate"].as_object_mut().unwrap().remove("email");
    body["application"]["status"] = json!("Pending");
    body["job"]["ashby_id"] = json!(12);
    assert_eq!(
        problems(body),
        vec![
            "candidate.email is required",
            "application.status must be one of Hired, Archived, Active, Lead (got \"Pending\")",
            "job.ashby_id must be a string",
        ]
    );
}

#[test]
fn missing_sections_and_non_objects_are_refused() {
    assert_eq!(problems(json!([])), vec!["the body must be a JSON object"]);
    let mut body = valid();
    body.as_object_mut().unwrap().remove("job");
    body["candidate"] = json!("ada");
    assert_eq!(
        problems(body),
        vec!["candidate must be an object", "job is required"]
    );
}

#[test]
fn unknown_or_malformed_type_ids_are_unknown_assessment_types() {
    for id in ["6f1c2a4e-0000-4000-8000-0000000000ff", "not-a-uuid"] {
        let mut body = valid();
        body["assessment_type_id"] = json!(id);
        assert_eq!(
            parse(body),
            Err(StartRequestError::UnknownAssessmentType(id.into()))
        );
    }
}

#[test]
fn empty_ids_and_emails_without_at_are_refused() {
    let mut body = valid();
    body["application"]["ashby_id"] = json!("  ");
    assert_eq!(
        problems(body),
        vec!["application.ashby_id must not be empty"]
    );
    let mut body = valid();
    body["candidate"]["email"] = json!("ada");
    assert_eq!(
        problems(body),
        vec!["candidate.email must be an email address (got \"ada\")"]
    );
}

#[test]
fn optional_fields_are_type_checked_when_present() {
    let mut body = valid();
    body["job"]["req_id"] = json!(5);
    body["job"]["hiringTeam"] = json!({});
    assert_eq!(
        problems(body),
        vec![
            "job.req_id must be a string",
            "job.hiringTeam must be an array"
        ]
    );
}

#[test]
fn overlong_ids_are_refused() {
    let mut body = valid();
    body["application"]["ashby_id"] = json!("a".repeat(256));
    assert_eq!(
        problems(body),
        vec!["application.ashby_id must be at most 255 bytes long"]
    );
}
