//! NetworkSpec -> Network: lay out populations, draw initial values and synapses, resolve stimuli
//! and recorders.

use crate::config::{Distribution, NetworkSpec, ProjectionSpec, RecorderSpec, SynapseStorage};
use crate::model::{IafCondExpDerived, StateVariable};
use crate::rng::{Philox, Stream, WordSequence};

use super::csr::{Csr, PerSynapse, Wiring};
use super::rules::{self, par_map_ranges, RuleContext};
use super::stimulus::{self, ms_to_steps};
use super::synapses::{RowRule, Synapses};
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

/// Where the synapses of rules that a backend can draw itself are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// In the network, as [`Synapses::Stored`]: every projection's CSR can be inspected (tests,
    /// tools).
    #[default]
    Host,
    /// Left to the backend, as [`Synapses::Deferred`]: the GPU backend draws them on the device,
    /// the CPU backend in the layout it delivers spikes from (the `fixed_indegree` projections of
    /// one source population with one receptor, weight and delay onto populations that do not
    /// overlap merged into one CSR). What `lifsim run` and `lifsim bench` do.
    Backend,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Threads for drawing on the host.
    pub threads: usize,
    pub placement: Placement,
}

/// Build the network described by `spec` in host memory, using `threads` threads. The result
/// depends on the spec and its seed only.
pub fn build(spec: &NetworkSpec, threads: usize) -> Result<Network, BuildError> {
    build_with(
        spec,
        &BuildOptions {
            threads,
            placement: Placement::Host,
        },
    )
}

/// Build the network described by `spec`; see [`BuildOptions`].
pub fn build_with(spec: &NetworkSpec, options: &BuildOptions) -> Result<Network, BuildError> {
    let threads = options.threads;
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

    let fixed_point = FixedPoint::for_spec(spec);
    let mut projections = Vec::with_capacity(spec.projections.len());
    for (index, proj) in spec.projections.iter().enumerate() {
        let ctx = RuleContext {
            n_sources: spec.populations[proj.source].n,
            n_targets: spec.populations[proj.target].n,
            same_population: proj.source == proj.target,
            allow_autapses: proj.allow_autapses,
            allow_multapses: proj.allow_multapses,
            projection: index,
            threads: options.threads,
        };
        // Refused before anything is drawn where the count is known beforehand (every rule but
        // pairwise_bernoulli, whose drawn count is checked below).
        let size = super::size::projection_size(spec, proj);
        if size.exact && size.synapses > u64::from(u32::MAX) {
            return Err(BuildError::TooManySynapses {
                projection: proj.name.clone(),
                synapses: size.synapses,
            });
        }
        let row_rule = RowRule::for_projection(proj, &ctx, &fixed_point, dt);
        let synapses = match (proj.storage, row_rule) {
            (SynapseStorage::Procedural, Some(rule)) => Synapses::Procedural(rule),
            (SynapseStorage::Stored, Some(rule)) if options.placement == Placement::Backend => {
                Synapses::Deferred(rule)
            }
            _ => Synapses::Stored(stored_csr(proj, &ctx, &rng, &fixed_point, dt)),
        };
        if synapses.n_synapses() > u64::from(u32::MAX) {
            return Err(BuildError::TooManySynapses {
                projection: proj.name.clone(),
                synapses: synapses.n_synapses(),
            });
        }
        projections.push(Projection {
            name: proj.name.clone(),
            source: proj.source,
            target: proj.target,
            receptor: proj.receptor,
            synapses,
        });
    }
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
pub(super) fn delay_steps(delay_ms: f64, dt_ms: f64) -> u16 {
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

/// Draw the synapses of a projection into host memory: the rule's wiring, then weights (as
/// fixed-point integers) and delays (in steps) per synapse, each drawn per source row from its
/// own stream so that threads do not change them.
fn stored_csr(
    proj: &ProjectionSpec,
    ctx: &RuleContext,
    rng: &Philox,
    fixed_point: &FixedPoint,
    dt: f64,
) -> Csr {
    let wiring = rules::connect(&proj.rule, ctx, rng);
    let weights = per_synapse(
        &wiring,
        &proj.weight_ns,
        rng,
        Stream::Weight.word(ctx.projection),
        ctx.threads,
        |seq| fixed_point.to_fixed(proj.receptor, draw(&proj.weight_ns, seq, true)),
    );
    let delays = per_synapse(
        &wiring,
        &proj.delay_ms,
        rng,
        Stream::Delay.word(ctx.projection),
        ctx.threads,
        |seq| delay_steps(draw(&proj.delay_ms, seq, false), dt),
    );
    Csr {
        row_offsets: wiring.row_offsets,
        targets: wiring.targets,
        weights,
        delays,
    }
}

/// A value per synapse of `wiring` drawn by `value` from stream `(stream, row)`, or one value
/// when `dist` is a constant.
fn per_synapse<T: Copy + Send>(
    wiring: &Wiring,
    dist: &Distribution,
    rng: &Philox,
    stream: u32,
    threads: usize,
    value: impl Fn(&mut WordSequence) -> T + Sync,
) -> PerSynapse<T> {
    if dist.is_constant() {
        return PerSynapse::Constant(value(&mut rng.sequence(stream, 0)));
    }
    let n_rows = wiring.row_offsets.len() - 1;
    let chunks = par_map_ranges(n_rows, threads, |rows| {
        let mut out = Vec::new();
        for row in rows {
            let mut seq = rng.sequence(stream, row as u32);
            let len = wiring.row_offsets[row + 1] - wiring.row_offsets[row];
            out.extend((0..len).map(|_| value(&mut seq)));
        }
        out
    });
    PerSynapse::Each(chunks.concat())
}
