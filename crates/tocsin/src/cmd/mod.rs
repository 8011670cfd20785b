//! One module per subcommand: each parses its arguments into core calls
//! and prints the result. No rules live here.

pub mod chat;
pub mod config;
pub mod drill;
pub mod get;
pub mod incident;
pub mod migrate;
pub mod oncall;
pub mod send;
pub mod serve;
pub mod token;
pub mod user;

use jiff::Timestamp;
use tocsin_core::clock::{Clock, SystemClock};

pub fn now() -> Timestamp {
    SystemClock.now()
}
