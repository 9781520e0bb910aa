//! Ashby's side of the protocol: wire types named exactly as Ashby's schemas name them.

pub mod client;
pub mod wire;
