//! JSON answers written piece by piece from the store (ADR 0022): a blocking task reads one block (or one page
//! of unspent outputs) at a time, serializes it into a buffer and hands the buffer to the connection in
//! chunks of about [`CHUNK_BYTES`] through a channel of [`CHANNEL_CHUNKS`]. Memory per answer is therefore a
//! few chunks plus the view of one block, whatever the length of the chain; a client that reads slowly
//! slows the task down (the channel is full), and a client that goes away ends it (the channel is closed).
//!
//! The bytes are those `axum::Json` wrote for the same `serde_json::Value` (keys in sorted order, compact),
//! so streamed and buffered answers are byte for byte the same. A failure after the first byte (the store
//! cannot read a block) aborts the connection, so a client never takes a cut answer for a whole one.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ferrochain_node::Node;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Bytes collected before they are handed to the connection.
pub const CHUNK_BYTES: usize = 16 * 1024;
/// Chunks that may wait for the connection.
pub const CHANNEL_CHUNKS: usize = 4;

/// Why writing an answer stopped early.
#[derive(Debug)]
pub enum StreamError {
    /// The client went away (its connection closed or was dropped): nothing more to do.
    Gone,
    /// Reading what to write failed: the answer is aborted.
    Failed(String),
}

/// Writes the JSON of one answer into the channel of its body.
#[derive(Debug)]
pub struct JsonWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl JsonWriter {
    /// Writes JSON text as it is (punctuation and keys the caller knows are valid).
    pub fn raw(&mut self, text: &str) -> Result<(), StreamError> {
        self.buf.extend_from_slice(text.as_bytes());
        self.maybe_flush()
    }

    /// Writes `value` as compact JSON.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), StreamError> {
        serde_json::to_writer(&mut self.buf, value)
            .map_err(|e| StreamError::Failed(format!("serializing the answer: {e}")))?;
        self.maybe_flush()
    }

    /// Writes the items of `items` as a JSON array's elements (without the brackets), each made by `item`,
    /// skipping `None`s.
    pub fn elements<I>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        mut item: impl FnMut(I) -> Result<Option<serde_json::Value>, StreamError>,
    ) -> Result<(), StreamError> {
        let mut first = true;
        for i in items {
            let Some(v) = item(i)? else { continue };
            if !first {
                self.raw(",")?;
            }
            first = false;
            self.value(&v)?;
        }
        Ok(())
    }

    fn maybe_flush(&mut self) -> Result<(), StreamError> {
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(2 * CHUNK_BYTES),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| StreamError::Gone)
    }
}

/// A `200 application/json` answer whose body `write` produces on a blocking thread, holding `permit` (a slot
/// of the heavy routes) until it is done.
pub fn json_response(
    node: &Node,
    permit: OwnedSemaphorePermit,
    write: impl FnOnce(&Node, &mut JsonWriter) -> Result<(), StreamError> + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let node = node.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut writer = JsonWriter {
            buf: Vec::with_capacity(2 * CHUNK_BYTES),
            tx,
        };
        match write(&node, &mut writer).and_then(|()| writer.flush()) {
            Ok(()) | Err(StreamError::Gone) => {}
            Err(StreamError::Failed(cause)) => {
                tracing::error!(%cause, "a streamed answer failed; its connection is aborted");
                let _ = writer.tx.blocking_send(Err(io::Error::other(cause)));
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}
