//! Shared by this crate's integration tests; each test file uses a part.
#![allow(dead_code)]

pub mod catalog;
pub mod synapse;
