//! Length-prefixed JSON frames over any `AsyncRead + AsyncWrite`.

use bytes::BytesMut;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec, length_delimited};

use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Message, ProtocolError, decode};

/// Bytes of the length prefix.
const HEADER_BYTES: usize = 4;

/// A typed, framed connection: [`recv`](Self::recv) and [`send`](Self::send) whole messages.
///
/// Frames are a u32 big-endian length followed by that many bytes of JSON, encoded and decoded
/// with [`LengthDelimitedCodec`]. Incoming and outgoing frames have separate caps. An incoming
/// header over the cap fails with [`ProtocolError::FrameTooLarge`] as soon as the 4 header bytes
/// arrive, before any buffer for the payload is reserved.
///
/// `recv` is cancel-safe (partial input stays buffered in the transport), so it can sit in a
/// `select!` with a shutdown signal; `send` is not.
#[derive(Debug)]
pub struct Transport<S> {
    io: S,
    decoder: LengthDelimitedCodec,
    encoder: LengthDelimitedCodec,
    read_buf: BytesMut,
    /// The codec consumed a header and waits for its payload.
    in_frame: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    /// A transport accepting frames up to `max_read` bytes and sending up to `max_write`.
    pub fn new(io: S, max_read: usize, max_write: usize) -> Self {
        Self {
            io,
            decoder: codec(max_read),
            encoder: codec(max_write),
            read_buf: BytesMut::with_capacity(8 * 1024),
            in_frame: false,
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
            let before = self.read_buf.len();
            match self.decoder.decode(&mut self.read_buf) {
                Ok(Some(frame)) => {
                    self.in_frame = false;
                    return Ok(Some(frame));
                }
                Ok(None) => {
                    if self.read_buf.len() < before {
                        self.in_frame = true;
                    }
                }
                Err(err) => return Err(self.map_decode_error(err)),
            }
            if self.io.read_buf(&mut self.read_buf).await? == 0 {
                if self.read_buf.is_empty() && !self.in_frame {
                    return Ok(None);
                }
                let header = if self.in_frame { HEADER_BYTES } else { 0 };
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

    fn map_decode_error(&self, err: std::io::Error) -> ProtocolError {
        let too_large = err
            .get_ref()
            .is_some_and(|inner| inner.is::<length_delimited::LengthDelimitedCodecError>());
        if too_large {
            ProtocolError::FrameTooLarge {
                max: self.decoder.max_frame_length(),
            }
        } else {
            ProtocolError::Io(err)
        }
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
