//! One open page: read its messages, pace its simulations against the wall clock, stream frames.
//!
//! The loop waits on the socket (with a read timeout) until the next tick, about 30 times a
//! second; at each tick the two-neuron view advances to where the clock says it should be and
//! its frame is sent, followed by any frames of the network, which runs on its own thread.

use std::io;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

use crate::model::IafCondExpParams;

use super::clock::{Clock, SLOWDOWN_RANGE};
use super::network::{Command, LiveNetwork};
use super::protocol::{
    self, ClientMessage, FixedParams, NeuronFrame, ServerMessage, Slowdowns, View,
};
use super::server::Shared;
use super::two_neurons::{Trace, TwoNeurons, PARAMS};
use super::DT_MS;

const TICK: Duration = Duration::from_millis(33);

/// Time runs this many times slower than real time, to begin with.
pub const DEFAULT_NEURON_SLOWDOWN: f64 = 100.0;
pub const DEFAULT_NETWORK_SLOWDOWN: f64 = 5.0;

/// The socket failed or closed: the session is over.
struct Gone;

impl From<tungstenite::Error> for Gone {
    fn from(_: tungstenite::Error) -> Gone {
        Gone
    }
}

struct Session<'s> {
    socket: WebSocket<TcpStream>,
    shared: &'s Shared,
    neuron: TwoNeurons,
    neuron_clock: Clock,
    trace: Trace,
    network: Option<LiveNetwork>,
    network_slowdown: f64,
}

/// Runs the session of one page until it closes, fails, or the server shuts down.
pub(crate) fn run(socket: WebSocket<TcpStream>, shared: &Shared) {
    let now = Instant::now();
    let mut session = Session {
        socket,
        shared,
        neuron: TwoNeurons::new(),
        neuron_clock: Clock::new(DEFAULT_NEURON_SLOWDOWN, DT_MS, now, 0),
        trace: Trace::default(),
        network: None,
        network_slowdown: DEFAULT_NETWORK_SLOWDOWN,
    };
    let _ = session.serve();
}

impl Session<'_> {
    fn serve(&mut self) -> Result<(), Gone> {
        let hello = self.hello();
        self.send(&hello)?;
        let mut next_tick = Instant::now();
        loop {
            if self.shared.shutdown.load(Ordering::Acquire) {
                let _ = self.socket.close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "the demo server is shutting down".into(),
                }));
                let _ = self.socket.flush();
                return Ok(());
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now)?;
                next_tick = (next_tick + TICK).max(now);
            }
            let wait = next_tick
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            self.socket
                .get_ref()
                .set_read_timeout(Some(wait))
                .map_err(|_| Gone)?;
            match self.socket.read() {
                Ok(Message::Text(text)) => self.handle(text.as_str())?,
                Ok(Message::Binary(_)) => {
                    self.error("binary messages are not understood; send JSON text".to_string())?
                }
                // tungstenite queued the reply to a close: send it, and end.
                Ok(Message::Close(_)) => {
                    let _ = self.socket.flush();
                    return Ok(());
                }
                // Pings are answered by tungstenite.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(tungstenite::Error::Capacity(e)) => {
                    return self.close_with_error(CloseCode::Size, format!("message refused: {e}"))
                }
                Err(tungstenite::Error::Utf8(e)) => {
                    return self.close_with_error(
                        CloseCode::Invalid,
                        format!("text message is not UTF-8: {e}"),
                    )
                }
                Err(_) => return Err(Gone),
            }
        }
    }

    fn hello(&self) -> ServerMessage<'static> {
        let defaults = IafCondExpParams::default();
        ServerMessage::Hello {
            lifsim_version: env!("CARGO_PKG_VERSION"),
            dt_ms: DT_MS,
            params: &PARAMS,
            values: *self.neuron.values(),
            fixed: FixedParams {
                e_l: defaults.e_l,
                v_reset: defaults.v_reset,
                e_ex: defaults.e_ex,
                c_m: defaults.c_m,
            },
            slowdown: Slowdowns {
                neuron: self.neuron_clock.slowdown(),
                network: self.network_slowdown,
                min: SLOWDOWN_RANGE.0,
                max: SLOWDOWN_RANGE.1,
            },
        }
    }

    fn send(&mut self, message: &ServerMessage<'_>) -> Result<(), Gone> {
        self.socket.send(Message::text(message.to_json()))?;
        Ok(())
    }

    fn error(&mut self, message: String) -> Result<(), Gone> {
        self.send(&ServerMessage::Error { message })
    }

    /// For a message the connection cannot go on after: say why, then close.
    fn close_with_error(&mut self, code: CloseCode, message: String) -> Result<(), Gone> {
        let _ = self.error(message);
        let _ = self.socket.close(Some(CloseFrame {
            code,
            reason: "bad message".into(),
        }));
        let _ = self.socket.flush();
        Err(Gone)
    }

    /// One message from the page. Anything wrong with it is answered, never fatal.
    fn handle(&mut self, text: &str) -> Result<(), Gone> {
        let message = match protocol::parse(text) {
            Ok(m) => m,
            Err(e) => return self.error(e.to_string()),
        };
        let now = Instant::now();
        match message {
            ClientMessage::Spike {} => match self.neuron.fire_input() {
                Ok(spike) => self.send(&ServerMessage::InputSpike(spike)),
                Err(e) => self.error(e.to_string()),
            },
            ClientMessage::SetParam { name, value } => {
                let result = self.neuron.set(name, value);
                if let Err(e) = result {
                    self.error(e.to_string())?;
                }
                let values = *self.neuron.values();
                self.send(&ServerMessage::Params { values })
            }
            ClientMessage::ResetParams {} => {
                if let Err(e) = self.neuron.reset_params() {
                    self.error(e.to_string())?;
                }
                let values = *self.neuron.values();
                self.send(&ServerMessage::Params { values })
            }
            ClientMessage::SetSlowdown { view, factor } => {
                let (min, max) = SLOWDOWN_RANGE;
                if !(factor >= min && factor <= max) {
                    return self.error(format!(
                        "the slowdown must be between {min} and {max} times slower than real \
                         time (got {factor})"
                    ));
                }
                match view {
                    View::Neuron => {
                        let done = self.neuron.steps_done();
                        self.neuron_clock.set_slowdown(factor, now, done);
                    }
                    View::Network => {
                        self.network_slowdown = factor;
                        if let Some(n) = &self.network {
                            n.command(Command::SetSlowdown(factor));
                        }
                    }
                }
                self.send(&ServerMessage::Slowdown { view, factor })
            }
            ClientMessage::NetworkStart {} => self.network_command(Command::Start),
            ClientMessage::NetworkKick {} => self.network_command(Command::Kick),
            ClientMessage::NetworkStop {} => match &self.network {
                Some(n) => {
                    n.command(Command::Stop);
                    Ok(())
                }
                None => self.error("the network is not running".to_string()),
            },
        }
    }

    /// Sends `command` to the network, building it first if this page has none yet.
    fn network_command(&mut self, command: Command) -> Result<(), Gone> {
        if self.network.is_none() {
            let network = match self.shared.coba() {
                Ok(n) => n,
                Err(e) => return self.error(e),
            };
            let live = LiveNetwork::spawn(network, self.network_slowdown);
            self.socket.send(Message::text(
                ServerMessage::NetworkInfo(live.info()).to_json(),
            ))?;
            self.network = Some(live);
        }
        if let Some(n) = &self.network {
            n.command(command);
        }
        Ok(())
    }

    fn tick(&mut self, now: Instant) -> Result<(), Gone> {
        let due = self.neuron_clock.steps_due(now, self.neuron.steps_done());
        self.trace.v_m.clear();
        self.trace.g_ex.clear();
        self.trace.output_spikes_ms.clear();
        self.trace.arrivals_ms.clear();
        self.neuron.advance(due, &mut self.trace);
        let frame = ServerMessage::Neuron(NeuronFrame {
            t_ms: self.neuron.t_ms(),
            trace: &self.trace,
            v_m: self.neuron.v_m(),
            g_ex: self.neuron.g_ex(),
            refractory_ms: self.neuron.refractory_ms(),
            spikes: self.neuron.output_spikes(),
        });
        self.socket.send(Message::text(frame.to_json()))?;
        while let Some(frame) = self.network.as_ref().and_then(|n| n.try_frame()) {
            self.socket
                .send(Message::text(ServerMessage::Network(&frame).to_json()))?;
        }
        Ok(())
    }
}
