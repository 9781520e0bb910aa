//! ashby-partner: the bridge between an assessment vendor and Ashby.

pub mod ashby;
pub mod ashby_webhooks;
pub mod background;
pub mod candidate_links;
pub mod cli;
pub mod console;
pub mod crypto;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod health;
pub mod housekeeping;
pub mod listeners;
pub mod lookup_cache;
pub mod metrics;
pub mod outgoing;
pub mod partner_api;
pub mod preflight;
pub mod rate_limit;
pub mod representation;
pub mod request_body;
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

/// mimalloc for every binary built on this library (the server, the bench, the tests).
/// Each request allocates a few hundred small objects (JSON values, queries, rows) on one
/// worker thread and frees them on another; under load glibc's malloc spent a tenth of
/// the machine's CPU on that (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
