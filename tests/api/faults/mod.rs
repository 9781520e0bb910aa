//! Fault injection: the database's disk fills up, its server restarts, replicas' clocks
//! disagree. Each test asserts that nothing acknowledged is lost and nothing is sent twice.

mod full_disk;
mod own_postgres;
mod pooled_connections;
mod postgres_restart;
mod skewed_clocks;
mod tmpfs;
