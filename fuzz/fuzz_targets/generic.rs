//! Fuzzes tocsin's generic JSON event parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_domain::ingest::{EventAction, MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN, SeverityMap};
use tocsin_web::ingest::generic;

fuzz_target!(|body: &[u8]| {
    if let Ok(e) = generic::parse(body, &SeverityMap::default()) {
        assert_eq!(e.dedup_key.is_empty(), e.action == EventAction::Change);
        assert!(e.dedup_key.chars().count() <= MAX_DEDUP_KEY_LEN);
        assert!(e.summary.chars().count() <= MAX_SUMMARY_LEN);
    }
});
