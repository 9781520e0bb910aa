//! The integration suite: one binary, a fresh database per test. SQLite by default;
//! PostgreSQL when TEST_DATABASE_URL is set (see README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod ashby_webhooks;
mod assessment_cancel;
mod assessment_start;
mod build_checks;
mod candidate_email;
mod candidate_sessions;
mod catalog;
mod cli;
mod crash;
mod deliveries_admin;
mod delivery;
mod demo;
mod deploy_kit;
mod expiry;
mod faults;
mod health;
mod input_rules;
mod limits;
mod listeners;
mod management;
mod metrics;
mod migrations;
mod openapi;
mod partner_auth;
mod retention;
mod safe_ops;
mod secret_files;
mod stored_once;
mod tenant_catalogs;
mod throttling;
mod tracing_export;
mod vendor_auth;
mod vendor_events;
mod vendor_feed;
mod webhooks;
