//! The COBA benchmark network (`../shared/reference/coba.md`): chaotic, so compare statistics
//! with NEST's (rates within 10 %, CV(ISI) within 0.1, activity self-sustained), for two seeds.

mod common;

use common::*;

#[test]
fn coba_matches_nest_statistics_for_two_seeds() {
    for seed in [1, 2] {
        let network = build(&coba(4000, 1000.0, seed));
        for kind in backends() {
            let rec = simulate(&network, kind);
            let (rate_e, cv_e, late_e) = rate_cv(&network, &rec, 0..3200);
            let (rate_i, _, late_i) = rate_cv(&network, &rec, 3200..4000);
            eprintln!(
                "seed {seed} {}: rate E {rate_e:.2} Hz, I {rate_i:.2} Hz, CV E {cv_e:.2}, last 100 ms E {late_e:.1} Hz I {late_i:.1} Hz",
                kind.name()
            );
            // NEST 3.10: 15.01 / 14.39 Hz, CV 1.41.
            assert!(
                (13.5..=16.5).contains(&rate_e),
                "seed {seed}: rate E {rate_e}"
            );
            assert!(
                (12.9..=15.9).contains(&rate_i),
                "seed {seed}: rate I {rate_i}"
            );
            assert!((1.31..=1.51).contains(&cv_e), "seed {seed}: CV E {cv_e}");
            assert!(
                late_e > 5.0 && late_i > 5.0,
                "seed {seed}: activity died out"
            );
        }
    }
}
