//! Fuzzes the PagerDuty Events API v2 parsers (alert and change events):
//! no input may panic, and an accepted event keeps the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_domain::ingest::{MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN, SeverityMap};
use tocsin_web::ingest::pagerduty;

fuzz_target!(|body: &[u8]| {
    let map = SeverityMap::default();
    match pagerduty::parse_event(body, &map) {
        Ok(e) => {
            assert!(!e.event.dedup_key.is_empty());
            assert!(e.event.dedup_key.chars().count() <= MAX_DEDUP_KEY_LEN);
            assert!(e.event.summary.chars().count() <= MAX_SUMMARY_LEN);
            let _ = pagerduty::success_body(&e.event.dedup_key);
        }
        Err(err) => {
            assert!(!err.errors.is_empty());
            let _ = err.body();
        }
    }
    if let Ok(c) = pagerduty::parse_change(body) {
        assert!(c.event.summary.chars().count() <= MAX_SUMMARY_LEN);
    }
});
