//! Server time of the main pages on the demo data: the real server on
//! `127.0.0.1:0` (SQLite, demo catalog), a signed-in client in the same
//! process, 200 sequential GETs per page after a warm-up. The time is
//! measured at the client over loopback, so it is an upper bound on the
//! server's own time. The bar is "well under 50 ms".
//!
//! `cargo bench -p tocsin-web --bench pages` (optimised), or
//! `cargo test -p tocsin-web --bench pages` for a quick unoptimised run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

const RUNS: usize = 200;
const WARM_UP: usize = 20;
const PAGES: [&str; 6] = [
    "/services",
    "/services?q=tier-1",
    "/services/checkout",
    "/teams/payments",
    "/users/alice",
    "/profile",
];

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = support::spawn(true).await;
        // frank is made by hand, so his /profile has the full edit form.
        let b = app.signed_in("frank").await;
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9}",
            "page", "mean ms", "p50 ms", "p99 ms", "bytes"
        );
        for page in PAGES {
            let mut bytes = 0;
            for _ in 0..WARM_UP {
                bytes = b.page(page).await.1.len();
            }
            let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let start = Instant::now();
                let (status, _) = b.page(page).await;
                times.push(start.elapsed());
                assert!(status.is_success(), "{page}: {status}");
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / RUNS as f64;
            let p50 = ms(times[RUNS / 2]);
            let p99 = ms(times[RUNS * 99 / 100]);
            println!("{page:<22} {mean:>9.2} {p50:>9.2} {p99:>9.2} {bytes:>9}");
        }
    });
}
