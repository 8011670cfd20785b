//! Fuzzes the ChatOps command parser: it never panics, every error says
//! what was wrong and shows a usage line, and every command it accepts
//! reads back as itself from its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_domain::chatops::{help, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match parse(line) {
        Ok(command) => {
            let canonical = command.to_string();
            assert_eq!(parse(&canonical), Ok(command), "{line:?} -> {canonical:?}");
        }
        Err(e) => {
            assert!(!e.problem.is_empty() && !e.problem.contains('\n'), "{e}");
            assert!(e.to_string().contains("\nusage: "), "{e}");
        }
    }
    assert!(!help(Some(line)).is_empty());
});
