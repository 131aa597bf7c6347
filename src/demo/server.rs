//! The demo's server: a std `TcpListener`, one thread per connection, the page over HTTP and one
//! WebSocket per open page ([`tungstenite`] over the same `TcpStream`). No async runtime: a
//! handful of pages, each with a simulation to pace, is what threads do well.
//!
//! Safety of a local server: it binds to loopback unless asked otherwise (`allow_remote`), and
//! then also refuses requests whose `Host` is not this machine's loopback name (a web page
//! elsewhere cannot reach it by DNS rebinding), and WebSocket upgrades whose `Origin` is not the
//! page it served (another site open in the browser cannot drive it).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::WebSocket;

use crate::network::Network;

use super::http::{self, HeadError, RequestHead};
use super::network::build_coba;
use super::protocol::MAX_MESSAGE_BYTES;
use super::session;

/// Pages open at once, at most: each runs a simulation (and maybe a network) on the CPU.
pub const MAX_SESSIONS: usize = 8;
/// Connections handled at once, at most (sessions included).
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request, or to take a response.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to serve the demo.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    pub bind: IpAddr,
    /// 0: any free port.
    pub port: u16,
    /// Serve a non-loopback address (reachable from other machines), and answer any `Host`.
    pub allow_remote: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8765,
            allow_remote: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "refusing to serve the demo on {0}: that address is reachable from other machines, and \
         the demo has no authentication. Use a loopback address (the default, 127.0.0.1), or \
         pass --allow-remote to do this on purpose"
    )]
    NotLoopback(IpAddr),
    #[error("cannot listen on {addr}: {source} (is another program using the port? try --port 0 for any free port)")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot start the demo server: {0}")]
    Io(#[from] io::Error),
}

/// State shared by every connection of one server.
pub(crate) struct Shared {
    allow_remote: bool,
    addr: SocketAddr,
    pub shutdown: AtomicBool,
    sessions: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    /// The COBA network, built on first use by any page, cloned for each.
    coba: OnceLock<Result<Network, String>>,
}

impl Shared {
    /// A copy of the COBA network for one page.
    pub fn coba(&self) -> Result<Network, String> {
        self.coba
            .get_or_init(|| build_coba().map_err(|e| e.to_string()))
            .clone()
    }

    /// Whether `host` (a `Host` header) names this server on loopback.
    fn host_allowed(&self, host: Option<&str>) -> bool {
        if self.allow_remote {
            return true;
        }
        let Some(host) = host else { return false };
        let port = self.addr.port();
        let host = host.trim().to_ascii_lowercase();
        let names = [
            format!("localhost:{port}"),
            format!("{}", SocketAddr::new(self.addr.ip(), port)),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        names.contains(&host)
    }
}

/// One of a limited number of places (connections, sessions), given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes one of `max` places counted by `counter`, if one is free.
    fn take(counter: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        let mut n = counter.load(Ordering::Relaxed);
        loop {
            if n >= max {
                return None;
            }
            match counter.compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(Slot(Arc::clone(counter))),
                Err(now) => n = now,
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads from a stream until a deadline: a client that sends its request one byte at a time
/// cannot hold a connection longer than [`IO_TIMEOUT`] in all.
struct Deadline<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl io::Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request took too long to arrive",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// A bound, not yet running server.
pub struct DemoServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl DemoServer {
    /// Binds the listener. A non-loopback address is refused unless `allow_remote`.
    pub fn bind(config: &DemoConfig) -> Result<DemoServer, DemoError> {
        if !config.bind.is_loopback() && !config.allow_remote {
            return Err(DemoError::NotLoopback(config.bind));
        }
        let addr = SocketAddr::new(config.bind, config.port);
        let listener =
            TcpListener::bind(addr).map_err(|source| DemoError::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        Ok(DemoServer {
            listener,
            shared: Arc::new(Shared {
                allow_remote: config.allow_remote,
                addr,
                shutdown: AtomicBool::new(false),
                sessions: Arc::new(AtomicUsize::new(0)),
                connections: Arc::new(AtomicUsize::new(0)),
                coba: OnceLock::new(),
            }),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The address to open in a browser.
    pub fn url(&self) -> String {
        url(self.shared.addr)
    }

    /// Serves until [`ServerHandle::shutdown`] (or forever, when run directly).
    pub fn run(self) -> Result<(), DemoError> {
        for stream in self.listener.incoming() {
            if self.shared.shutdown.load(Ordering::Acquire) {
                break;
            }
            let stream = match stream {
                Ok(s) => s,
                // Out of file descriptors, or a connection reset before it was accepted: wait
                // a little and go on serving the pages already open.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            // Beyond the limit a connection is closed at once, before it costs a thread.
            let Some(slot) = Slot::take(&self.shared.connections, MAX_CONNECTIONS) else {
                continue;
            };
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("lifsim-demo-connection".to_string())
                .spawn(move || {
                    handle_connection(stream, &shared);
                    drop(slot);
                });
            if spawned.is_err() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Serves on a thread of its own.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let shared = Arc::clone(&self.shared);
        let thread = std::thread::Builder::new()
            .name("lifsim-demo-server".to_string())
            .spawn(move || self.run())?;
        Ok(ServerHandle { shared, thread })
    }
}

/// `addr` as a client on this machine reaches it: an unspecified address (0.0.0.0, ::) is
/// reached through loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// The address to open in a browser on this machine.
fn url(addr: SocketAddr) -> String {
    format!("http://{}/", reachable(addr))
}

/// A server running on its own thread.
pub struct ServerHandle {
    shared: Arc<Shared>,
    thread: JoinHandle<Result<(), DemoError>>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn url(&self) -> String {
        url(self.shared.addr)
    }

    /// Stops accepting connections and ends the open pages' sessions (within a tick).
    pub fn shutdown(self) -> Result<(), DemoError> {
        self.shared.shutdown.store(true, Ordering::Release);
        // Wake the accept loop with a connection of our own.
        let _ = TcpStream::connect_timeout(&reachable(self.shared.addr), Duration::from_secs(1));
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the demo server thread panicked").into()))
    }
}

fn handle_connection(mut stream: TcpStream, shared: &Shared) {
    if shared.shutdown.load(Ordering::Acquire) {
        return;
    }
    let _ = stream.set_nodelay(true);
    if stream.set_write_timeout(Some(IO_TIMEOUT)).is_err() {
        return;
    }
    let mut reader = Deadline {
        stream: &stream,
        deadline: Instant::now() + IO_TIMEOUT,
    };
    let (head, rest) = match http::read_head(&mut reader) {
        Ok(h) => h,
        Err(HeadError::TooLarge) => {
            let _ = http::respond_error(
                &mut stream,
                431,
                "Request Header Fields Too Large",
                "",
                &HeadError::TooLarge.to_string(),
            );
            return;
        }
        Err(e @ HeadError::Malformed(_)) => {
            let _ = http::respond_error(&mut stream, 400, "Bad Request", "", &e.to_string());
            return;
        }
        Err(HeadError::Closed | HeadError::Io(_)) => return,
    };
    let _ = route(stream, head, rest, shared);
}

fn route(
    mut stream: TcpStream,
    head: RequestHead,
    rest: Vec<u8>,
    shared: &Shared,
) -> io::Result<()> {
    if !shared.host_allowed(head.header("host")) {
        return http::respond_error(
            &mut stream,
            403,
            "Forbidden",
            "",
            &format!(
                "this demo answers requests to {} only",
                url(shared.addr).trim_end_matches('/')
            ),
        );
    }
    if head.method != "GET" {
        return http::respond_error(
            &mut stream,
            405,
            "Method Not Allowed",
            "Allow: GET\r\n",
            &format!("{} is not supported; the demo only serves GET", head.method),
        );
    }
    if head.path == "/ws" {
        return upgrade(stream, &head, rest, shared);
    }
    match http::asset(&head.path) {
        Some(asset) => http::respond(
            &mut stream,
            200,
            "OK",
            asset.content_type,
            "",
            asset.body.as_bytes(),
        ),
        None => http::respond_error(
            &mut stream,
            404,
            "Not Found",
            "",
            &format!("no such page: {}", head.path),
        ),
    }
}

/// The server side of the WebSocket opening handshake (RFC 6455, section 4.2), then the session.
fn upgrade(
    mut stream: TcpStream,
    head: &RequestHead,
    rest: Vec<u8>,
    shared: &Shared,
) -> io::Result<()> {
    if !head.header_has_token("upgrade", "websocket")
        || !head.header_has_token("connection", "upgrade")
    {
        return http::respond_error(
            &mut stream,
            426,
            "Upgrade Required",
            "Upgrade: websocket\r\nConnection: Upgrade\r\n",
            "/ws is the demo's WebSocket",
        );
    }
    if head.header("sec-websocket-version").map(str::trim) != Some("13") {
        return http::respond_error(
            &mut stream,
            426,
            "Upgrade Required",
            "Sec-WebSocket-Version: 13\r\n",
            "only WebSocket version 13 is supported",
        );
    }
    let Some(key) = head
        .header("sec-websocket-key")
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 64)
    else {
        return http::respond_error(
            &mut stream,
            400,
            "Bad Request",
            "",
            "Sec-WebSocket-Key is missing",
        );
    };
    // Browsers always send Origin; a page from another site must not drive the demo.
    if let Some(origin) = head.header("origin") {
        let own = head.header("host").map(|h| format!("http://{}", h.trim()));
        if own.as_deref() != Some(origin.trim()) {
            return http::respond_error(
                &mut stream,
                403,
                "Forbidden",
                "",
                &format!("WebSocket connections from {origin} are not accepted"),
            );
        }
    }
    let Some(_session) = Slot::take(&shared.sessions, MAX_SESSIONS) else {
        return http::respond_error(
            &mut stream,
            503,
            "Service Unavailable",
            "Retry-After: 10\r\n",
            &format!("{MAX_SESSIONS} demo pages are open already; close one and reload"),
        );
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    io::Write::write_all(
        &mut stream,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .as_bytes(),
    )?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let socket = WebSocket::from_partially_read(stream, rest, Role::Server, Some(config));
    session::run(socket, shared);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_addresses_need_allow_remote() {
        let config = DemoConfig {
            bind: "0.0.0.0".parse().unwrap(),
            port: 0,
            allow_remote: false,
        };
        let e = DemoServer::bind(&config).err().unwrap();
        assert!(matches!(e, DemoError::NotLoopback(_)));
        assert!(e.to_string().contains("--allow-remote"), "{e}");
        let server = DemoServer::bind(&DemoConfig {
            allow_remote: true,
            ..config
        })
        .unwrap();
        assert!(server.url().starts_with("http://127.0.0.1:"));
    }

    #[test]
    fn only_loopback_host_names_are_answered() {
        let server = DemoServer::bind(&DemoConfig {
            port: 0,
            ..DemoConfig::default()
        })
        .unwrap();
        let port = server.local_addr().port();
        let shared = &server.shared;
        assert!(shared.host_allowed(Some(&format!("127.0.0.1:{port}"))));
        assert!(shared.host_allowed(Some(&format!("LOCALHOST:{port}"))));
        assert!(!shared.host_allowed(Some(&format!("evil.example:{port}"))));
        assert!(!shared.host_allowed(Some("127.0.0.1:1")));
        assert!(!shared.host_allowed(None));
    }

    #[test]
    fn a_port_in_use_is_a_clear_error() {
        let first = DemoServer::bind(&DemoConfig {
            port: 0,
            ..DemoConfig::default()
        })
        .unwrap();
        let e = DemoServer::bind(&DemoConfig {
            port: first.local_addr().port(),
            ..DemoConfig::default()
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("--port 0"), "{e}");
    }
}
