//! The network view: `configs/coba.toml` (Brette et al. 2007, benchmark 1: 4,000 neurons) run
//! live on the CPU backend, on a thread of its own, paced against the wall clock, streaming a
//! subsampled raster and the population rates.
//!
//! The kick. The config ignites the network with its own `kick` stimulus, a 300 Hz Poisson train
//! onto 400 E neurons for 1 < t <= 101 ms. The demo's kick plays that stimulus again: a new
//! backend, with a new seed so that the trains are new, continues from a checkpoint of the old one
//! with its step counter at zero, so the config's stimuli start over. The kick is the network's
//! own, documented input (the page shows what the config says), and nothing is lost on the way:
//! the checkpoint carries the delay rings, their slots turned to the new step count
//! ([`restart_at_zero`]), so input still travelling arrives when it would have.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, BackendError, Batch, Checkpoint};
use crate::config::{BackendChoice, ConfigError, Overrides};
use crate::network::{BuildError, Network};

use super::clock::Clock;
use super::{steps_to_ms, DT_MS};

/// Where the network comes from, as the page names it.
pub const COBA_PATH: &str = "configs/coba.toml";
const COBA_TOML: &str = include_str!("../../configs/coba.toml");

/// The live network is built with this `t_stop` [ms] (11.6 days of network time): longer than
/// anyone watches, and the simulation stops cleanly at its end.
const LIVE_T_STOP_MS: f64 = 1e9;

/// The raster shows at most this many neurons (every k-th neuron, k as small as possible).
pub const MAX_RASTER_ROWS: u32 = 500;

/// Width of a population-rate bin [steps]: 5 ms.
pub const RATE_BIN_STEPS: u64 = 50;

/// How often the worker advances the network and sends a frame.
const TICK: Duration = Duration::from_millis(33);

/// Spikes a frame waiting for the page may hold; beyond that, new spikes are left out of the
/// raster (the rates still count them).
const MAX_PENDING_SPIKES: usize = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("the network config {COBA_PATH} built into lifsim is invalid: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot build the network of {COBA_PATH}: {0}")]
    Build(#[from] BuildError),
}

/// Builds the COBA network of `configs/coba.toml` (embedded in the binary) for a live run on
/// one CPU thread, without its recorders.
pub fn build_coba() -> Result<Network, NetworkError> {
    let mut spec = crate::config::parse(COBA_TOML, Path::new(COBA_PATH))?;
    crate::config::apply_overrides(
        &mut spec,
        &Overrides {
            t_stop_ms: Some(LIVE_T_STOP_MS),
            backend: Some(BackendChoice::Cpu),
            threads: Some(1),
            ..Overrides::default()
        },
    )?;
    let mut network = crate::network::build(&spec, 1)?;
    network.probes.clear();
    Ok(network)
}

/// Rows of the raster that show one population's neurons.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationRows {
    pub name: String,
    /// Neurons in the population.
    pub n: u32,
    pub first_row: u32,
    pub rows: u32,
}

/// What the page needs to draw the network view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkInfo {
    pub config: &'static str,
    pub n_neurons: u32,
    pub n_synapses: u64,
    /// The raster shows neurons 0, stride, 2 stride, ...: neuron `i` is row `i / stride`.
    pub stride: u32,
    pub rows: u32,
    pub populations: Vec<PopulationRows>,
    /// Width of a rate bin [ms].
    pub bin_ms: f64,
    /// When the config's kick stimulus plays, relative to a start or a kick [ms].
    pub kick_window_ms: Option<(f64, f64)>,
}

impl NetworkInfo {
    pub fn new(network: &Network) -> NetworkInfo {
        let n = network.n_neurons();
        let stride = n.div_ceil(MAX_RASTER_ROWS).max(1);
        let populations = network
            .populations
            .iter()
            .map(|p| {
                let first_row = p.offset.div_ceil(stride);
                PopulationRows {
                    name: p.name.clone(),
                    n: p.n,
                    first_row,
                    rows: (p.offset + p.n).div_ceil(stride) - first_row,
                }
            })
            .collect();
        let kick_window_ms = network.spec.stimuli.iter().find_map(|s| match s.kind {
            crate::config::StimulusKind::Poisson {
                start_ms, stop_ms, ..
            } => Some((start_ms, stop_ms)),
            _ => None,
        });
        NetworkInfo {
            config: COBA_PATH,
            n_neurons: n,
            n_synapses: network.n_synapses(),
            stride,
            rows: n.div_ceil(stride),
            populations,
            bin_ms: steps_to_ms(RATE_BIN_STEPS),
            kick_window_ms,
        }
    }

    /// The raster row of `neuron`, if it is shown.
    pub fn row_of(&self, neuron: u32) -> Option<u32> {
        neuron
            .is_multiple_of(self.stride)
            .then_some(neuron / self.stride)
    }
}

/// What the page can ask of the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    Start,
    Stop,
    /// Play the config's kick stimulus again (and run).
    Kick,
    /// Times slower than real time.
    SetSlowdown(f64),
}

/// Population rates over one bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateBin {
    /// End of the bin [ms].
    pub t_ms: f64,
    /// Per population, in the order of `NetworkInfo::populations` [Hz].
    pub hz: Vec<f32>,
}

/// What happened since the last frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NetworkFrame {
    /// Network time [ms], counted across kicks.
    pub t_ms: f64,
    pub running: bool,
    pub kicks: u32,
    /// Network times of the kicks in this frame [ms].
    pub kicked_at_ms: Vec<f64>,
    /// Shown spikes: (time [ms], raster row).
    pub spikes: Vec<(f64, u32)>,
    /// Spikes left out because the page was not reading.
    pub spikes_dropped: u64,
    pub rates: Vec<RateBin>,
    /// Why the network stopped by itself, if it did.
    pub stopped_because: Option<String>,
}

/// The network on its worker thread, as the session sees it. Dropping it stops the thread.
pub struct LiveNetwork {
    info: NetworkInfo,
    commands: Option<Sender<Command>>,
    frames: Receiver<NetworkFrame>,
    thread: Option<JoinHandle<()>>,
}

impl LiveNetwork {
    /// Starts the worker thread, stopped, `slowdown` times slower than real time.
    pub fn spawn(network: Network, slowdown: f64) -> LiveNetwork {
        let info = NetworkInfo::new(&network);
        let (commands, command_rx) = mpsc::channel();
        // One frame in the channel: a page that reads slowly gets fewer, fuller frames.
        let (frame_tx, frames) = mpsc::sync_channel(1);
        let worker = Worker {
            info: info.clone(),
            base_seed: network.seed,
            commands: command_rx,
            frames: frame_tx,
            clock: Clock::new(slowdown, DT_MS, Instant::now(), 0),
            running: false,
            kicks: 0,
            offset_steps: 0,
            rates: RateCounter::new(&network),
            pending: NetworkFrame::default(),
            batch: Batch::default(),
        };
        let thread = std::thread::Builder::new()
            .name("lifsim-demo-network".to_string())
            .spawn(move || worker.run(network))
            .ok();
        LiveNetwork {
            info,
            commands: Some(commands),
            frames,
            thread,
        }
    }

    pub fn info(&self) -> &NetworkInfo {
        &self.info
    }

    pub fn command(&self, command: Command) {
        if let Some(c) = &self.commands {
            // A worker that is gone has stopped for good; its last frame says why.
            let _ = c.send(command);
        }
    }

    /// The next frame, if one is ready.
    pub fn try_frame(&self) -> Option<NetworkFrame> {
        self.frames.try_recv().ok()
    }

    /// Waits up to `timeout` for the next frame.
    pub fn frame_timeout(&self, timeout: Duration) -> Option<NetworkFrame> {
        self.frames.recv_timeout(timeout).ok()
    }
}

impl Drop for LiveNetwork {
    fn drop(&mut self) {
        self.commands = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `checkpoint` with its step counter at zero: ring slot `s` holds the input due in the steps `k`
/// with `k mod slots == s`, so after counting from zero again the input due `j` steps ahead moves
/// from slot `(step + j) mod slots` to slot `j mod slots`.
pub fn restart_at_zero(checkpoint: &Checkpoint, slots: usize) -> Checkpoint {
    let n = checkpoint.state.len();
    let shift = (checkpoint.step % slots as u64) as usize;
    let rotate = |ring: &[i32]| -> Vec<i32> {
        let mut out = vec![0; ring.len()];
        for slot in 0..slots {
            let old = (slot + shift) % slots;
            out[slot * n..(slot + 1) * n].copy_from_slice(&ring[old * n..(old + 1) * n]);
        }
        out
    };
    Checkpoint {
        step: 0,
        state: checkpoint.state.clone(),
        ring_ex: rotate(&checkpoint.ring_ex),
        ring_in: rotate(&checkpoint.ring_in),
    }
}

/// Counts spikes per population into bins of [`RATE_BIN_STEPS`].
struct RateCounter {
    sizes: Vec<u32>,
    offsets: Vec<u32>,
    counts: Vec<u32>,
    /// First step of the open bin (network time).
    bin_start: u64,
}

impl RateCounter {
    fn new(network: &Network) -> RateCounter {
        RateCounter {
            sizes: network.populations.iter().map(|p| p.n).collect(),
            offsets: network.populations.iter().map(|p| p.offset).collect(),
            counts: vec![0; network.populations.len()],
            bin_start: 0,
        }
    }

    /// Closes every bin that ends at or before `steps` (network time).
    fn close_until(&mut self, steps: u64, out: &mut Vec<RateBin>) {
        let bin_s = steps_to_ms(RATE_BIN_STEPS) * 1e-3;
        while self.bin_start + RATE_BIN_STEPS <= steps {
            self.bin_start += RATE_BIN_STEPS;
            out.push(RateBin {
                t_ms: steps_to_ms(self.bin_start),
                hz: self
                    .counts
                    .iter()
                    .zip(&self.sizes)
                    .map(|(&c, &n)| (f64::from(c) / f64::from(n.max(1)) / bin_s) as f32)
                    .collect(),
            });
            self.counts.fill(0);
        }
    }

    /// Counts a spike of `neuron` in step `step` (network time; steps never decrease).
    fn add(&mut self, step: u64, neuron: u32, out: &mut Vec<RateBin>) {
        self.close_until(step, out);
        let pop = self.offsets.partition_point(|&o| o <= neuron) - 1;
        self.counts[pop] += 1;
    }
}

/// Why a backend's run ended.
enum Restart {
    /// Start over from this checkpoint, counted from step zero (a kick).
    Kick(Checkpoint),
    /// The session is gone.
    Quit,
}

struct Worker {
    info: NetworkInfo,
    base_seed: u64,
    commands: Receiver<Command>,
    frames: SyncSender<NetworkFrame>,
    clock: Clock,
    running: bool,
    kicks: u32,
    /// Network time at which the current backend started [steps].
    offset_steps: u64,
    rates: RateCounter,
    /// The frame being filled; sent when the channel has room.
    pending: NetworkFrame,
    batch: Batch,
}

impl Worker {
    /// One backend per kick. The backend borrows `network`, so it lives inside one iteration,
    /// and the network's initial state and seed change between iterations.
    fn run(mut self, mut network: Network) {
        let mut restart: Option<Checkpoint> = None;
        loop {
            let mut backend = CpuBackend::new(&network, 1);
            if let Some(checkpoint) = restart.take() {
                if let Err(e) = backend.restore(&checkpoint) {
                    self.stop_because(e);
                }
            }
            restart = match self.run_backend(&network, &mut backend) {
                Restart::Kick(checkpoint) => Some(checkpoint),
                Restart::Quit => return,
            };
            drop(backend);
            network.seed = self.base_seed.wrapping_add(u64::from(self.kicks));
        }
    }

    fn run_backend(&mut self, network: &Network, backend: &mut CpuBackend<'_>) -> Restart {
        let mut next_tick = Instant::now();
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            let command = match self.commands.recv_timeout(timeout) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Restart::Quit,
            };
            let now = Instant::now();
            let steps = self.offset_steps + backend.steps_done();
            match command {
                Some(Command::Start) if !self.running => {
                    self.running = true;
                    self.pending.stopped_because = None;
                    self.clock.restart(now, steps);
                }
                Some(Command::Stop) => self.running = false,
                Some(Command::SetSlowdown(s)) => self.clock.set_slowdown(s, now, steps),
                Some(Command::Kick) => match backend.checkpoint() {
                    Ok(checkpoint) => {
                        let slots = network.ring_slots() as usize;
                        self.offset_steps = steps;
                        self.kicks += 1;
                        self.pending.kicked_at_ms.push(steps_to_ms(steps));
                        self.running = true;
                        self.pending.stopped_because = None;
                        self.clock.restart(now, steps);
                        return Restart::Kick(restart_at_zero(&checkpoint, slots));
                    }
                    Err(e) => self.stop_because(e),
                },
                Some(Command::Start) | None => {}
            }
            if now < next_tick {
                continue;
            }
            next_tick = (next_tick + TICK).max(now);
            if self.running {
                let due = self.clock.steps_due(now, steps);
                if let Err(e) = self.advance(backend, due) {
                    self.stop_because(e);
                }
                if backend.steps_done() >= network.n_steps {
                    self.running = false;
                    self.pending.stopped_because =
                        Some("the end of the network's simulated time".to_string());
                }
            }
            self.pending.t_ms = steps_to_ms(self.offset_steps + backend.steps_done());
            self.pending.running = self.running;
            self.pending.kicks = self.kicks;
            match self.frames.try_send(std::mem::take(&mut self.pending)) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(frame)) => self.pending = frame,
                Err(mpsc::TrySendError::Disconnected(_)) => return Restart::Quit,
            }
        }
    }

    fn stop_because(&mut self, error: BackendError) {
        self.running = false;
        self.pending.stopped_because = Some(error.to_string());
    }

    /// Simulates `steps` steps and adds their spikes and rates to the pending frame.
    fn advance(&mut self, backend: &mut CpuBackend<'_>, steps: u64) -> Result<(), BackendError> {
        let mut left = steps;
        while left > 0 {
            let done = backend.advance(left, &mut self.batch)?;
            if done == 0 {
                break;
            }
            left -= done;
            for spike in &self.batch.spikes {
                let step = self.offset_steps + spike.step;
                self.rates.add(step, spike.neuron, &mut self.pending.rates);
                if let Some(row) = self.info.row_of(spike.neuron) {
                    if self.pending.spikes.len() < MAX_PENDING_SPIKES {
                        self.pending.spikes.push((steps_to_ms(step + 1), row));
                    } else {
                        self.pending.spikes_dropped += 1;
                    }
                }
            }
            let done_now = backend.steps_done();
            self.rates
                .close_until(self.offset_steps + done_now, &mut self.pending.rates);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coba_builds_and_the_raster_shows_every_eighth_neuron() {
        let network = build_coba().unwrap();
        assert_eq!(network.n_neurons(), 4000);
        assert!(network.probes.is_empty());
        let info = NetworkInfo::new(&network);
        assert_eq!((info.stride, info.rows), (8, 500));
        assert_eq!(info.populations[0].rows, 400);
        assert_eq!(info.populations[1].first_row, 400);
        assert_eq!(info.populations[1].rows, 100);
        assert_eq!(info.row_of(3208), Some(401));
        assert_eq!(info.row_of(3204), None);
        assert_eq!(info.kick_window_ms, Some((1.0, 101.0)));
    }

    #[test]
    fn a_restart_at_zero_keeps_the_input_in_flight() {
        // A run of 30 steps, and the same run stopped at step 17 and continued from zero with the
        // rings turned: the same spikes, counted 17 steps later.
        let mut network = build_coba().unwrap();
        network.n_steps = 30;
        network.stimuli.clear();
        // A constant drive instead of the kick, whose schedule restarts at zero.
        for p in &mut network.populations {
            let params = crate::model::IafCondExpParams {
                i_e: 400.0,
                ..p.params
            };
            p.derived = crate::model::IafCondExpDerived::new(&params, network.dt_ms);
        }
        let mut whole = CpuBackend::new(&network, 1);
        let full = crate::sim::run_to_memory(&network, &mut whole).unwrap();
        let mut first = CpuBackend::new(&network, 1);
        let mut batch = Batch::default();
        first.advance(17, &mut batch).unwrap();
        let checkpoint = first.checkpoint().unwrap();
        let mut second = CpuBackend::new(&network, 1);
        second
            .restore(&restart_at_zero(&checkpoint, network.ring_slots() as usize))
            .unwrap();
        second.advance(13, &mut batch).unwrap();
        let later: Vec<(u64, u32)> = full
            .spikes
            .iter()
            .filter(|s| (17..30).contains(&s.step))
            .map(|s| (s.step - 17, s.neuron))
            .collect();
        let again: Vec<(u64, u32)> = batch.spikes.iter().map(|s| (s.step, s.neuron)).collect();
        assert!(!later.is_empty());
        assert_eq!(again, later);
    }

    #[test]
    fn rates_are_binned_by_population() {
        let network = build_coba().unwrap();
        let mut counter = RateCounter::new(&network);
        let mut bins = Vec::new();
        counter.add(3, 0, &mut bins);
        counter.add(49, 3200, &mut bins);
        counter.add(50, 1, &mut bins);
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].t_ms, 5.0);
        // One spike among 3,200 (800) neurons in 5 ms.
        assert!((bins[0].hz[0] - 1.0 / 3200.0 / 0.005).abs() < 1e-6);
        assert!((bins[0].hz[1] - 1.0 / 800.0 / 0.005).abs() < 1e-6);
        counter.close_until(200, &mut bins);
        assert_eq!(bins.len(), 4);
        assert_eq!(bins[3].hz, vec![0.0, 0.0]);
    }

    /// Collects frames for `wall` and merges them.
    fn collect(live: &LiveNetwork, wall: Duration) -> Vec<NetworkFrame> {
        let end = Instant::now() + wall;
        let mut frames = Vec::new();
        while Instant::now() < end {
            if let Some(f) = live.frame_timeout(Duration::from_millis(50)) {
                frames.push(f);
            }
        }
        frames
    }

    #[test]
    fn the_live_network_fires_stops_and_takes_kicks() {
        let live = LiveNetwork::spawn(build_coba().unwrap(), 1.0);
        let idle = collect(&live, Duration::from_millis(200));
        assert!(idle.iter().all(|f| !f.running && f.t_ms == 0.0));

        live.command(Command::Start);
        let frames = collect(&live, Duration::from_millis(1200));
        let spikes: usize = frames.iter().map(|f| f.spikes.len()).sum();
        let last = frames.last().unwrap();
        assert!(last.running);
        assert!(
            last.t_ms > 300.0,
            "t = {} ms after 1.2 s at real time",
            last.t_ms
        );
        assert!(spikes > 250, "{spikes} spikes shown");
        let bins: Vec<&RateBin> = frames.iter().flat_map(|f| &f.rates).collect();
        assert!(bins.windows(2).all(|w| w[1].t_ms - w[0].t_ms == 5.0));
        let mean_e = bins.iter().map(|b| b.hz[0]).sum::<f32>() / bins.len() as f32;
        assert!(mean_e > 2.0, "mean E rate {mean_e} Hz");

        live.command(Command::Stop);
        collect(&live, Duration::from_millis(100));
        let stopped = collect(&live, Duration::from_millis(200));
        assert!(stopped.iter().all(|f| !f.running && f.spikes.is_empty()));
        let t_stop = stopped.last().unwrap().t_ms;

        live.command(Command::Kick);
        let kicked = collect(&live, Duration::from_millis(400));
        assert_eq!(kicked.last().unwrap().kicks, 1);
        let at: Vec<f64> = kicked.iter().flat_map(|f| f.kicked_at_ms.clone()).collect();
        assert_eq!(at, vec![t_stop]);
        assert!(kicked.last().unwrap().running);
        // Network time goes on from where it was, and spikes come after it.
        let first_spike = kicked.iter().flat_map(|f| &f.spikes).next().unwrap();
        assert!(first_spike.0 > t_stop);
    }

    #[test]
    fn dropping_the_live_network_stops_its_thread() {
        let live = LiveNetwork::spawn(build_coba().unwrap(), 1.0);
        live.command(Command::Start);
        std::thread::sleep(Duration::from_millis(100));
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            drop(live);
            let _ = done_tx.send(());
        });
        assert!(done_rx.recv_timeout(Duration::from_secs(5)).is_ok());
    }
}
