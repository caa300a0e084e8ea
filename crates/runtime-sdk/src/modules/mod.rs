//! The built-in modules every ParaTime has.

pub mod accounts;
pub mod consensus_accounts;
pub mod core;
