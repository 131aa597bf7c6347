//! Just enough HTTP/1.1 for the demo: read one request head (bounded), answer it, close. The
//! page is three static files embedded in the binary; everything else goes over the WebSocket.

use std::io::{self, Read, Write};

/// Longest request head accepted [bytes]; a browser's is under 2 KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// A parsed request line and headers.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestHead {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the comma-separated header `name` holds `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    #[error("the request head is longer than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("the connection closed before a full request arrived")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one request head. Returns it with the bytes read past its end (the start of whatever
/// the client sent next).
pub fn read_head(stream: &mut impl Read) -> Result<(RequestHead, Vec<u8>), HeadError> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let head = RequestHead {
                    method: request.method.unwrap_or_default().to_string(),
                    path: request
                        .path
                        .unwrap_or_default()
                        .split(['?', '#'])
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    headers: request
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                };
                return Ok((head, buf[len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => return Err(HeadError::TooLarge),
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
            Err(e) => return Err(HeadError::Malformed(e.to_string())),
        }
    }
}

/// A static file of the page.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The page: no build step, nothing from elsewhere.
pub const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("assets/index.html"),
    },
    Asset {
        path: "/demo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/demo.js"),
    },
    Asset {
        path: "/demo.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/demo.css"),
    },
];

pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The page may load only itself and talk only to its own server.
const SECURITY_HEADERS: &str = "Content-Security-Policy: default-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";

/// Writes a complete response and asks the client to close the connection.
pub fn respond(
    stream: &mut impl Write,
    status: u16,
    reason: &str,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n{SECURITY_HEADERS}{extra_headers}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// A plain-text error page.
pub fn respond_error(
    stream: &mut impl Write,
    status: u16,
    reason: &str,
    extra_headers: &str,
    message: &str,
) -> io::Result<()> {
    respond(
        stream,
        status,
        reason,
        "text/plain; charset=utf-8",
        extra_headers,
        format!("{status} {reason}: {message}\n").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers its bytes a few at a time, as a slow network would.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_request_head_is_read_in_pieces() {
        let bytes = b"GET /demo.js?v=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: keep-alive, Upgrade\r\n\r\nrest";
        let (head, rest) = read_head(&mut Trickle(bytes)).unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/demo.js");
        assert_eq!(head.header("host"), Some("127.0.0.1:8000"));
        assert!(head.header_has_token("connection", "upgrade"));
        assert!(!head.header_has_token("connection", "close"));
        // What came after the head is handed back (a trickle stops reading at its chunk end).
        assert!(b"rest".starts_with(&rest));
    }

    #[test]
    fn bad_heads_are_errors() {
        let e = read_head(&mut Trickle(b"GET / HTTP/1.1\r\nHost")).unwrap_err();
        assert!(matches!(e, HeadError::Closed), "{e}");
        let e = read_head(&mut Trickle(b"\x01\x02 nonsense\r\n\r\n")).unwrap_err();
        assert!(matches!(e, HeadError::Malformed(_)), "{e}");
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() < MAX_HEAD_BYTES + 100 {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let e = read_head(&mut Trickle(&big)).unwrap_err();
        assert!(matches!(e, HeadError::TooLarge), "{e}");
    }

    #[test]
    fn the_page_is_served_from_the_binary() {
        assert!(asset("/").unwrap().body.contains("<title>"));
        assert_eq!(asset("/index.html").unwrap().path, "/");
        assert!(asset("/demo.js").is_some());
        assert!(asset("/demo.css").is_some());
        assert!(asset("/secret").is_none());
        assert!(asset("/../Cargo.toml").is_none());
    }
}
