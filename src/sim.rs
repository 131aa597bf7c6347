//! The run loop: advance a backend batch by batch, hand every batch to a sink (the HDF5 writer,
//! or memory in tests), report progress, and stop cleanly when asked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, Batch, Checkpoint, Spike};
use crate::network::Network;

/// Where the output of each batch goes.
pub trait Sink {
    type Error: std::error::Error + Send + Sync + 'static;
    fn write(&mut self, network: &Network, batch: &Batch) -> Result<(), Self::Error>;

    /// Keep a checkpoint (after every batch up to its step has been written).
    fn checkpoint(&mut self, network: &Network, checkpoint: &Checkpoint)
        -> Result<(), Self::Error>;
}

/// Keeps every spike and sample in memory: for tests and small runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    /// All spikes, ordered by step then neuron.
    pub spikes: Vec<Spike>,
    /// Per probe, row-major [sample][neuron].
    pub samples: Vec<Vec<f32>>,
    /// Checkpoints taken, in order.
    pub checkpoints: Vec<Checkpoint>,
}

impl Sink for Recording {
    type Error = std::convert::Infallible;
    fn write(&mut self, network: &Network, batch: &Batch) -> Result<(), Self::Error> {
        self.spikes.extend_from_slice(&batch.spikes);
        self.samples.resize_with(network.probes.len(), Vec::new);
        for (all, new) in self.samples.iter_mut().zip(&batch.samples) {
            all.extend_from_slice(new);
        }
        Ok(())
    }

    fn checkpoint(&mut self, _: &Network, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        self.checkpoints.push(checkpoint.clone());
        Ok(())
    }
}

/// How a run goes besides the network: checkpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Take a checkpoint every this many steps (at steps that are multiples of it).
    pub checkpoint_every_steps: Option<u64>,
}

/// Where a run stands, after each batch.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub steps_done: u64,
    pub n_steps: u64,
    pub dt_ms: f64,
    pub wall: Duration,
    pub spikes: u64,
}

impl Progress {
    pub fn t_ms(&self) -> f64 {
        self.steps_done as f64 * self.dt_ms
    }

    /// Wall-clock seconds per simulated second (below 1: faster than real time).
    pub fn real_time_factor(&self) -> f64 {
        let simulated = self.t_ms() * 1e-3;
        if simulated > 0.0 {
            self.wall.as_secs_f64() / simulated
        } else {
            0.0
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub steps_done: u64,
    pub completed: bool,
    /// Wall time of the step loop (build and file creation excluded).
    pub wall: Duration,
    /// Spikes per population.
    pub spikes_per_population: Vec<u64>,
}

impl RunSummary {
    pub fn real_time_factor(&self, dt_ms: f64) -> f64 {
        let simulated = self.steps_done as f64 * dt_ms * 1e-3;
        if simulated > 0.0 {
            self.wall.as_secs_f64() / simulated
        } else {
            0.0
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("writing the output failed at t = {t_ms} ms")]
    Sink {
        t_ms: f64,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Wall time a batch should take: short enough for a live progress bar and a prompt stop.
const BATCH_WALL_TARGET: Duration = Duration::from_millis(100);
const MAX_BATCH_STEPS: u64 = 10_000;

/// Run `network` on `backend` to its end, or until `stop` is set (checked between batches).
pub fn run<S: Sink>(
    network: &Network,
    backend: &mut dyn Backend,
    sink: &mut S,
    stop: &AtomicBool,
    progress: impl FnMut(&Progress),
) -> Result<RunSummary, RunError> {
    run_with(
        network,
        backend,
        sink,
        stop,
        &RunOptions::default(),
        progress,
    )
}

/// [`run`] with options. The run continues from wherever the backend stands (a restored
/// checkpoint, for `lifsim resume`).
pub fn run_with<S: Sink>(
    network: &Network,
    backend: &mut dyn Backend,
    sink: &mut S,
    stop: &AtomicBool,
    options: &RunOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<RunSummary, RunError> {
    let mut batch = Batch::default();
    let mut spikes_per_population = vec![0u64; network.populations.len()];
    let mut batch_steps = 10u64;
    let start = Instant::now();
    let sink_error = |t_ms: f64| {
        move |e: S::Error| RunError::Sink {
            t_ms,
            source: Box::new(e),
        }
    };
    let next_checkpoint = |done: u64| {
        options
            .checkpoint_every_steps
            .filter(|&every| every > 0)
            .map_or(network.n_steps, |every| {
                ((done / every + 1) * every).min(network.n_steps)
            })
    };
    let mut horizon = next_checkpoint(backend.steps_done());
    backend.set_horizon(horizon);
    while backend.steps_done() < network.n_steps && !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let done = written_on_fault(
            backend.advance(batch_steps, &mut batch),
            network,
            &batch,
            sink,
        )?;
        count_spikes(network, &batch.spikes, &mut spikes_per_population);
        let t_ms = backend.steps_done() as f64 * network.dt_ms;
        sink.write(network, &batch).map_err(sink_error(t_ms))?;
        let took = t0.elapsed();
        // Aim the next batch at the target wall time.
        if done == batch_steps {
            let scale = BATCH_WALL_TARGET.as_secs_f64() / took.as_secs_f64().max(1e-6);
            batch_steps =
                ((batch_steps as f64 * scale.clamp(0.5, 4.0)) as u64).clamp(1, MAX_BATCH_STEPS);
        }
        if backend.steps_done() == horizon && horizon < network.n_steps {
            // The backend stopped at the horizon: nothing is in flight.
            let checkpoint = backend.checkpoint()?;
            sink.checkpoint(network, &checkpoint)
                .map_err(sink_error(t_ms))?;
            horizon = next_checkpoint(horizon);
            backend.set_horizon(horizon);
        }
        progress(&Progress {
            steps_done: backend.steps_done(),
            n_steps: network.n_steps,
            dt_ms: network.dt_ms,
            wall: start.elapsed(),
            spikes: spikes_per_population.iter().sum(),
        });
    }
    // Work the backend already has in flight is simulated: write it too.
    loop {
        let done = written_on_fault(backend.drain(&mut batch), network, &batch, sink)?;
        if done == 0 {
            break;
        }
        count_spikes(network, &batch.spikes, &mut spikes_per_population);
        let t_ms = backend.steps_done() as f64 * network.dt_ms;
        sink.write(network, &batch).map_err(sink_error(t_ms))?;
    }
    // A last checkpoint at the end lets `lifsim resume --t-stop` extend a finished run.
    let finished = backend.steps_done() >= network.n_steps;
    if finished && options.checkpoint_every_steps.is_some_and(|e| e > 0) {
        let t_ms = backend.steps_done() as f64 * network.dt_ms;
        let checkpoint = backend.checkpoint()?;
        sink.checkpoint(network, &checkpoint)
            .map_err(sink_error(t_ms))?;
    }
    Ok(RunSummary {
        steps_done: backend.steps_done(),
        completed: backend.steps_done() >= network.n_steps,
        wall: start.elapsed(),
        spikes_per_population,
    })
}

/// The result of `advance` or `drain`. A backend that stops on a numeric fault hands out the
/// steps up to the fault, the faulty one included: they are written, so that the file shows how
/// the state went wrong (best effort: the fault is the error to report).
fn written_on_fault<S: Sink>(
    result: Result<u64, BackendError>,
    network: &Network,
    batch: &Batch,
    sink: &mut S,
) -> Result<u64, BackendError> {
    if result.is_err() && batch.n_steps > 0 {
        sink.write(network, batch).ok();
    }
    result
}

/// Run to the end into memory.
pub fn run_to_memory(network: &Network, backend: &mut dyn Backend) -> Result<Recording, RunError> {
    let mut recording = Recording::default();
    run(
        network,
        backend,
        &mut recording,
        &AtomicBool::new(false),
        |_| {},
    )?;
    Ok(recording)
}

fn count_spikes(network: &Network, spikes: &[Spike], counts: &mut [u64]) {
    let mut pop = 0;
    for s in spikes {
        // Spikes are sorted by neuron within a step: usually the same or the next population.
        if !network.populations[pop].range().contains(&s.neuron) {
            pop = network.population_of(s.neuron);
        }
        counts[pop] += 1;
    }
}
