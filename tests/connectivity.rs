//! Connection rules: exact degrees where the rule fixes them, Bernoulli counts within 4 sigma,
//! autapses and multapses only where allowed, and the same network for the same seed whatever
//! the thread count.

mod common;

use common::*;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use lifsim::network::{Network, PerSynapse};

fn two_populations(
    n_a: u32,
    n_b: u32,
    rule: ConnectionRule,
    same: bool,
    autapses: bool,
    multapses: bool,
) -> NetworkSpec {
    let mut s = spec(0.1, 1.0);
    s.populations
        .push(population("A", n_a, IafCondExpParams::default()));
    s.populations
        .push(population("B", n_b, IafCondExpParams::default()));
    let mut p = projection(
        0,
        if same { 0 } else { 1 },
        Receptor::Excitatory,
        1.0,
        0.1,
        rule,
    );
    p.allow_autapses = autapses;
    p.allow_multapses = multapses;
    s.projections.push(p);
    s
}

fn pairs(network: &Network) -> Vec<(u32, u32)> {
    let csr = network.projections[0]
        .synapses
        .csr()
        .expect("stored synapses");
    (0..csr.n_rows())
        .flat_map(|s| csr.targets[csr.row(s)].iter().map(move |&t| (s as u32, t)))
        .collect()
}

fn has_autapse(p: &[(u32, u32)]) -> bool {
    p.iter().any(|(s, t)| s == t)
}

fn has_multapse(p: &[(u32, u32)]) -> bool {
    let mut sorted = p.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[test]
fn fixed_indegree_gives_every_target_exactly_k_sources() {
    for (autapses, multapses) in [(true, true), (false, false), (false, true), (true, false)] {
        let net = build(&two_populations(
            300,
            0,
            ConnectionRule::FixedIndegree(40),
            true,
            autapses,
            multapses,
        ));
        let csr = net.projections[0].synapses.csr().expect("stored synapses");
        assert!(csr.indegrees(300).iter().all(|&d| d == 40));
        let p = pairs(&net);
        if !autapses {
            assert!(!has_autapse(&p));
        }
        if !multapses {
            assert!(!has_multapse(&p));
        }
        // Rows are sorted by target.
        assert!((0..csr.n_rows()).all(|s| csr.targets[csr.row(s)].windows(2).all(|w| w[0] <= w[1])));
    }
    // Drawing every possible source without multapses: the full set.
    let net = build(&two_populations(
        50,
        0,
        ConnectionRule::FixedIndegree(49),
        true,
        false,
        false,
    ));
    assert_eq!(pairs(&net).len(), 50 * 49);
    assert!(!has_autapse(&pairs(&net)) && !has_multapse(&pairs(&net)));
}

#[test]
fn with_multapses_allowed_they_occur_at_the_expected_rate() {
    // 200 targets x 100 draws from 100 sources: most targets see repeated sources.
    let net = build(&two_populations(
        100,
        200,
        ConnectionRule::FixedIndegree(100),
        false,
        true,
        true,
    ));
    assert!(has_multapse(&pairs(&net)));
}

#[test]
fn fixed_outdegree_gives_every_source_exactly_k_targets() {
    for (autapses, multapses) in [(true, true), (false, false)] {
        let net = build(&two_populations(
            250,
            0,
            ConnectionRule::FixedOutdegree(30),
            true,
            autapses,
            multapses,
        ));
        assert!(net.projections[0]
            .synapses
            .csr()
            .unwrap()
            .outdegrees()
            .iter()
            .all(|&d| d == 30));
        let p = pairs(&net);
        assert!(autapses || !has_autapse(&p));
        assert!(multapses || !has_multapse(&p));
    }
}

#[test]
fn fixed_total_number_is_exact() {
    for multapses in [true, false] {
        let net = build(&two_populations(
            40,
            60,
            ConnectionRule::FixedTotalNumber(2000),
            false,
            true,
            multapses,
        ));
        assert_eq!(net.n_synapses(), 2000);
        if !multapses {
            assert!(!has_multapse(&pairs(&net)));
        }
    }
    let net = build(&two_populations(
        30,
        0,
        ConnectionRule::FixedTotalNumber(870),
        true,
        false,
        false,
    ));
    // 30 x 29 = 870: every pair but the autapses.
    assert_eq!(pairs(&net).len(), 870);
    assert!(!has_autapse(&pairs(&net)));
}

#[test]
fn pairwise_bernoulli_count_is_within_4_sigma() {
    for (n_a, n_b, p) in [(400u32, 500u32, 0.1), (1000, 1000, 0.01), (200, 300, 0.9)] {
        let net = build(&two_populations(
            n_a,
            n_b,
            ConnectionRule::PairwiseBernoulli(p),
            false,
            true,
            true,
        ));
        let pairs_n = f64::from(n_a) * f64::from(n_b);
        let mean = pairs_n * p;
        let sigma = (pairs_n * p * (1.0 - p)).sqrt();
        let got = net.n_synapses() as f64;
        assert!(
            (got - mean).abs() <= 4.0 * sigma,
            "p = {p}: {got} synapses, expected {mean} +- {sigma}"
        );
        assert!(!has_multapse(&pairs(&net)));
    }
    let net = build(&two_populations(
        300,
        0,
        ConnectionRule::PairwiseBernoulli(0.2),
        true,
        false,
        true,
    ));
    assert!(!has_autapse(&pairs(&net)));
    let all = build(&two_populations(
        20,
        0,
        ConnectionRule::PairwiseBernoulli(1.0),
        true,
        false,
        true,
    ));
    assert_eq!(all.n_synapses(), 20 * 19);
}

#[test]
fn all_to_all_and_one_to_one() {
    let net = build(&two_populations(
        7,
        9,
        ConnectionRule::AllToAll,
        false,
        true,
        true,
    ));
    assert_eq!(net.n_synapses(), 63);
    let net = build(&two_populations(
        7,
        0,
        ConnectionRule::AllToAll,
        true,
        false,
        true,
    ));
    assert_eq!(net.n_synapses(), 42);
    assert!(!has_autapse(&pairs(&net)));
    let net = build(&two_populations(
        12,
        12,
        ConnectionRule::OneToOne,
        false,
        true,
        true,
    ));
    assert_eq!(pairs(&net), (0..12).map(|i| (i, i)).collect::<Vec<_>>());
}

#[test]
fn same_seed_same_network_on_any_thread_count_and_new_seed_new_network() {
    let mut s = two_populations(
        500,
        400,
        ConnectionRule::FixedIndegree(50),
        false,
        true,
        true,
    );
    s.projections[0].weight_ns = Distribution::Normal {
        mean: 2.0,
        std: 1.0,
    };
    s.projections[0].delay_ms = Distribution::Uniform {
        low: 0.1,
        high: 2.0,
    };
    let one = lifsim::network::build(&s, 1).unwrap();
    for threads in [2, 3, 8] {
        let other = lifsim::network::build(&s, threads).unwrap();
        assert_eq!(one.projections, other.projections, "{threads} threads");
        assert_eq!(one.initial_state, other.initial_state);
    }
    s.simulation.seed = 2;
    let reseeded = lifsim::network::build(&s, 1).unwrap();
    assert_ne!(one.projections, reseeded.projections);
}

#[test]
fn weight_and_delay_distributions_are_respected() {
    let mut s = two_populations(
        200,
        200,
        ConnectionRule::FixedIndegree(50),
        false,
        true,
        true,
    );
    s.projections[0].weight_ns = Distribution::Normal {
        mean: 1.0,
        std: 1.0,
    };
    s.projections[0].delay_ms = Distribution::Uniform {
        low: 0.1,
        high: 1.5,
    };
    let net = build(&s);
    let csr = net.projections[0].synapses.csr().expect("stored synapses");
    let PerSynapse::Each(weights) = &csr.weights else {
        panic!("expected per-synapse weights")
    };
    // Truncated at 0: no negative weight.
    assert!(weights.iter().all(|&w| w >= 0));
    let PerSynapse::Each(delays) = &csr.delays else {
        panic!("expected per-synapse delays")
    };
    assert!(delays.iter().all(|&d| (1..=15).contains(&d)));
    assert_eq!(
        net.max_delay_steps,
        u32::from(*delays.iter().max().unwrap())
    );
    // The fixed-point scale keeps the largest summed in-weight within half an i32.
    let scale = f64::from(net.fixed_point.scale[0]);
    let mut per_target = vec![0i64; 200];
    for (i, &t) in csr.targets.iter().enumerate() {
        per_target[t as usize] += i64::from(weights[i]);
    }
    assert!(per_target
        .iter()
        .all(|&w| w <= i64::from(i32::MAX) / 2 + 200));
    assert!(scale >= 1024.0, "scale {scale}");
}

#[test]
fn a_projection_of_more_synapses_than_u32_counts_is_refused_before_drawing() {
    // 5 x 10^9 pairs would take 40 GB to draw: refused from the rule's count alone, at once.
    for multapses in [true, false] {
        let s = two_populations(
            100_000,
            100_000,
            ConnectionRule::FixedTotalNumber(5_000_000_000),
            false,
            true,
            multapses,
        );
        let started = std::time::Instant::now();
        let error = lifsim::network::build(&s, 2).expect_err("too many synapses");
        assert!(
            matches!(
                error,
                lifsim::network::BuildError::TooManySynapses {
                    synapses: 5_000_000_000,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains("split it into several projections"));
        assert!(started.elapsed().as_secs() < 5, "refused before drawing");
    }
}
