//! NetworkSpec -> Network: lay out populations, draw initial values and synapses, resolve stimuli
//! and recorders.

use crate::config::{Distribution, NetworkSpec, RecorderSpec};
use crate::model::{IafCondExpDerived, StateVariable};
use crate::rng::{Philox, Stream, WordSequence};

use super::csr::{Csr, PerSynapse, Wiring};
use super::rules::{self, par_map_ranges, RuleContext};
use super::stimulus::{self, ms_to_steps};
use super::{FixedPoint, Network, NeuronState, Population, Probe, Projection};

/// A spec that validated but cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "projection `{projection}` has {synapses} synapses; one projection holds at most \
         4,294,967,295 (split it into several projections or lower its density)"
    )]
    TooManySynapses { projection: String, synapses: u64 },
    #[error(
        "the network has {neurons} neurons; lifsim indexes neurons with 32 bits, so at most \
         4,294,967,295 fit in one network"
    )]
    TooManyNeurons { neurons: u64 },
}

/// Build the network described by `spec`, using `threads` threads for the connection rules.
/// The result depends on the spec and its seed only.
pub fn build(spec: &NetworkSpec, threads: usize) -> Result<Network, BuildError> {
    let dt = spec.simulation.dt_ms;
    let rng = Philox::new(spec.simulation.seed);

    let total: u64 = spec.populations.iter().map(|p| u64::from(p.n)).sum();
    if total > u64::from(u32::MAX) {
        return Err(BuildError::TooManyNeurons { neurons: total });
    }
    let mut offset = 0u32;
    let populations: Vec<Population> = spec
        .populations
        .iter()
        .map(|p| {
            let pop = Population {
                name: p.name.clone(),
                offset,
                n: p.n,
                params: p.params,
                derived: IafCondExpDerived::new(&p.params, dt),
            };
            offset += p.n;
            pop
        })
        .collect();

    let mut initial_state = NeuronState {
        v_m: Vec::with_capacity(total as usize),
        g_ex: Vec::with_capacity(total as usize),
        g_in: Vec::with_capacity(total as usize),
        refractory: vec![0; total as usize],
        i_stim: vec![0.0; total as usize],
    };
    for (index, p) in spec.populations.iter().enumerate() {
        for variable in StateVariable::ALL {
            let stream = Stream::InitialValue.word(index * 4 + variable.index());
            let dist = *p.initial(variable);
            let values = par_map_ranges(p.n as usize, threads, |range| {
                range
                    .map(|i| draw(&dist, &mut rng.sequence(stream, i as u32), false) as f32)
                    .collect()
            })
            .concat();
            match variable {
                StateVariable::VM => initial_state.v_m.extend(values),
                StateVariable::GEx => initial_state.g_ex.extend(values),
                StateVariable::GIn => initial_state.g_in.extend(values),
            }
        }
    }

    let wirings: Vec<Wiring> = spec
        .projections
        .iter()
        .enumerate()
        .map(|(index, proj)| {
            let ctx = RuleContext {
                n_sources: spec.populations[proj.source].n,
                n_targets: spec.populations[proj.target].n,
                same_population: proj.source == proj.target,
                allow_autapses: proj.allow_autapses,
                allow_multapses: proj.allow_multapses,
                projection: index,
                threads,
            };
            let wiring = rules::connect(&proj.rule, &ctx, &rng);
            if wiring.n_synapses() as u64 > u64::from(u32::MAX) {
                return Err(BuildError::TooManySynapses {
                    projection: proj.name.clone(),
                    synapses: wiring.n_synapses() as u64,
                });
            }
            Ok(wiring)
        })
        .collect::<Result<_, _>>()?;

    // Draw weights [nS] and delays [steps] per synapse, then choose the fixed-point scale from
    // the largest summed input any neuron can receive per receptor.
    let mut weights_ns: Vec<PerSynapse<f64>> = Vec::with_capacity(wirings.len());
    let mut delays: Vec<PerSynapse<u16>> = Vec::with_capacity(wirings.len());
    let mut in_weight = [vec![0f64; total as usize], vec![0f64; total as usize]];
    for (index, (proj, wiring)) in spec.projections.iter().zip(&wirings).enumerate() {
        let w = per_synapse_values(
            wiring,
            &proj.weight_ns,
            &rng,
            Stream::Weight.word(index),
            true,
            threads,
        );
        let d_ms = per_synapse_values(
            wiring,
            &proj.delay_ms,
            &rng,
            Stream::Delay.word(index),
            false,
            threads,
        );
        let d = match d_ms {
            PerSynapse::Constant(ms) => PerSynapse::Constant(delay_steps(ms, dt)),
            PerSynapse::Each(ms) => {
                PerSynapse::Each(ms.iter().map(|&m| delay_steps(m, dt)).collect())
            }
        };
        let target_offset = populations[proj.target].offset as usize;
        let sums = &mut in_weight[proj.receptor.index()];
        for (i, &t) in wiring.targets.iter().enumerate() {
            sums[target_offset + t as usize] += w.get(i);
        }
        weights_ns.push(w);
        delays.push(d);
    }
    let max_in = |r: usize| in_weight[r].iter().copied().fold(0.0, f64::max);
    let fixed_point = FixedPoint {
        scale: [
            FixedPoint::scale_for(max_in(0)),
            FixedPoint::scale_for(max_in(1)),
        ],
    };
    drop(in_weight);

    let projections: Vec<Projection> = spec
        .projections
        .iter()
        .zip(wirings)
        .zip(weights_ns.into_iter().zip(delays))
        .map(|((proj, wiring), (w, d))| {
            let to_fixed = |v: f64| fixed_point.to_fixed(proj.receptor, v);
            let weights = match w {
                PerSynapse::Constant(v) => PerSynapse::Constant(to_fixed(v)),
                PerSynapse::Each(vs) => PerSynapse::Each(vs.into_iter().map(to_fixed).collect()),
            };
            Projection {
                name: proj.name.clone(),
                source: proj.source,
                target: proj.target,
                receptor: proj.receptor,
                synapses: Csr {
                    row_offsets: wiring.row_offsets,
                    targets: wiring.targets,
                    weights,
                    delays: d,
                },
            }
        })
        .collect();
    let max_delay_steps = projections
        .iter()
        .map(|p| u32::from(p.synapses.max_delay()))
        .max()
        .unwrap_or(1)
        .max(1);

    let stimuli = spec
        .stimuli
        .iter()
        .enumerate()
        .map(|(i, s)| stimulus::resolve(s, i, populations[s.target.population].offset, dt))
        .collect();

    let mut record_spikes = vec![false; populations.len()];
    let mut probes = Vec::new();
    for r in &spec.recorders {
        match r {
            RecorderSpec::Spikes { populations: pops } => {
                for &p in pops {
                    record_spikes[p] = true;
                }
            }
            RecorderSpec::State {
                population,
                neurons,
                variables,
                interval_steps,
            } => {
                let offset = populations[*population].offset;
                for &variable in variables {
                    probes.push(Probe {
                        population: *population,
                        variable,
                        neurons: neurons.iter().map(|&n| offset + n).collect(),
                        interval_steps: *interval_steps,
                    });
                }
            }
        }
    }

    Ok(Network {
        dt_ms: dt,
        n_steps: spec.simulation.n_steps(),
        seed: spec.simulation.seed,
        populations,
        projections,
        stimuli,
        probes,
        record_spikes,
        initial_state,
        fixed_point,
        max_delay_steps,
        spec: spec.clone(),
    })
}

/// NEST's delay in steps: `round(d / dt)`, at least one step (the validator rejects less).
fn delay_steps(delay_ms: f64, dt_ms: f64) -> u16 {
    ms_to_steps(delay_ms, dt_ms).clamp(1, i64::from(u16::MAX)) as u16
}

/// One draw from `dist`; `non_negative` redraws negative values (a normal truncated at 0).
fn draw(dist: &Distribution, seq: &mut WordSequence, non_negative: bool) -> f64 {
    match *dist {
        Distribution::Constant(v) => v,
        Distribution::Uniform { low, high } => low + (high - low) * seq.next_f64(),
        Distribution::Normal { mean, std } => loop {
            let v = mean + std * seq.next_normal();
            if !non_negative || v >= 0.0 {
                break v;
            }
        },
    }
}

/// Values of every synapse of `wiring`, drawn per source row from stream `(stream, row)`.
fn per_synapse_values(
    wiring: &Wiring,
    dist: &Distribution,
    rng: &Philox,
    stream: u32,
    non_negative: bool,
    threads: usize,
) -> PerSynapse<f64> {
    if let Distribution::Constant(v) = *dist {
        return PerSynapse::Constant(v);
    }
    let n_rows = wiring.row_offsets.len() - 1;
    let chunks = par_map_ranges(n_rows, threads, |rows| {
        let mut out = Vec::new();
        for row in rows {
            let mut seq = rng.sequence(stream, row as u32);
            let len = wiring.row_offsets[row + 1] - wiring.row_offsets[row];
            out.extend((0..len).map(|_| draw(dist, &mut seq, non_negative)));
        }
        out
    });
    PerSynapse::Each(chunks.concat())
}
