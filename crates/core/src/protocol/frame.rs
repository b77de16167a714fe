//! Length-prefixed JSON frames over any `AsyncRead + AsyncWrite`.

use bytes::{Buf, BytesMut};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Encoder, LengthDelimitedCodec};

use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Message, ProtocolError, decode};

/// Bytes of the length prefix.
const HEADER_BYTES: usize = 4;

/// Most bytes reserved ahead of what has arrived: a peer announcing a large frame makes the
/// buffer grow with the bytes it really sends, not by the announced length at once.
const READ_CHUNK: usize = 64 * 1024;

/// A typed, framed connection: [`recv`](Self::recv) and [`send`](Self::send) whole messages.
///
/// Frames are a u32 big-endian length followed by that many bytes of JSON, encoded with
/// [`LengthDelimitedCodec`]. Incoming and outgoing frames have separate caps. An incoming
/// header over the cap fails with [`ProtocolError::FrameTooLarge`] as soon as the 4 header bytes
/// arrive, before any buffer for the payload is reserved; below the cap the read buffer grows
/// as the payload's bytes arrive ([`READ_CHUNK`] at a time), so four bytes announcing a
/// 256 MiB answer cost nothing until the bytes exist.
///
/// `recv` is cancel-safe (partial input stays buffered in the transport), so it can sit in a
/// `select!` with a shutdown signal; `send` is not.
#[derive(Debug)]
pub struct Transport<S> {
    io: S,
    /// Largest incoming payload.
    max_read: usize,
    encoder: LengthDelimitedCodec,
    read_buf: BytesMut,
    /// The payload length of the frame whose header was consumed, while its bytes arrive.
    expect: Option<usize>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    /// A transport accepting frames up to `max_read` bytes and sending up to `max_write`.
    pub fn new(io: S, max_read: usize, max_write: usize) -> Self {
        Self {
            io,
            max_read,
            encoder: codec(max_write),
            read_buf: BytesMut::with_capacity(8 * 1024),
            expect: None,
        }
    }

    /// The daemon's side: reads requests ([`MAX_REQUEST_BYTES`]), writes responses
    /// ([`MAX_RESPONSE_BYTES`]).
    pub fn server(io: S) -> Self {
        Self::new(io, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES)
    }

    /// The client's side: reads responses ([`MAX_RESPONSE_BYTES`]), writes requests
    /// ([`MAX_REQUEST_BYTES`]).
    pub fn client(io: S) -> Self {
        Self::new(io, MAX_RESPONSE_BYTES, MAX_REQUEST_BYTES)
    }

    /// The next frame's payload, or `None` when the peer closed the connection between frames.
    pub async fn recv_frame(&mut self) -> Result<Option<BytesMut>, ProtocolError> {
        loop {
            if self.expect.is_none() && self.read_buf.len() >= HEADER_BYTES {
                let mut header = [0u8; HEADER_BYTES];
                header.copy_from_slice(&self.read_buf[..HEADER_BYTES]);
                let len = u32::from_be_bytes(header) as usize;
                if len > self.max_read {
                    return Err(ProtocolError::FrameTooLarge { max: self.max_read });
                }
                self.read_buf.advance(HEADER_BYTES);
                self.expect = Some(len);
            }
            if let Some(len) = self.expect
                && self.read_buf.len() >= len
            {
                self.expect = None;
                return Ok(Some(self.read_buf.split_to(len)));
            }
            let missing = match self.expect {
                Some(len) => len - self.read_buf.len(),
                None => HEADER_BYTES - self.read_buf.len(),
            };
            self.read_buf.reserve(missing.min(READ_CHUNK));
            if self.io.read_buf(&mut self.read_buf).await? == 0 {
                if self.read_buf.is_empty() && self.expect.is_none() {
                    return Ok(None);
                }
                let header = if self.expect.is_some() {
                    HEADER_BYTES
                } else {
                    0
                };
                return Err(ProtocolError::TruncatedFrame {
                    received: header + self.read_buf.len(),
                });
            }
        }
    }

    /// The next message, or `None` when the peer closed the connection between frames.
    ///
    /// Decoding errors ([`ProtocolError::is_recoverable`]) leave the transport usable.
    pub async fn recv<T: Message>(&mut self) -> Result<Option<T>, ProtocolError> {
        match self.recv_frame().await? {
            Some(frame) => decode(&frame).map(Some),
            None => Ok(None),
        }
    }

    /// Sends one frame holding `payload` and flushes.
    pub async fn send_frame(
        &mut self,
        payload: &[u8],
        kind: &'static str,
    ) -> Result<(), ProtocolError> {
        let max = self.encoder.max_frame_length();
        if payload.len() > max {
            return Err(ProtocolError::MessageTooLarge {
                kind,
                len: payload.len(),
                max,
            });
        }
        let mut out = BytesMut::with_capacity(HEADER_BYTES + payload.len());
        self.encoder.encode(payload, &mut out)?;
        self.io.write_all(&out).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Sends one message and flushes. A message over the outgoing cap is not sent
    /// ([`ProtocolError::MessageTooLarge`]) and the transport stays usable.
    ///
    /// Every known secret ([`crate::changelog::remember_secret`]) is scrubbed from an answer
    /// first: no answer carries one, even one echoed into an error message by Jamf or Vault.
    /// (Requests are left alone: a bootstrap request carries a password on purpose.)
    pub async fn send<T: Message>(&mut self, message: &T) -> Result<(), ProtocolError> {
        let mut payload = encode(message)?;
        if T::KIND == "response" {
            payload = crate::changelog::scrub_json(payload);
        }
        self.send_frame(&payload, T::KIND).await
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Gives back the stream, dropping any buffered input.
    pub fn into_inner(self) -> S {
        self.io
    }
}

/// Serializes a message to its JSON payload.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, ProtocolError> {
    serde_json::to_vec(message).map_err(ProtocolError::Encode)
}

/// u32 big-endian length prefix, capped at `max` bytes of payload.
fn codec(max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_type::<u32>()
        .big_endian()
        .max_frame_length(max)
        .new_codec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Four bytes announcing a frame just under the cap reserve no more than a chunk: an
    /// impostor daemon cannot make `wardenctl` allocate 256 MiB with a header.
    #[tokio::test]
    async fn an_announced_length_is_not_reserved_before_its_bytes_arrive() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let mut transport = Transport::client(client);
        let announced = (MAX_RESPONSE_BYTES - 1) as u32;
        server.write_all(&announced.to_be_bytes()).await.unwrap();
        server.write_all(b"{\"type\":").await.unwrap();
        drop(server);
        let err = transport.recv_frame().await.unwrap_err();
        assert!(
            matches!(err, ProtocolError::TruncatedFrame { received: 12 }),
            "{err}"
        );
        assert!(
            transport.read_buf.capacity() <= 2 * READ_CHUNK + 8 * 1024,
            "reserved {} bytes for 8 received",
            transport.read_buf.capacity()
        );
    }

    /// Frames split across reads, several frames in one read, and a frame over the cap.
    #[tokio::test]
    async fn frames_arrive_whole_however_the_bytes_are_cut() {
        let (client, mut server) = tokio::io::duplex(16);
        let mut transport = Transport::new(client, 1024, 1024);
        let writer = tokio::spawn(async move {
            let mut bytes = Vec::new();
            for payload in [&b"{\"a\":1}"[..], &[b'x'; 300][..], b"{}"] {
                bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                bytes.extend_from_slice(payload);
            }
            bytes.extend_from_slice(&2000u32.to_be_bytes());
            for chunk in bytes.chunks(7) {
                server.write_all(chunk).await.unwrap();
            }
            server
        });
        assert_eq!(
            &transport.recv_frame().await.unwrap().unwrap()[..],
            b"{\"a\":1}"
        );
        assert_eq!(transport.recv_frame().await.unwrap().unwrap().len(), 300);
        assert_eq!(&transport.recv_frame().await.unwrap().unwrap()[..], b"{}");
        let err = transport.recv_frame().await.unwrap_err();
        assert!(
            matches!(err, ProtocolError::FrameTooLarge { max: 1024 }),
            "{err}"
        );
        drop(writer.await.unwrap());
    }
}
