//! A WebSocket opened by hand on a raw socket, for clients that must never write again.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::{io, within, TestError, TestResult, WAIT};

/// A WebSocket opened by hand on a raw socket, for clients that must never write again after
/// the handshake (a WebSocket library would answer pings, and a write to a connection the
/// server has closed makes the kernel discard what is still unread, close frame included).
pub(crate) struct RawWebSocket {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl RawWebSocket {
    /// Connects to `addr`, optionally with a small receive buffer, and upgrades `path`.
    pub(crate) async fn connect(
        addr: SocketAddr,
        path: &str,
        recv_buffer: Option<u32>,
    ) -> TestResult<Self> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(io("creating a socket"))?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(io("setting the receive buffer"))?;
        }
        let mut stream = socket.connect(addr).await.map_err(io("connecting"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(io("sending the upgrade"))?;
        let mut buffered = Vec::new();
        let mut chunk = [0u8; 1024];
        let head_end = within("the upgrade response", WAIT, async {
            loop {
                if let Some(at) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                    return Ok(at + 4);
                }
                let n = stream
                    .read(&mut chunk)
                    .await
                    .map_err(io("reading the upgrade response"))?;
                if n == 0 {
                    return Err(TestError::Protocol(
                        "connection closed during the upgrade".into(),
                    ));
                }
                buffered.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
        })
        .await??;
        let head =
            String::from_utf8_lossy(buffered.get(..head_end).unwrap_or_default()).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(TestError::Protocol(format!("upgrade refused: {head}")));
        }
        buffered.drain(..head_end);
        Ok(RawWebSocket { stream, buffered })
    }

    /// Reads (never writes) until the server's close frame or the end of the connection;
    /// returns the close code, if a close frame came, and how many data frames preceded it.
    /// Reads at most `chunk` bytes every `pace` (a reader slower than the server writes) until
    /// `hurry` fires or the connection ends, then like [`RawWebSocket::read_until_close`].
    pub(crate) async fn read_slowly_until_close(
        mut self,
        chunk: usize,
        pace: Duration,
        mut hurry: oneshot::Receiver<()>,
    ) -> TestResult<(Option<u16>, usize)> {
        let mut buf = vec![0u8; chunk];
        loop {
            tokio::select! {
                _ = &mut hurry => break,
                _ = tokio::time::sleep(pace) => match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.buffered.extend_from_slice(buf.get(..n).unwrap_or_default()),
                },
            }
        }
        self.read_until_close().await
    }

    pub(crate) async fn read_until_close(mut self) -> TestResult<(Option<u16>, usize)> {
        within("the server to end the connection", WAIT, async move {
            let mut frames = 0;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                while let Some((opcode, payload, used)) = parse_frame(&self.buffered) {
                    if opcode == 0x8 {
                        let code = match payload.as_slice() {
                            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
                            _ => None,
                        };
                        return Ok((code, frames));
                    }
                    if opcode == 0x2 {
                        frames += 1;
                    }
                    self.buffered.drain(..used);
                }
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return Ok((None, frames)),
                    Ok(n) => self
                        .buffered
                        .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                }
            }
        })
        .await?
    }
}

/// One unmasked server frame at the start of `buf`: (opcode, payload, bytes used).
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let opcode = buf.first()? & 0x0f;
    let len7 = buf.get(1)? & 0x7f;
    let (len, header) = match len7 {
        126 => (
            u64::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        n => (u64::from(n), 2),
    };
    let end = header + usize::try_from(len).ok()?;
    let payload = buf.get(header..end)?.to_vec();
    Some((opcode, payload, end))
}
