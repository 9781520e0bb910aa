//! The container's HEALTHCHECK: `GET /readyz` on the server in the same container, exit 0
//! on HTTP 200, 1 otherwise.
//!
//! The runtime image is distroless (no shell, no curl), and the server has no probe
//! subcommand, so this tiny std-only program is compiled beside it in the build stage
//! with plain `rustc`. It speaks just enough HTTP/1.0 to read one status line.
//!
//! Usage: readyz-probe [HOST:PORT] [PATH]   (defaults 127.0.0.1:8080 and /readyz)

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

fn probe(address: &str, path: &str) -> Result<(), String> {
    let socket = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&socket, TIMEOUT).map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending: {e}"))?;
    // The status line fits in the first few bytes; the body does not matter.
    let mut head = [0_u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head[..read]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{path} answered {:?}", line.lines().next().unwrap_or("")))
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let path = args.next().unwrap_or_else(|| "/readyz".to_owned());
    match probe(&address, &path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("readyz-probe: {message}");
            ExitCode::FAILURE
        }
    }
}
