//! `lifsim demo` at the protocol level: a server on an ephemeral port, spoken to over raw HTTP and
//! a WebSocket. Bad requests and bad messages get an error and the server goes on serving; the
//! two-neuron view and the network answer as the page expects.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use lifsim::demo::server::MAX_SESSIONS;
use lifsim::demo::{DemoConfig, DemoServer, ServerHandle};
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn start() -> ServerHandle {
    DemoServer::bind(&DemoConfig {
        port: 0,
        ..DemoConfig::default()
    })
    .expect("bind on 127.0.0.1:0")
    .spawn()
    .expect("start the server thread")
}

/// Sends `request` as is and returns the whole response (the server closes after one).
fn http_raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    // A server that closes while the client still sends may reset: keep what arrived.
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn get(addr: SocketAddr, path: &str) -> String {
    http_raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn connect(addr: SocketAddr) -> Socket {
    let (socket, _) = tungstenite::connect(format!("ws://{addr}/ws")).expect("WebSocket handshake");
    if let MaybeTlsStream::Plain(s) = socket.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    socket
}

fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .expect("send");
}

/// Reads messages until one of type `kind` satisfies `accept`, for at most `timeout`.
fn wait_for(
    socket: &mut Socket,
    kind: &str,
    timeout: Duration,
    mut accept: impl FnMut(&Value) -> bool,
) -> Value {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        match socket.read() {
            Ok(Message::Text(text)) => {
                let v: Value = serde_json::from_str(text.as_str()).expect("server sends JSON");
                if v["type"] == kind && accept(&v) {
                    return v;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("connection failed while waiting for {kind}: {e}"),
        }
    }
    panic!("no {kind} message within {timeout:?}");
}

fn next(socket: &mut Socket, kind: &str) -> Value {
    wait_for(socket, kind, Duration::from_secs(5), |_| true)
}

#[test]
fn the_page_is_served_and_bad_requests_are_refused() {
    let server = start();
    let addr = server.local_addr();

    let page = get(addr, "/");
    assert_eq!(status(&page), 200, "{page}");
    assert_eq!(
        header(&page, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(header(&page, "content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert!(page.contains("<title>lifsim demo"));
    let js = get(addr, "/demo.js");
    assert_eq!(status(&js), 200);
    assert!(header(&js, "content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.contains("new WebSocket"));
    assert_eq!(status(&get(addr, "/demo.css")), 200);

    assert_eq!(status(&get(addr, "/nothing-here")), 404);
    assert_eq!(status(&get(addr, "/../Cargo.toml")), 404);
    let post = http_raw(
        addr,
        format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\n\r\n{{}}").as_bytes(),
    );
    assert_eq!(status(&post), 405);
    assert_eq!(header(&post, "allow"), Some("GET"));
    assert_eq!(status(&http_raw(addr, b"\x16\x03\x01 hello\r\n\r\n")), 400);
    let mut huge = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    while huge.len() < 40_000 {
        huge.extend_from_slice(
            b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    huge.extend_from_slice(b"\r\n");
    assert_eq!(status(&http_raw(addr, &huge)), 431);
    // A page from another site that reaches 127.0.0.1 through its own host name.
    let rebound = http_raw(
        addr,
        format!(
            "GET / HTTP/1.1\r\nHost: attacker.example:{}\r\n\r\n",
            addr.port()
        )
        .as_bytes(),
    );
    assert_eq!(status(&rebound), 403);
    assert_eq!(status(&http_raw(addr, b"GET / HTTP/1.1\r\n\r\n")), 403);
    // A client that connects and says nothing, or hangs up at once, harms no one.
    drop(TcpStream::connect(addr).unwrap());

    assert_eq!(status(&get(addr, "/")), 200, "still serving");
    server.shutdown().unwrap();
}

#[test]
fn websocket_upgrades_are_checked() {
    let server = start();
    let addr = server.local_addr();
    assert_eq!(status(&get(addr, "/ws")), 426);
    let upgrade = |extra: &str| {
        http_raw(
            addr,
            format!(
                "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
            )
            .as_bytes(),
        )
    };
    assert_eq!(status(&upgrade("Sec-WebSocket-Version: 8\r\n")), 426);
    let foreign = upgrade("Sec-WebSocket-Version: 13\r\nOrigin: http://attacker.example\r\n");
    assert_eq!(status(&foreign), 403, "{foreign}");

    // The page's own origin is accepted, with the accept key of RFC 6455's example.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!(
                "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                 Origin: http://{addr}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap();
    let response = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(status(&response), 101, "{response}");
    assert_eq!(
        header(&response, "sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    server.shutdown().unwrap();
}

#[test]
fn bad_messages_get_an_error_and_the_session_goes_on() {
    let server = start();
    let mut ws = connect(server.local_addr());
    let hello = next(&mut ws, "hello");
    assert_eq!(hello["slowdown"]["neuron"], 100.0);
    assert_eq!(hello["values"]["g_L"], 16.6667);
    assert_eq!(hello["params"].as_array().unwrap().len(), 7);

    let bad: [(Value, &str); 8] = [
        (json!("not an object"), "invalid type"),
        (json!({"type": "explode"}), "unknown variant `explode`"),
        (
            json!({"type": "spike", "times": 1000}),
            "unknown field `times`",
        ),
        (
            json!({"type": "set_param", "name": "g_L"}),
            "missing field `value`",
        ),
        (
            json!({"type": "set_param", "name": "g_L", "value": 1e9}),
            "g_L must be between 1 and 100 nS (got 1000000000)",
        ),
        (
            json!({"type": "set_param", "name": "V_reset", "value": -65}),
            "unknown variant `V_reset`",
        ),
        (
            json!({"type": "set_slowdown", "view": "neuron", "factor": 0}),
            "slowdown must be between 1 and 1000",
        ),
        (json!({"type": "network_stop"}), "not running"),
    ];
    for (message, expected) in bad {
        send(&mut ws, message.clone());
        let error = next(&mut ws, "error");
        let text = error["message"].as_str().unwrap();
        assert!(text.contains(expected), "{message}: {text:?}");
    }
    ws.send(Message::text("{{{")).unwrap();
    assert!(next(&mut ws, "error")["message"]
        .as_str()
        .unwrap()
        .contains("bad message"));
    ws.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    assert!(next(&mut ws, "error")["message"]
        .as_str()
        .unwrap()
        .contains("binary"));
    // The refused g_L left the sliders as they were.
    send(
        &mut ws,
        json!({"type": "set_param", "name": "tau_syn_ex", "value": 0.5}),
    );
    let params = next(&mut ws, "params");
    assert_eq!(params["values"]["g_L"], 16.6667);
    assert_eq!(params["values"]["tau_syn_ex"], 0.5);
    send(&mut ws, json!({"type": "reset_params"}));
    assert_eq!(next(&mut ws, "params")["values"]["tau_syn_ex"], 0.2);

    // Still simulating: a spike arrives after the delay and raises V_m.
    send(
        &mut ws,
        json!({"type": "set_slowdown", "view": "neuron", "factor": 1}),
    );
    assert_eq!(next(&mut ws, "slowdown")["factor"], 1.0);
    send(&mut ws, json!({"type": "spike"}));
    let spike = next(&mut ws, "input_spike");
    let travel = spike["arrives_ms"].as_f64().unwrap() - spike["emitted_ms"].as_f64().unwrap();
    assert!((travel - 10.0).abs() < 1e-9, "delay 1 ms x 10: {travel}");
    let arrival = wait_for(&mut ws, "neuron", Duration::from_secs(5), |f| {
        !f["trace"]["arrivals_ms"].as_array().unwrap().is_empty()
    });
    assert_eq!(arrival["trace"]["arrivals_ms"][0], spike["arrives_ms"]);
    // The rise follows the arrival, in the same frame or the next.
    let peak = |frame: &Value| {
        frame["trace"]["v_m"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .fold(f64::MIN, f64::max)
    };
    if peak(&arrival) < -66.0 {
        wait_for(&mut ws, "neuron", Duration::from_secs(1), |f| {
            peak(f) > -66.0
        });
    }
    server.shutdown().unwrap();
}

#[test]
fn an_oversized_message_closes_that_page_only() {
    let server = start();
    let addr = server.local_addr();
    let mut ws = connect(addr);
    next(&mut ws, "hello");
    ws.send(Message::text("x".repeat(100_000))).unwrap();
    let error = next(&mut ws, "error");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("message refused"));
    let mut other = connect(addr);
    next(&mut other, "hello");
    send(&mut other, json!({"type": "spike"}));
    next(&mut other, "input_spike");
    server.shutdown().unwrap();
}

#[test]
fn pages_beyond_the_limit_are_turned_away_until_one_closes() {
    let server = start();
    let addr = server.local_addr();
    let mut open: Vec<Socket> = (0..MAX_SESSIONS).map(|_| connect(addr)).collect();
    for ws in &mut open {
        next(ws, "hello");
    }
    match tungstenite::connect(format!("ws://{addr}/ws")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    let mut closing = open.pop().unwrap();
    closing.close(None).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let mut again = loop {
        // Reading after the close lets the session see it and end.
        let _ = closing.read();
        if let Ok((ws, _)) = tungstenite::connect(format!("ws://{addr}/ws")) {
            break ws;
        }
        assert!(Instant::now() < end, "the closed page's slot was not freed");
        std::thread::sleep(Duration::from_millis(50));
    };
    if let MaybeTlsStream::Plain(s) = again.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    next(&mut again, "hello");
    server.shutdown().unwrap();
}

#[test]
fn the_network_runs_stops_and_takes_a_kick() {
    let server = start();
    let mut ws = connect(server.local_addr());
    next(&mut ws, "hello");
    send(
        &mut ws,
        json!({"type": "set_slowdown", "view": "network", "factor": 1}),
    );
    next(&mut ws, "slowdown");
    send(&mut ws, json!({"type": "network_start"}));
    let info = wait_for(&mut ws, "network_info", Duration::from_secs(30), |_| true);
    assert_eq!(info["n_neurons"], 4000);
    assert_eq!(info["rows"], 500);
    assert_eq!(info["populations"][1]["name"], "I");

    let mut shown = 0;
    let frame = wait_for(&mut ws, "network", Duration::from_secs(10), |f| {
        shown += f["spikes"].as_array().unwrap().len();
        f["t_ms"].as_f64().unwrap() > 300.0
    });
    assert!(frame["running"].as_bool().unwrap());
    assert!(shown > 250, "{shown} spikes in the first 300 ms");
    let spike = &frame["spikes"][0];
    assert!(spike[1].as_u64().unwrap() < 500);

    send(&mut ws, json!({"type": "network_kick"}));
    let kicked = wait_for(&mut ws, "network", Duration::from_secs(5), |f| {
        f["kicks"] == 1
    });
    assert_eq!(kicked["kicked_at_ms"].as_array().unwrap().len(), 1);

    send(&mut ws, json!({"type": "network_stop"}));
    let stopped = wait_for(&mut ws, "network", Duration::from_secs(5), |f| {
        f["running"] == false
    });
    let t = stopped["t_ms"].as_f64().unwrap();
    let later = wait_for(&mut ws, "network", Duration::from_secs(5), |_| true);
    assert_eq!(
        later["t_ms"].as_f64().unwrap(),
        t,
        "a stopped network stays put"
    );
    server.shutdown().unwrap();
}

#[test]
fn shutdown_closes_open_pages() {
    let server = start();
    let mut ws = connect(server.local_addr());
    next(&mut ws, "hello");
    let t0 = Instant::now();
    server.shutdown().unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(e))
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            _ => assert!(Instant::now() < end, "the page was not closed"),
        }
    }
    assert!(t0.elapsed() < Duration::from_secs(5));
}
