//! The integration suite: one binary, a fresh database per test. SQLite by default;
//! PostgreSQL when TEST_DATABASE_URL is set (see README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod webdriver;

mod ashby_webhooks;
mod assessment_cancel;
mod assessment_start;
mod batch_delivery;
mod candidate_email;
mod candidate_sessions;
mod catalog;
mod cli;
mod concurrent_writes;
mod console;
mod console_actions;
mod console_browser;
mod console_pages;
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
mod lookup_cache;
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
mod vendor_auth;
mod vendor_events;
mod vendor_feed;
mod webhooks;
