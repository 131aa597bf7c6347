//! Every class of bad config gets its own message: these tests check that each names the file,
//! the line, the key and a hint that would fix it.

use std::path::Path;

use lifsim::config::{apply_overrides, parse, BackendChoice, ConfigError, Overrides};

/// A valid config of 11 lines; the tests append tables to it, from line 12 on.
const BASE: &str = r#"[simulation]
dt = 0.1
t_stop = 100.0

[[population]]
name = "E"
n = 10

[[population]]
name = "I"
n = 5
"#;

/// The message of the error that `text` gives, parsed as `bad.toml`.
fn error_of(text: &str) -> String {
    match parse(text, Path::new("bad.toml")) {
        Ok(_) => panic!("this config should be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The message for BASE followed by `extra`.
fn error_with(extra: &str) -> String {
    error_of(&format!("{BASE}{extra}"))
}

/// `bad.toml:<line>:` for line `k` (1-based) of the text appended to BASE.
fn at(k: usize) -> String {
    format!("bad.toml:{}:", BASE.lines().count() + k)
}

#[track_caller]
fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "expected {part:?} in:\n{message}");
    }
}

#[test]
fn base_config_is_valid() {
    parse(BASE, Path::new("base.toml")).unwrap();
}

#[test]
fn toml_syntax_error_gives_line_and_column() {
    let m = error_of("[simulation]\ndt = 0.1\nt_stop = \n");
    assert_mentions(
        &m,
        &[
            "bad.toml:3:10:",
            "TOML syntax error",
            "line 3 reads `t_stop =`",
        ],
    );
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nn = 4\n");
    assert_mentions(
        &m,
        &[&at(4), "duplicate key", "a key may appear once per table"],
    );
}

#[test]
fn unknown_key_suggests_the_closest_valid_one() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_t = -50.0\n");
    assert_mentions(
        &m,
        &[
            &format!("{}1: population \"X\": unknown key `V_t`", at(4)),
            "did you mean `V_th`?",
            "valid keys here:",
            "`tau_syn_ex`",
        ],
    );
    let m = error_of("[simulaton]\nt_stop = 1\n");
    assert_mentions(&m, &["bad.toml:1:2:", "did you mean `simulation`?"]);
    let m = error_with(
        "[[population]]\nname = \"X\"\nn = 3\nV_m = { normal = { mean = 1, sd = 2 } }\n",
    );
    assert_mentions(
        &m,
        &[
            &at(4),
            "V_m.normal: unknown key `sd`",
            "did you mean `std`?",
        ],
    );
}

#[test]
fn wrong_type_names_found_and_expected_types() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3.5\n");
    assert_mentions(
        &m,
        &[
            &format!("{}5: population \"X\": n:", at(3)),
            "found the float 3.5, expected an integer",
        ],
    );
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"all_to_all\"\nallow_autapses = \"yes\"\n");
    assert_mentions(
        &m,
        &[at(7).as_str(), "allow_autapses", "expected a boolean"],
    );
    let m = error_of("[simulation]\nt_stop = true\n");
    assert_mentions(
        &m,
        &[
            "bad.toml:2:10:",
            "simulation: t_stop",
            "found the boolean true",
            "a string with a unit",
        ],
    );
    // A single [population] table where an array of tables is expected.
    let m = error_of("[simulation]\nt_stop = 1\n[population]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &[
            "found a table, expected an array",
            "write [[population]] (double brackets)",
        ],
    );
}

#[test]
fn missing_required_keys_are_all_reported() {
    let m = error_with("[[projection]]\nsource = \"E\"\n");
    assert_mentions(
        &m,
        &[
            "bad.toml: 4 errors",
            &format!("{}1: projection[0]: missing required key `target`", at(1)),
            "missing required key `receptor`",
            "missing required key `weight`",
            "missing required key `rule`",
            "help: add `rule = ...`: the connection rule, one of \"all_to_all\"",
        ],
    );
    let m = error_of("[simulation]\ndt = 0.1\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &[
            "bad.toml:1:1: simulation: missing required key `t_stop`",
            "a multiple of dt",
        ],
    );
    let m = error_of("[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &["missing table [simulation]", "add [simulation] with t_stop"],
    );
    let m = error_of("[simulation]\nt_stop = 1\n");
    assert_mentions(
        &m,
        &["the config defines no population", "add a [[population]]"],
    );
}

#[test]
fn wrong_unit_names_key_expected_unit_and_given_dimension() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_th = \"-50 nS\"\n");
    assert_mentions(
        &m,
        &[
            &format!("{}8: population \"X\": V_th:", at(4)),
            "expects a voltage [mV]; \"-50 nS\" is a conductance",
            "help: write a bare number in mV",
            "units of a voltage: mV, V, uV",
        ],
    );
    let m = error_of("[simulation]\nt_stop = \"1 furlong\"\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &["bad.toml:2:10:", "unknown unit `furlong`", "ms, s, us"],
    );
    let m = error_of("[simulation]\nt_stop = \"1000\"\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(&m, &["has no unit", "\"1000 ms\""]);
}

#[test]
fn quantity_strings_are_accepted_in_every_unit() {
    let spec = parse(
        &format!(
            "{BASE}[[population]]\nname = \"X\"\nn = 3\nC_m = \"0.2 nF\"\ng_L = \"0.01 uS\"\n\
             V_th = \"-0.05 V\"\nt_ref = \"5000 us\"\nI_e = \"0.3 nA\"\n"
        ),
        Path::new("units.toml"),
    )
    .unwrap();
    let p = &spec.populations[2].params;
    assert_eq!(
        (p.c_m, p.g_l, p.v_th, p.t_ref, p.i_e),
        (200.0, 10.0, -50.0, 5.0, 300.0)
    );
}

#[test]
fn non_finite_numbers_are_rejected() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nE_L = nan\nI_e = \"inf pA\"\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}7: population \"X\": E_L: expects a voltage [mV], a finite number; got NaN",
                at(4)
            ),
            &format!("{}7: population \"X\": I_e:", at(5)),
        ],
    );
}

#[test]
fn out_of_range_values_say_the_valid_range() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 0\n");
    assert_mentions(
        &m,
        &[
            &at(3),
            "n: must be at least 1 (got 0)",
            "from 1 to 4294967295",
        ],
    );
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nC_m = -1\n");
    assert_mentions(&m, &[&at(4), "C_m: C_m must be positive (got -1 pF)"]);
    let m = error_of("[simulation]\ndt = 0\nt_stop = 1\nseed = -3\nthreads = 0\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &[
            "bad.toml:2:6: simulation: dt: dt must be positive (got 0 ms)",
            "bad.toml:4:8: simulation: seed: must be at least 0 (got -3)",
            "bad.toml:5:11: simulation: threads: threads must be at least 1 (got 0)",
            "leave it out to use one thread per core",
        ],
    );
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = -6.0\nrule = \"all_to_all\"\n");
    assert_mentions(
        &m,
        &[
            &at(5),
            "weight: must be >= 0 (got -6 nS)",
            "the receptor, not the sign",
        ],
    );
    let m = error_with("[[stimulus]]\nmodel = \"poisson_generator\"\ntarget = \"E\"\nrate = \"2 MHz\"\nweight = 1\nreceptor = \"ex\"\n");
    assert_mentions(&m, &[&at(4), "unknown unit `MHz`", "Hz, kHz"]);
    let m = error_with("[[stimulus]]\nmodel = \"poisson_generator\"\ntarget = \"E\"\nrate = \"1000 kHz\"\nweight = 1\nreceptor = \"ex\"\n");
    assert_mentions(
        &m,
        &[
            &at(4),
            "rate * dt = 100 spikes per step",
            "use a rate below 1000000 Hz",
        ],
    );
    let m = error_with("[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"E\"\namplitude = 1\nstart = 5.0\nstop = 5.0\n");
    assert_mentions(
        &m,
        &[
            &at(6),
            "stop must be after start (got stop = 5 <= start = 5 ms)",
        ],
    );
}

#[test]
fn v_reset_above_v_th_uses_nests_message() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_reset = -50.0\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}11: population \"X\": V_reset: V_reset must be below V_th (got -50 >= -55 mV)",
                at(4)
            ),
            "help: V_reset must stay below V_th",
        ],
    );
    // Only V_th is set: the message points at it.
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_th = -65.0\n");
    assert_mentions(
        &m,
        &[&format!(
            "{}8: population \"X\": V_th: V_reset must be below V_th (got -60 >= -65 mV)",
            at(4)
        )],
    );
}

#[test]
fn unknown_populations_list_the_defined_ones() {
    let m = error_with("[[projection]]\nsource = \"e\"\ntarget = \"Q\"\nreceptor = \"ex\"\nweight = 1\nrule = \"all_to_all\"\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}10: projection[0] (e->Q): source: no population is named \"e\"",
                at(2)
            ),
            "did you mean `E`? defined populations: \"E\", \"I\"",
            &format!(
                "{}10: projection[0] (e->Q): target: no population is named \"Q\"",
                at(3)
            ),
        ],
    );
    let m = error_with("[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"X\"\namplitude = 1\n");
    assert_mentions(
        &m,
        &[
            &at(3),
            "stimulus[0] (dc_generator->X): target",
            "defined populations: \"E\", \"I\"",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"spike_recorder\"\npopulations = [\"E\", \"Q\"]\n");
    assert_mentions(
        &m,
        &[
            &at(3),
            "record[0] (spike_recorder): populations: no population is named \"Q\"",
        ],
    );
    let m = error_with(
        "[[record]]\nmodel = \"multimeter\"\npopulation = \"Q\"\nrecord_from = [\"V_m\"]\n",
    );
    assert_mentions(
        &m,
        &[
            &at(3),
            "record[0] (multimeter): population",
            "defined populations",
        ],
    );
}

#[test]
fn duplicate_population_names_point_at_the_first() {
    let m = error_with("[[population]]\nname = \"E\"\nn = 3\n");
    assert_mentions(
        &m,
        &[
            &format!("{}8: population \"E\": name: a population named \"E\" is already defined on line 6", at(2)),
            "give each population its own name",
        ],
    );
    let m = error_with("[[population]]\nname = \"E 2\"\nn = 3\n");
    assert_mentions(
        &m,
        &[
            &at(2),
            "not a valid population name",
            "letters, digits, '_' and '-'",
        ],
    );
}

#[test]
fn rule_parameters_are_required_for_their_rule_only() {
    let projection =
        "[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\n";
    let m = error_with(&format!("{projection}rule = \"fixed_indegree\"\n"));
    assert_mentions(
        &m,
        &[
            &format!(
                "{}1: projection[0] (E->I): rule fixed_indegree needs `indegree`",
                at(1)
            ),
            "help: add `indegree = ...`: sources per target neuron",
        ],
    );
    let m = error_with(&format!(
        "{projection}rule = \"all_to_all\"\nindegree = 3\np = 0.1\n"
    ));
    assert_mentions(
        &m,
        &[
            &format!("{}12: projection[0] (E->I): indegree: `indegree` belongs to rule fixed_indegree, not to all_to_all", at(7)),
            "remove it, or set rule = \"fixed_indegree\"",
            &format!("{}5: projection[0] (E->I): p: `p` belongs to rule pairwise_bernoulli", at(8)),
        ],
    );
    let m = error_with(&format!("{projection}rule = \"fixed_outdegre\"\n"));
    assert_mentions(
        &m,
        &[
            &at(6),
            "unknown rule \"fixed_outdegre\"",
            "did you mean `fixed_outdegree`?",
        ],
    );
}

#[test]
fn indegree_beyond_the_source_needs_multapses() {
    let projection =
        "[[projection]]\nsource = \"I\"\ntarget = \"E\"\nreceptor = \"in\"\nweight = 1\n";
    let m = error_with(&format!(
        "{projection}rule = \"fixed_indegree\"\nindegree = 6\nallow_multapses = false\n"
    ));
    assert_mentions(
        &m,
        &[
            &format!("{}12: projection[0] (I->E): indegree: indegree = 6 needs 6 distinct sources per target, but \"I\" has only 5", at(7)),
            "lower indegree to at most 5, or set allow_multapses = true",
        ],
    );
    // Within one population without autapses, a neuron has n - 1 possible sources.
    let m = error_with("[[projection]]\nsource = \"I\"\ntarget = \"I\"\nreceptor = \"in\"\nweight = 1\nrule = \"fixed_outdegree\"\noutdegree = 5\nallow_multapses = false\nallow_autapses = false\n");
    assert_mentions(
        &m,
        &["has only 4 other than the neuron itself", "at most 4"],
    );
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"fixed_total_number\"\nN = 51\nallow_multapses = false\n");
    assert_mentions(
        &m,
        &[
            &at(7),
            "do not fit in the 50 (source, target) pairs",
            "lower N to at most 50",
        ],
    );
    // With multapses, any in-degree is fine.
    parse(
        &format!("{BASE}{projection}rule = \"fixed_indegree\"\nindegree = 60\n"),
        Path::new("ok.toml"),
    )
    .unwrap();
}

#[test]
fn one_to_one_needs_equal_sizes() {
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"one_to_one\"\n");
    assert_mentions(
        &m,
        &[
            &format!("{}8: projection[0] (E->I): rule: one_to_one connects source i to target i, but \"E\" has 10 neurons and \"I\" has 5", at(6)),
            "use populations of the same size",
        ],
    );
}

#[test]
fn p_must_be_a_probability() {
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"pairwise_bernoulli\"\np = 1.5\n");
    assert_mentions(
        &m,
        &[&format!(
            "{}5: projection[0] (E->I): p: p must be a probability in [0, 1] (got 1.5)",
            at(7)
        )],
    );
}

#[test]
fn delays_below_one_step_are_rejected_after_nests_rounding() {
    let projection = "[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"all_to_all\"\n";
    let m = error_with(&format!("{projection}delay = 0.04\n"));
    assert_mentions(
        &m,
        &[
            &format!("{}9: projection[0] (E->I): delay: a delay of 0.04 ms rounds to 0 steps of dt = 0.1 ms", at(7)),
            "use a delay of at least dt = 0.1 ms",
        ],
    );
    // 0.05 ms rounds half up to one step, as in NEST.
    parse(
        &format!("{BASE}{projection}delay = 0.05\n"),
        Path::new("ok.toml"),
    )
    .unwrap();
    let m = error_with(&format!(
        "{projection}delay = {{ uniform = [0.01, 1.0] }}\n"
    ));
    assert_mentions(&m, &[&at(7), "a delay of 0.01 ms rounds to 0 steps"]);
    let m = error_with(&format!("{projection}delay = \"7 s\"\n"));
    assert_mentions(
        &m,
        &[
            &at(7),
            "70000 steps",
            "at most 65535 steps fit",
            "at most 6553.5 ms",
        ],
    );
    let m = error_with(&format!(
        "{projection}delay = {{ normal = {{ mean = 1, std = 0.1 }} }}\n"
    ));
    assert_mentions(
        &m,
        &[
            &at(7),
            "a normal distribution is not allowed here",
            "uniform",
        ],
    );
    let m = error_with(
        "[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"E\"\namplitude = 1\ndelay = 0\n",
    );
    assert_mentions(
        &m,
        &[
            &at(5),
            "stimulus[0] (dc_generator->E): delay",
            "the shortest delay is one step",
        ],
    );
}

#[test]
fn spike_times_off_the_grid_give_the_nearest_grid_times() {
    let m = error_with("[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [10.0, 12.05]\nweight = 10\nreceptor = \"ex\"\n");
    assert_mentions(
        &m,
        &[
            &format!("{}22: stimulus[0] (spike_generator->E): spike_times[1]: 12.05 ms is not on the dt grid", at(4)),
            "the nearest grid times are 12 or 12.1 ms",
        ],
    );
    let m = error_with("[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [0.0]\nweight = 10\nreceptor = \"ex\"\n");
    assert_mentions(
        &m,
        &[
            &at(4),
            "spike_times[0]: 0 ms is before the end of the first step",
            "the earliest is dt = 0.1 ms",
        ],
    );
    let m = error_with(
        "[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"E\"\namplitude = 1\nstart = 0.25\n",
    );
    assert_mentions(
        &m,
        &[
            &at(5),
            "start: 0.25 ms is not on the dt grid",
            "0.2 or 0.3 ms",
        ],
    );
}

#[test]
fn unsorted_spike_times_are_rejected_but_repeats_are_fine() {
    let m = error_with("[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [10.0, 12.0, 11.0]\nweight = 10\nreceptor = \"ex\"\n");
    assert_mentions(
        &m,
        &[
            &format!("{}28: stimulus[0] (spike_generator->E): spike_times[2]: times must not decrease: 11 ms comes after 12 ms", at(4)),
            "sort the times",
        ],
    );
    parse(
        &format!("{BASE}[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [10.0, 10.0]\nweight = 10\nreceptor = \"ex\"\n"),
        Path::new("ok.toml"),
    )
    .unwrap();
    let m = error_with("[[stimulus]]\nmodel = \"step_current_generator\"\ntarget = \"E\"\namplitude_times = [10.0, 10.0]\namplitude_values = [1, 2]\n");
    assert_mentions(
        &m,
        &[&at(4), "amplitude_times[1]: times must increase strictly"],
    );
}

#[test]
fn amplitude_times_and_values_must_pair_up() {
    let m = error_with("[[stimulus]]\nmodel = \"step_current_generator\"\ntarget = \"E\"\namplitude_times = [20.0, 60.0]\namplitude_values = [400.0]\n");
    assert_mentions(
        &m,
        &[
            &format!("{}20: stimulus[0] (step_current_generator->E): amplitude_values: 1 amplitude_values for 2 amplitude_times", at(5)),
            "give one value [pA] per time",
        ],
    );
}

#[test]
fn keys_of_another_generator_name_the_model() {
    let m = error_with("[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [1.0]\nweight = 1\nreceptor = \"ex\"\nrate = 10.0\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}8: stimulus[0] (spike_generator->E): rate: spike_generator has no key `rate`",
                at(7)
            ),
            "the keys of spike_generator are",
            "`spike_times`",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"spike_recorder\"\nrecord_from = [\"V_m\"]\n");
    assert_mentions(&m, &[&at(3), "spike_recorder has no key `record_from`"]);
}

#[test]
fn neurons_slices_must_fit_the_population() {
    let m = error_with("[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"I\"\namplitude = 1\nneurons = \"0:20\"\n");
    assert_mentions(
        &m,
        &[
            &format!("{}11: stimulus[0] (dc_generator->I): neurons: 0:20 reaches past the population, which has 5 neurons (indices 0 to 4)", at(5)),
            "stop can be at most 5",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"I\"\nneurons = [0, 7]\nrecord_from = [\"V_m\"]\n");
    assert_mentions(
        &m,
        &[
            &at(4),
            "neurons[1]: neuron 7 is not in the population",
            "from 0 to 4",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"I\"\nneurons = [3, 1, 3]\nrecord_from = [\"V_m\"]\n");
    assert_mentions(&m, &[&at(4), "neurons: neuron 3 is listed twice"]);
}

#[test]
fn bad_slice_syntax_explains_the_syntax() {
    for (slice, what) in [
        ("0-400", "has no `:`"),
        ("a:4", "start `a` is not a whole number"),
        ("-4:", "negative"),
        ("0:4:2", "has a step"),
    ] {
        let m = error_with(&format!("[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"E\"\namplitude = 1\nneurons = \"{slice}\"\n"));
        assert_mentions(&m, &[&at(5), "neurons:", what, "help:"]);
    }
}

#[test]
fn multimeter_variables_must_be_state_variables() {
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nrecord_from = [\"V_m\", \"g_exc\"]\n");
    assert_mentions(
        &m,
        &[
            &format!("{}23: record[0] (multimeter): record_from: iaf_cond_exp has no state variable \"g_exc\"", at(4)),
            "did you mean `g_ex`? recordable variables: \"V_m\", \"g_ex\", \"g_in\"",
        ],
    );
    let m =
        error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nrecord_from = []\n");
    assert_mentions(&m, &[&at(4), "record_from: the list is empty"]);
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nrecord_from = [\"V_m\"]\n\
                        [[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nneurons = \"0:2\"\nrecord_from = [\"g_in\", \"V_m\"]\n");
    assert_mentions(
        &m,
        &[
            &at(9),
            "\"V_m\" of \"E\" is already recorded by the multimeter on line 15",
            "merge the two",
        ],
    );
}

#[test]
fn interval_must_be_a_multiple_of_dt() {
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nrecord_from = [\"V_m\"]\ninterval = 0.25\n");
    assert_mentions(
        &m,
        &[
            &format!("{}12: record[0] (multimeter): interval: interval = 0.25 ms is not a positive multiple of dt = 0.1 ms", at(5)),
            "use 0.2 or 0.3 ms",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"multimeter\"\npopulation = \"E\"\nrecord_from = [\"V_m\"]\ninterval = 0\n");
    assert_mentions(&m, &[&at(5), "not a positive multiple", "use dt = 0.1 ms"]);
}

#[test]
fn t_stop_must_be_a_multiple_of_dt() {
    let m =
        error_of("[simulation]\ndt = 0.1\nt_stop = 1000.05\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &[
            "bad.toml:3:10: simulation: t_stop: t_stop = 1000.05 ms is not a multiple of dt = 0.1 ms",
            "help: use 1000 or 1000.1 ms",
        ],
    );
    // Within 1e-9 relative: accepted.
    parse(
        "[simulation]\ndt = 0.1\nt_stop = 1000.0000000001\n[[population]]\nname = \"E\"\nn = 1\n",
        Path::new("ok.toml"),
    )
    .unwrap();
    let m = error_of("[simulation]\nt_stop = -5\n[[population]]\nname = \"E\"\nn = 1\n");
    assert_mentions(
        &m,
        &[
            "bad.toml:2:10:",
            "t_stop must be a positive time (got -5 ms)",
        ],
    );
}

#[test]
fn unknown_backend_lists_the_backends() {
    let m = error_of(
        "[simulation]\nt_stop = 10\nbackend = \"cuda\"\n[[population]]\nname = \"E\"\nn = 1\n",
    );
    assert_mentions(
        &m,
        &[
            "bad.toml:3:11: simulation: backend: unknown backend \"cuda\"",
            "valid values: \"auto\", \"cpu\", \"gpu\"",
        ],
    );
}

#[test]
fn unknown_models_list_the_supported_ones() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nmodel = \"iaf_psc_alpha\"\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}9: population \"X\": model: unknown model \"iaf_psc_alpha\"",
                at(4)
            ),
            "valid values: \"iaf_cond_exp\"",
        ],
    );
    let m = error_with("[[stimulus]]\nmodel = \"poisson_generatr\"\ntarget = \"E\"\n");
    assert_mentions(
        &m,
        &[
            &at(2),
            "did you mean `poisson_generator`?",
            "\"step_current_generator\"",
        ],
    );
    let m = error_with("[[record]]\nmodel = \"voltmeter\"\npopulation = \"E\"\n");
    assert_mentions(
        &m,
        &[
            &at(2),
            "unknown model \"voltmeter\"",
            "\"spike_recorder\", \"multimeter\"",
        ],
    );
}

#[test]
fn distributions_are_checked() {
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_m = { uniform = [-50.0, -60.0] }\ng_ex = { normal = { mean = 1, std = 1 } }\ng_in = { uniform = [-1, 1] }\n");
    assert_mentions(
        &m,
        &[
            &format!(
                "{}7: population \"X\": V_m: uniform needs low < high (got [-50, -60] mV)",
                at(4)
            ),
            &format!(
                "{}8: population \"X\": g_ex: a normal distribution is not allowed here",
                at(5)
            ),
            &format!(
                "{}21: population \"X\": g_in: the lower bound must be >= 0",
                at(6)
            ),
        ],
    );
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_m = { uniform = [-50.0] }\n");
    assert_mentions(&m, &[&at(4), "uniform takes two bounds [low, high], got 1"]);
    let m = error_with("[[population]]\nname = \"X\"\nn = 3\nV_m = { uniform = [-50.0, -40], normal = { mean = 1, std = 2 } }\n");
    assert_mentions(&m, &[&at(4), "exactly one of `uniform` or `normal`"]);
    let m = error_with("[[projection]]\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = { normal = { mean = -1, std = 1 } }\nrule = \"all_to_all\"\n");
    assert_mentions(
        &m,
        &[&at(5), "weight.normal.mean: must be >= 0", "drawn again"],
    );
}

#[test]
fn duplicate_projection_and_stimulus_names() {
    let projection = "[[projection]]\nname = \"p\"\nsource = \"E\"\ntarget = \"I\"\nreceptor = \"ex\"\nweight = 1\nrule = \"all_to_all\"\n";
    let m = error_with(&format!("{projection}{projection}"));
    assert_mentions(
        &m,
        &[&format!("{}8: projection \"p\": name: the name \"p\" is already used by the projection on line 13", at(9))],
    );
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let text = "[simulation]\ndt = 0.1\nt_stop = 100.05\nbackend = \"gpux\"\n\n\
                [[population]]\nname = \"E\"\nn = 0\nV_th = \"-50 nS\"\n\n\
                [[projection]]\nsource = \"E\"\ntarget = \"J\"\nreceptor = \"ex\"\nweight = 1\nrule = \"all_to_all\"\n";
    let e = parse(text, Path::new("bad.toml")).unwrap_err();
    let lines: Vec<usize> = e
        .diagnostics()
        .iter()
        .map(|d| d.location.unwrap().line)
        .collect();
    assert_eq!(lines, vec![3, 4, 8, 9, 13], "{e}");
    let m = e.to_string();
    assert_mentions(
        &m,
        &[
            "bad.toml: 5 errors\nbad.toml:3:10: simulation: t_stop",
            "\nbad.toml:4:11: simulation: backend",
            "\nbad.toml:8:5: population \"E\": n",
            "\nbad.toml:9:8: population \"E\": V_th",
            "\nbad.toml:13:10: projection[0] (E->J): target",
        ],
    );
}

#[test]
fn long_lists_of_problems_are_cut_short() {
    let times: Vec<String> = (1..=80).map(|i| format!("{i}.05")).collect();
    let m = error_with(&format!(
        "[[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"E\"\nspike_times = [{}]\nweight = 1\nreceptor = \"ex\"\n",
        times.join(", ")
    ));
    assert_mentions(
        &m,
        &["bad.toml: 80 errors", "bad.toml: 30 more errors not listed"],
    );
    assert_eq!(m.matches("is not on the dt grid").count(), 50);
}

#[test]
fn missing_file_names_the_file() {
    let e = lifsim::config::load(Path::new("no/such/config.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert_eq!(
        e.to_string(),
        "cannot read config file `no/such/config.toml`"
    );
    let source = std::error::Error::source(&e).expect("the io error is the source");
    assert!(!source.to_string().is_empty());
}

#[test]
fn bytes_that_are_not_utf8_give_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    // "µs" saved as Latin-1: the byte 0xB5 alone.
    std::fs::write(&path, b"[simulation]\ndt = 0.1\nt_stop = \"10 \xB5s\"\n").unwrap();
    let e = lifsim::config::load(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3:14: TOML syntax error: the file is not UTF-8 text (byte 0xB5)\n  \
             help: save the config as UTF-8; line 3 reads `t_stop = \"10 ` up to that byte",
            path.display()
        )
    );
}

#[test]
fn bad_overrides_name_the_flag_and_leave_the_spec_unchanged() {
    let mut spec = parse(BASE, Path::new("base.toml")).unwrap();
    let before = spec.clone();
    let e = apply_overrides(
        &mut spec,
        &Overrides {
            t_stop_ms: Some(50.05),
            seed: Some(7),
            ..Overrides::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--t-stop: t_stop = 50.05 ms is not a multiple of dt = 0.1 ms\n  help: use 50 or 50.1 ms"
    );
    assert_eq!(spec, before);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let o = Overrides {
            t_stop_ms: Some(bad),
            ..Overrides::default()
        };
        let m = apply_overrides(&mut spec, &o).unwrap_err().to_string();
        assert_mentions(&m, &["--t-stop: t_stop must be a positive time"]);
    }
    let o = Overrides {
        threads: Some(0),
        ..Overrides::default()
    };
    let m = apply_overrides(&mut spec, &o).unwrap_err().to_string();
    assert_mentions(&m, &["--threads: threads must be at least 1 (got 0)"]);
    assert_eq!(spec, before);

    let o = Overrides {
        t_stop_ms: Some(20.0),
        seed: Some(u64::MAX),
        backend: Some(BackendChoice::Cpu),
        threads: Some(3),
    };
    apply_overrides(&mut spec, &o).unwrap();
    let s = &spec.simulation;
    assert_eq!(
        (s.t_stop_ms, s.seed, s.backend, s.threads),
        (20.0, u64::MAX, BackendChoice::Cpu, Some(3))
    );
    assert_eq!(s.n_steps(), 200);
}

/// The parser must not panic, whatever the TOML: feed it every prefix of the shipped configs,
/// each with one line removed, and each with one value replaced by values of every type.
#[test]
fn no_input_makes_the_parser_panic() {
    let weird = [
        "-1",
        "0",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "-inf",
        "\"x\"",
        "\"\"",
        "[]",
        "{}",
        "true",
        "\"-1 s\"",
        "\"1 mS\"",
        "\"μ\"",
        "{ uniform = [] }",
        "{ uniform = [1, \"2 mV\", 3] }",
        "{ normal = { mean = nan, std = inf } }",
        "{ lognormal = 1 }",
        "9223372036854775807",
        "-9223372036854775808",
        "\"::\"",
        "\":\"",
        "\"18446744073709551616:\"",
        "[1, 2]",
        "[\"V_m\", \"V_m\"]",
        "[-1]",
        "1979-05-27",
        "[[1]]",
        "{ a = { b = { c = 1 } } }",
    ];
    // Deep nesting, at the top level and where a distribution or a slice is expected.
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_table = format!("{}1{}", "{ a = ".repeat(10_000), " }".repeat(10_000));
    for deep in [&deep_array, &deep_table] {
        let _ = parse(&format!("x = {deep}\n"), Path::new("deep.toml"));
        let _ = parse(&format!("{BASE}V_m = {deep}\n"), Path::new("deep.toml"));
        let _ = parse(
            &format!("{BASE}[[record]]\nmodel = \"multimeter\"\nneurons = {deep}\n"),
            Path::new("deep.toml"),
        );
    }
    for file in ["configs/coba.toml", "configs/single_neuron.toml"] {
        let text = std::fs::read_to_string(file).unwrap();
        let path = Path::new(file);
        for (end, _) in text.char_indices() {
            let _ = parse(&text[..end], path);
        }
        let lines: Vec<&str> = text.lines().collect();
        for i in 0..lines.len() {
            let without: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, l)| *l)
                .collect();
            let _ = parse(&without.join("\n"), path);
            let Some((key, _)) = lines[i].split_once(" = ") else {
                continue;
            };
            for value in weird {
                let mut changed = lines.clone();
                let replaced = format!("{key} = {value}");
                changed[i] = &replaced;
                let _ = parse(&changed.join("\n"), path);
            }
        }
    }
}

#[test]
fn procedural_storage_needs_a_row_rule_and_single_values() {
    let m = error_with(
        r#"
[[projection]]
source = "E"
target = "I"
receptor = "ex"
weight = 1.0
rule = "fixed_indegree"
indegree = 3
storage = "procedural"
"#,
    );
    assert_mentions(
        &m,
        &[
            &at(9),
            "storage",
            "fixed_indegree",
            "fixed_outdegree",
            "storage = \"stored\"",
        ],
    );
    let m = error_with(
        r#"
[[projection]]
source = "E"
target = "I"
receptor = "ex"
weight = { uniform = [1.0, 2.0] }
rule = "fixed_outdegree"
outdegree = 3
storage = "procedural"
"#,
    );
    assert_mentions(&m, &["weight", "one weight", "distribution"]);
    let m = error_with(
        r#"
[[projection]]
source = "E"
target = "I"
receptor = "ex"
weight = 1.0
rule = "all_to_all"
storage = "procedurally"
"#,
    );
    assert_mentions(&m, &[&at(8), "storage", "procedural", "stored"]);
}
