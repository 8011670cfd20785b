//! Post-incident reviews: pure helpers for the review editor. A review is
//! written after an incident to learn from it, so it should describe what
//! happened and why it made sense at the time, not who is to blame.
//! [`blameless`] is the advisory language check the editor runs as the text
//! is written; it never blocks saving.

pub mod blameless;
pub mod document;

pub use document::{ActionLine, Entry, Facts, Moment, Review, draft, markdown};
