//! A burst: several requests released at the same instant, one connection each, the way a race
//! is provoked. Each connection is opened (TCP, and TLS for `https`) and its request written up to
//! its last byte; only when every connection is that far are the last bytes written, one after
//! the other in one tight loop, so the requests complete within a fraction of a millisecond
//! ([`Burst::spread`] measures it). A server cannot act on a request before its last byte, so
//! however it schedules the earlier bytes, the requests reach its handlers together.
//!
//! The requests are written by hand (HTTP/1.1, `Connection: close`) and the answers read with
//! `httparse`: a pooled client cannot hold a request back by one byte. Every wait is bounded by
//! the run's `--timeout` (connecting and writing; then the answer, counted from the release), a
//! body by `--max-body-size`, and every failure becomes an [`Exchange`] with its transport class,
//! as the run's [`Client`] makes them (the same evidence, `curl` line and HAR record). The
//! environment's proxy variables are not used: the race is between the requests and the target.

use super::client::{Client, Exchange, Request, Response, Transport, TransportKind};
use bytes::Bytes;
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The largest response head read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// The requests of one burst and how closely they were released.
#[derive(Debug)]
pub struct Burst {
    /// One exchange per request, in the order given.
    pub exchanges: Vec<Exchange>,
    /// Between the first and the last release (the last byte written), over the requests whose
    /// connection was ready; zero when fewer than two were.
    pub spread: Duration,
    /// How many connections were ready at the barrier (the others failed to connect or write,
    /// and their exchanges say why).
    pub released: usize,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Conn = Box<dyn Io>;

/// A request written up to its last byte, waiting for the release.
struct Ready {
    conn: Conn,
    last: u8,
}

/// Sends `requests` as one burst through `client`'s settings (timeout, body cap, TLS
/// verification, secrets, HAR recording). Never fails: what went wrong is in each exchange.
pub async fn release(client: &Client, requests: Vec<Request>) -> Burst {
    let timeout = client.timeout();
    let prepared = futures::future::join_all(
        requests
            .iter()
            .map(|r| tokio::time::timeout(timeout, prepare(client, r))),
    )
    .await;
    // The barrier: every connection is open and its request written but for the last byte.
    type Slot = Result<(Conn, chrono::DateTime<Utc>, Instant), Fail>;
    let mut slots: Vec<Slot> = Vec::with_capacity(requests.len());
    let mut ready: Vec<Option<Ready>> = Vec::with_capacity(requests.len());
    for p in prepared {
        match p {
            Ok(Ok(r)) => ready.push(Some(r)),
            Ok(Err(t)) => {
                ready.push(None);
                slots.push(Err(t));
                continue;
            }
            Err(_) => {
                ready.push(None);
                slots.push(Err(transport(
                    TransportKind::Timeout,
                    format!(
                        "could not connect and write the request within --timeout {}",
                        humantime::format_duration(timeout)
                    ),
                )));
                continue;
            }
        }
        // A placeholder, replaced at the release below.
        slots.push(Err(transport(TransportKind::Other, String::new())));
    }
    // The release: one tight loop, no await point that could yield between two requests
    // (a one-byte write to a socket with room in its buffer completes at once).
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    let mut released = 0;
    for (slot, r) in slots.iter_mut().zip(ready) {
        let Some(Ready {
            mut conn,
            last: byte,
        }) = r
        else {
            continue;
        };
        let sent_at = Utc::now();
        let wrote = async {
            conn.write_all(&[byte]).await?;
            conn.flush().await
        }
        .await;
        let at = Instant::now();
        *slot = match wrote {
            Ok(()) => {
                first.get_or_insert(at);
                last = Some(at);
                released += 1;
                Ok((conn, sent_at, at))
            }
            Err(e) => Err(transport(
                TransportKind::Broken,
                format!("the connection broke at the release: {e}"),
            )),
        };
    }
    let spread = match (first, last) {
        (Some(a), Some(b)) if released > 1 => b.duration_since(a),
        _ => Duration::ZERO,
    };
    let max_body = client.max_body();
    let answers = futures::future::join_all(slots.into_iter().map(|slot| async move {
        match slot {
            Ok((mut conn, sent_at, at)) => {
                let outcome =
                    match tokio::time::timeout(timeout, read_response(&mut conn, max_body)).await {
                        Ok(outcome) => outcome,
                        Err(_) => Err(transport(
                            TransportKind::Timeout,
                            format!(
                                "no complete answer within --timeout {} of the release",
                                humantime::format_duration(timeout)
                            ),
                        )),
                    };
                (outcome, sent_at, at.elapsed())
            }
            Err(t) => (Err(t), Utc::now(), Duration::ZERO),
        }
    }))
    .await;
    let exchanges = requests
        .into_iter()
        .zip(answers)
        .map(|(request, (outcome, sent_at, elapsed))| {
            client.exchange_of(
                request,
                sent_at,
                elapsed,
                outcome.map_err(Fail::into_transport),
            )
        })
        .collect();
    Burst {
        exchanges,
        spread,
        released,
    }
}

/// Why a request of the burst got no complete answer; the status and headers when they came.
/// Small (the head boxed), as it travels in every `Result` here.
#[derive(Debug)]
struct Fail {
    kind: TransportKind,
    message: String,
    head: Option<Box<(u16, HeaderMap)>>,
}

impl Fail {
    fn into_transport(self) -> Transport {
        let (status, headers) = match self.head {
            Some(head) => (Some(head.0), head.1),
            None => (None, HeaderMap::new()),
        };
        Transport {
            kind: self.kind,
            message: self.message,
            status,
            headers,
            partial_body: Bytes::new(),
        }
    }
}

fn transport(kind: TransportKind, message: String) -> Fail {
    Fail {
        kind,
        message,
        head: None,
    }
}

/// The request as it goes on the wire: the headers the run's client sends, then the request's.
fn serialize(request: &Request) -> Result<Vec<u8>, Fail> {
    let url = &request.url;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(transport(
            TransportKind::Other,
            format!("{url} is neither http nor https"),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| transport(TransportKind::Other, format!("{url} has no host")))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut out = format!(
        "{} {target} HTTP/1.1\r\nHost: {authority}\r\n",
        request.method
    );
    // `Client::sent_headers` is what the run's client sends (the probe header included).
    for (name, value) in Client::sent_headers(request) {
        if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if HeaderName::from_bytes(name.as_bytes()).is_err()
            || HeaderValue::from_str(&value).is_err()
        {
            return Err(transport(
                TransportKind::Other,
                format!("header `{name}` cannot be sent: its name or value is not valid HTTP"),
            ));
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let body: &[u8] = request.body.as_ref().map_or(&[], |(_, b)| b.as_slice());
    if !body.is_empty() || request.method == reqwest::Method::POST {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

async fn prepare(client: &Client, request: &Request) -> Result<Ready, Fail> {
    let mut bytes = serialize(request)?;
    let url = &request.url;
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    // `[::1]` is the URL's form of an IPv6 host; the socket wants it bare.
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tcp = TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(|e| {
            transport(
                TransportKind::Connect,
                format!("cannot connect to {host}:{port}: {e}"),
            )
        })?;
    // The held-back byte must leave at once when released, not wait for an acknowledgement.
    let _ = tcp.set_nodelay(true);
    let mut conn: Conn = if url.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(connect_host.clone()).map_err(|e| {
            transport(
                TransportKind::Tls,
                format!("`{host}` is not a TLS server name: {e}"),
            )
        })?;
        let config = tls_config(client.insecure()).map_err(|e| transport(TransportKind::Tls, e))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| {
                transport(
                    TransportKind::Tls,
                    format!("TLS handshake with {host}:{port} failed: {e} (fix the certificate or pass --insecure)"),
                )
            })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let last = bytes.pop().unwrap_or(b'\n');
    conn.write_all(&bytes).await.map_err(|e| {
        transport(
            TransportKind::Broken,
            format!("writing the request failed: {e}"),
        )
    })?;
    conn.flush().await.map_err(|e| {
        transport(
            TransportKind::Broken,
            format!("writing the request failed: {e}"),
        )
    })?;
    Ok(Ready { conn, last })
}

/// One TLS configuration per verification mode and process (loading the platform's roots is
/// not free).
fn tls_config(insecure: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    static VERIFIED: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    crate::tls::install_default_provider();
    let cell = if insecure { &UNVERIFIED } else { &VERIFIED };
    cell.get_or_init(|| {
        let config = if insecure {
            rustls::ClientConfig::builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate))
                .with_no_client_auth()
        } else {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("the platform's certificate verifier: {e}"))?
        };
        Ok(Arc::new(config))
    })
    .clone()
}

/// `--insecure`: any certificate is accepted (the reports say so), as by the run's client.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::CryptoProvider::get_default()
            .map(|p| p.signature_verification_algorithms.supported_schemes())
            .unwrap_or_default()
    }
}

/// Reads one HTTP/1.1 response: the head, then the body as its framing says (chunked,
/// `Content-Length`, or until the connection closes), at most `max_body` bytes of it.
async fn read_response(conn: &mut Conn, max_body: u64) -> Result<Response, Fail> {
    let mut reader = BufReader::new(conn);
    loop {
        let head = read_head(&mut reader).await?;
        let mut headers = [httparse::EMPTY_HEADER; 96];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                return Err(transport(
                    TransportKind::Other,
                    format!(
                        "the answer is not an HTTP/1.1 response: {}",
                        super::client::shorten(&String::from_utf8_lossy(&head), 120)
                    ),
                ))
            }
        }
        let status = parsed.code.unwrap_or(0);
        let mut map = HeaderMap::new();
        for h in parsed.headers.iter() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_bytes(h.value),
            ) {
                map.append(n, v);
            }
        }
        // An interim answer (100 Continue) is followed by the real one.
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let broken = |f: Fail, status: u16, map: &HeaderMap| Fail {
            head: Some(Box::new((status, map.clone()))),
            ..f
        };
        let body = if status == 204 || status == 304 {
            Vec::new()
        } else if map
            .get("transfer-encoding")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            read_chunked(&mut reader, max_body)
                .await
                .map_err(|t| broken(t, status, &map))?
        } else if let Some(len) = map
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            if len > max_body {
                return Err(broken(too_large(max_body, len), status, &map));
            }
            let mut body = vec![0; len as usize];
            reader.read_exact(&mut body).await.map_err(|e| {
                broken(
                    transport(
                        TransportKind::Broken,
                        format!("the body broke off before its {len} bytes: {e}"),
                    ),
                    status,
                    &map,
                )
            })?;
            body
        } else {
            let mut body = Vec::new();
            (&mut reader)
                .take(max_body + 1)
                .read_to_end(&mut body)
                .await
                .map_err(|e| {
                    broken(
                        transport(TransportKind::Broken, format!("the body broke off: {e}")),
                        status,
                        &map,
                    )
                })?;
            if body.len() as u64 > max_body {
                return Err(broken(too_large(max_body, body.len() as u64), status, &map));
            }
            body
        };
        return Ok(Response::new(status, map, Bytes::from(body)));
    }
}

fn too_large(max_body: u64, read: u64) -> Fail {
    transport(
        TransportKind::TooLarge,
        format!(
            "the body is larger than --max-body-size ({max_body} bytes; {read} announced or read); stopped reading"
        ),
    )
}

async fn read_head<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Result<Vec<u8>, Fail> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = reader.read_until(b'\n', &mut head).await.map_err(|e| {
            transport(
                TransportKind::Broken,
                format!("reading the answer failed: {e}"),
            )
        })?;
        if n == 0 {
            return Err(transport(
                TransportKind::Broken,
                if head.is_empty() {
                    "the connection closed without an answer".to_owned()
                } else {
                    "the connection closed in the middle of the answer's head".to_owned()
                },
            ));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(transport(
                TransportKind::TooLarge,
                format!("the answer's head is longer than {MAX_HEAD} bytes"),
            ));
        }
    }
}

async fn read_chunked<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    max_body: u64,
) -> Result<Vec<u8>, Fail> {
    let broken = |what: String| transport(TransportKind::Broken, what);
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| broken(format!("the chunked body broke off: {e}")))?;
        let text = String::from_utf8_lossy(&line);
        let size = text.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| broken(format!("a chunk size `{}` that is not hex", text.trim())))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut trailer = Vec::new();
                let n = reader
                    .read_until(b'\n', &mut trailer)
                    .await
                    .map_err(|e| broken(format!("the chunked body broke off: {e}")))?;
                if n == 0 || trailer == b"\r\n" || trailer == b"\n" {
                    return Ok(body);
                }
            }
        }
        if body.len() as u64 + size > max_body {
            return Err(too_large(max_body, body.len() as u64 + size));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        reader
            .read_exact(&mut body[start..])
            .await
            .map_err(|e| broken(format!("the chunked body broke off: {e}")))?;
        let mut crlf = Vec::new();
        reader
            .read_until(b'\n', &mut crlf)
            .await
            .map_err(|e| broken(format!("the chunked body broke off: {e}")))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunked_bodies_are_decoded_and_capped() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n".to_vec();
        let mut r = BufReader::new(&wire[..]);
        assert_eq!(
            read_chunked(&mut r, 100).await.expect("decodes"),
            b"Wikipedia"
        );
        let mut r = BufReader::new(&wire[..]);
        let err = read_chunked(&mut r, 6).await.expect_err("capped");
        assert_eq!(err.kind, TransportKind::TooLarge);
        let mut r = BufReader::new(&b"zz\r\n"[..]);
        assert_eq!(
            read_chunked(&mut r, 100).await.expect_err("not hex").kind,
            TransportKind::Broken
        );
    }

    #[test]
    fn the_wire_form_names_host_length_and_close() {
        let url =
            url::Url::parse("http://127.0.0.1:4433/self-service/recovery?flow=f").expect("url");
        let req = Request::post_json("race.code", url, &serde_json::json!({"code": "123456"}));
        let wire = String::from_utf8(serialize(&req).expect("serializes")).expect("text");
        assert!(
            wire.starts_with(
                "POST /self-service/recovery?flow=f HTTP/1.1\r\nHost: 127.0.0.1:4433\r\n"
            ),
            "{wire}"
        );
        assert!(wire.contains("\r\nContent-Length: 17\r\n"), "{wire}");
        assert!(
            wire.contains("\r\nx-recovery-harness-probe: race.code\r\n"),
            "{wire}"
        );
        assert!(
            wire.ends_with("Connection: close\r\n\r\n{\"code\":\"123456\"}"),
            "{wire}"
        );
    }
}
