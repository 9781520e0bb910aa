//! ashby-partner: the bridge between an assessment vendor and Ashby.

pub mod ashby;
pub mod candidate_links;
pub mod cli;
pub mod crypto;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod health;
pub mod listeners;
pub mod metrics;
pub mod outgoing;
pub mod partner_api;
pub mod rate_limit;
pub mod representation;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod vendor_api;
