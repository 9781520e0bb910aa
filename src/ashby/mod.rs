//! Ashby's side of the protocol: wire types named exactly as Ashby's schemas name them,
//! the bodies built from the domain's decisions, the methods called, and the client.

pub mod client;
pub mod method;
pub mod updates;
pub mod webhooks;
pub mod wire;
