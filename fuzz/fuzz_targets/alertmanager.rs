//! Fuzzes the Alertmanager webhook parser: no input may panic, and every
//! accepted alert keeps the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_domain::ingest::{MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN, SeverityMap};
use tocsin_web::ingest::alertmanager;

fuzz_target!(|body: &[u8]| {
    if let Ok(events) = alertmanager::parse(body, &SeverityMap::default()) {
        for e in &events {
            assert!(!e.dedup_key.is_empty());
            assert!(e.dedup_key.chars().count() <= MAX_DEDUP_KEY_LEN);
            assert!(e.summary.chars().count() <= MAX_SUMMARY_LEN);
        }
    }
});
