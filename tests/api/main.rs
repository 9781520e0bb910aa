//! The integration suite: one binary, a fresh database per test. SQLite by default;
//! PostgreSQL when TEST_DATABASE_URL is set (see README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod assessment_cancel;
mod assessment_start;
mod candidate_sessions;
mod catalog;
mod cli;
mod crash;
mod delivery;
mod demo;
mod health;
mod input_rules;
mod limits;
mod listeners;
mod metrics;
mod migrations;
mod openapi;
mod partner_auth;
mod secret_files;
mod stored_once;
mod tenant_catalogs;
mod vendor_auth;
mod vendor_events;
mod vendor_feed;
mod webhooks;
