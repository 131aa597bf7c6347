//! The network view: `configs/coba.toml` (Brette et al. 2007, benchmark 1: 4,000 neurons) run
//! live on the CPU backend, on a thread of its own, paced against the wall clock, streaming a
//! subsampled raster and the population rates.
//!
//! The kick. The config ignites the network with its own `kick` stimulus, a 300 Hz Poisson train
//! onto 400 E neurons for 1 < t <= 101 ms. The demo's kick plays that stimulus again: the backend
//! is rebuilt from the current neuron state with its step counter at zero, so the config's
//! stimuli start over, with a new seed so that the trains are new. Two reasons for this over
//! adding a burst of g_ex through the state: the kick is the network's own, documented input
//! (the page shows what the config says), and the `Backend` trait has no way to change the state
//! or the input of a running backend, so any kick means a new backend anyway. The cost: the
//! delay rings start empty, so input still travelling when the user clicks is added to the
//! conductances at once, up to the longest delay early (one step, 0.1 ms, in COBA; see
//! [`deliver_in_flight`]).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, BackendError, Batch, Spike};
use crate::config::{BackendChoice, ConfigError, Overrides, Receptor};
use crate::network::{BuildError, Network, NeuronState};

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
        (neuron % self.stride == 0).then_some(neuron / self.stride)
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
            recent: VecDeque::new(),
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

/// Adds to `state` the synaptic input that the spikes in `recent` (emitted in steps before
/// `steps_done`, numbered as the backend numbers them) still have in flight: a spike of step
/// `k` through a synapse of delay `d` is due in step `k + d`, pending when `k + d >= steps_done`.
/// It is added to the conductance now, `k + d - steps_done + 1` steps early.
pub fn deliver_in_flight(
    network: &Network,
    recent: &[Spike],
    steps_done: u64,
    state: &mut NeuronState,
) {
    for projection in &network.projections {
        let source = &network.populations[projection.source];
        let target = &network.populations[projection.target];
        let per_unit = network.fixed_point.inv_scale(projection.receptor);
        let g = match projection.receptor {
            Receptor::Excitatory => &mut state.g_ex,
            Receptor::Inhibitory => &mut state.g_in,
        };
        let csr = &projection.synapses;
        for spike in recent.iter().filter(|s| source.range().contains(&s.neuron)) {
            for j in csr.row((spike.neuron - source.offset) as usize) {
                if spike.step + u64::from(csr.delays.get(j)) >= steps_done {
                    let t = (target.offset + csr.targets[j]) as usize;
                    g[t] += csr.weights.get(j) as f32 * per_unit;
                }
            }
        }
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
    /// Start over from this state (a kick).
    Kick(NeuronState),
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
    /// Spikes of the current backend's last `max_delay_steps` steps: input still in flight.
    recent: VecDeque<Spike>,
    rates: RateCounter,
    /// The frame being filled; sent when the channel has room.
    pending: NetworkFrame,
    batch: Batch,
}

impl Worker {
    /// One backend per kick. The backend borrows `network`, so it lives inside one iteration,
    /// and the network's initial state and seed change between iterations.
    fn run(mut self, mut network: Network) {
        loop {
            let mut backend = CpuBackend::new(&network, 1);
            let state = match self.run_backend(&network, &mut backend) {
                Restart::Kick(state) => state,
                Restart::Quit => return,
            };
            drop(backend);
            network.initial_state = state;
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
                Some(Command::Kick) => match backend.neuron_state() {
                    Ok(mut state) => {
                        deliver_in_flight(
                            network,
                            self.recent.make_contiguous(),
                            backend.steps_done(),
                            &mut state,
                        );
                        self.recent.clear();
                        self.offset_steps = steps;
                        self.kicks += 1;
                        self.pending.kicked_at_ms.push(steps_to_ms(steps));
                        self.running = true;
                        self.pending.stopped_because = None;
                        self.clock.restart(now, steps);
                        return Restart::Kick(state);
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
                if let Err(e) = self.advance(network, backend, due) {
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
    fn advance(
        &mut self,
        network: &Network,
        backend: &mut CpuBackend<'_>,
        steps: u64,
    ) -> Result<(), BackendError> {
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
            self.recent.extend(&self.batch.spikes);
            let done_now = backend.steps_done();
            let horizon = u64::from(network.max_delay_steps);
            while self
                .recent
                .front()
                .is_some_and(|s| s.step + horizon < done_now)
            {
                self.recent.pop_front();
            }
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
    fn input_in_flight_is_delivered_at_a_restart() {
        let mut network = build_coba().unwrap();
        // Make every synapse of E -> E take 3 steps.
        for p in &mut network.projections {
            p.synapses.delays = crate::network::PerSynapse::Constant(3);
        }
        let row = network.projections[0].synapses.row(0);
        let targets: Vec<u32> = network.projections[0].synapses.targets[row].to_vec();
        let weight = 6.0f32;
        let spike = Spike {
            step: 10,
            neuron: 0,
        };
        let fresh = network.initial_state.clone();

        // Due in step 13: still in flight when step 13 is the next to run, not after.
        let mut state = fresh.clone();
        deliver_in_flight(&network, &[spike], 13, &mut state);
        for &t in &targets {
            let multiplicity = targets.iter().filter(|&&u| u == t).count() as f32;
            let added = state.g_ex[t as usize] - fresh.g_ex[t as usize];
            assert!((added - weight * multiplicity).abs() < 1e-3, "{added}");
        }
        let untouched = (0..3200).find(|i| !targets.contains(i)).unwrap() as usize;
        assert_eq!(state.g_ex[untouched], fresh.g_ex[untouched]);
        assert_eq!(state.g_in, fresh.g_in);

        let mut state = fresh.clone();
        deliver_in_flight(&network, &[spike], 14, &mut state);
        assert_eq!(state, fresh);
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
