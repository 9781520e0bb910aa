//! Clears the email lookup column of candidates erased before erasing cleared it.
//!
//! `assessments.candidate_email` is derived from the start request's `candidate.email`,
//! for finding a candidate's assessments by email. Erasing a candidate replaces the start
//! request's candidate with `{"ashby_id", "erased": true}`, but until erasure also wrote
//! the lookup column, an assessment that no later change rewrote (a terminal one, say)
//! kept the erased candidate's email there: still findable by it, and still holding it.
//! Nothing to undo on the way down: the emails are gone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let erased = match manager.get_database_backend() {
            DbBackend::Postgres => "start_request -> 'candidate' ->> 'erased' = 'true'",
            _ => "json_type(start_request, '$.candidate.erased') = 'true'",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE assessments SET candidate_email = NULL \
                 WHERE candidate_email IS NOT NULL AND {erased}"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
