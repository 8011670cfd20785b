//! Fuzzes the Opsgenie Alert API parsers: create, and the three actions
//! with the identifier and identifierType taken from the input too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_domain::ingest::{MAX_DEDUP_KEY_LEN, SeverityMap};
use tocsin_web::ingest::opsgenie::{self, OgOp};

fuzz_target!(|input: &[u8]| {
    let map = SeverityMap::default();
    if let Ok(OgOp::Create(e)) = opsgenie::parse_create(input, &map) {
        assert!(e.dedup_key.chars().count() <= MAX_DEDUP_KEY_LEN);
    }
    // First line: identifier; second: identifierType; the rest: the body.
    let mut parts = input.splitn(3, |b| *b == b'\n');
    let ident = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let kind = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    let _ = opsgenie::parse_acknowledge(&ident, kind.as_deref(), body);
    let _ = opsgenie::parse_close(&ident, kind.as_deref(), body);
    let _ = opsgenie::parse_add_note(&ident, kind.as_deref(), body);
    let _ = opsgenie::genie_key(&ident);
});
