//! Jute, ZooKeeper's serialization, as its client protocol, snapshots and transaction
//! logs use it: big-endian fixed-width integers, booleans as one byte, strings and
//! buffers as a 4-byte length (−1 for null) followed by the bytes, vectors as a 4-byte
//! count (−1 for null) followed by the items.
//!
//! Decoding is defensive: every length is checked against what remains of the input and
//! against a caller-given limit (ZooKeeper's `jute.maxbuffer`), so a malformed or hostile
//! packet yields a [`JuteError`], never a panic or a huge allocation.

pub mod proto;
pub mod request;

use crate::tree::Data;
use thiserror::Error;

/// ZooKeeper's default `jute.maxbuffer`: the largest packet or znode payload (1 MiB − 1).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Why a jute record could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum JuteError {
    /// The input ended inside a field.
    #[error("truncated: needed {needed} more bytes for {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// A length or count was negative (other than −1 for null) or over the limit.
    #[error("bad length {len} for {field} (limit {limit})")]
    BadLength {
        /// The field being read.
        field: &'static str,
        /// The length found.
        len: i64,
        /// The limit in force.
        limit: usize,
    },
    /// A string was not UTF-8.
    #[error("{field} is not valid UTF-8")]
    BadUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A value that must not be null was null.
    #[error("{field} is null")]
    UnexpectedNull {
        /// The field being read.
        field: &'static str,
    },
    /// A field held a value the protocol does not define (an unknown opcode, say).
    #[error("bad value {value} for {field}")]
    BadValue {
        /// The field being read.
        field: &'static str,
        /// The value found.
        value: i64,
    },
    /// Bytes were left over after the record.
    #[error("{extra} unexpected trailing bytes after {record}")]
    Trailing {
        /// The record that was decoded.
        record: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
}

/// Reads jute fields from a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limit: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf` whose strings, buffers and vectors may be at most `limit` long.
    pub fn new(buf: &'a [u8], limit: usize) -> Reader<'a> {
        Reader { buf, pos: 0, limit }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless the whole input was consumed.
    pub fn finish(&self, record: &'static str) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(JuteError::Trailing { record, extra }),
        }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated { field, needed: n - self.remaining() });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), JuteError> {
        self.take(n, field).map(|_| ())
    }

    /// A boolean (one byte, non-zero is true).
    pub fn bool(&mut self, field: &'static str) -> Result<bool, JuteError> {
        Ok(self.take(1, field)?[0] != 0)
    }

    /// A big-endian 32-bit integer.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, JuteError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian 64-bit integer.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, JuteError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A length prefix: `None` for −1 (null), checked against the limit and the input.
    fn len(&mut self, field: &'static str, item_size: usize) -> Result<Option<usize>, JuteError> {
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let bad = JuteError::BadLength { field, len: i64::from(len), limit: self.limit };
        let len = usize::try_from(len).map_err(|_| bad.clone())?;
        if len > self.limit || len.saturating_mul(item_size) > self.remaining() {
            return Err(bad);
        }
        Ok(Some(len))
    }

    /// A buffer, `None` when null.
    pub fn buffer_opt(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, JuteError> {
        match self.len(field, 1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n, field)?.to_vec())),
        }
    }

    /// Znode data: a buffer, null (−1) kept as [`Data::NULL`] (`readBuffer` returns null).
    pub fn data(&mut self, field: &'static str) -> Result<Data, JuteError> {
        Ok(Data::from(self.buffer_opt(field)?))
    }

    /// A buffer; null reads as empty (for fields where null and empty mean the same).
    pub fn buffer(&mut self, field: &'static str) -> Result<Vec<u8>, JuteError> {
        Ok(self.buffer_opt(field)?.unwrap_or_default())
    }

    /// A UTF-8 string, `None` when null.
    pub fn string_opt(&mut self, field: &'static str) -> Result<Option<String>, JuteError> {
        match self.len(field, 1)? {
            None => Ok(None),
            Some(n) => {
                let bytes = self.take(n, field)?;
                String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| JuteError::BadUtf8 { field })
            }
        }
    }

    /// A UTF-8 string that must not be null.
    pub fn string(&mut self, field: &'static str) -> Result<String, JuteError> {
        self.string_opt(field)?.ok_or(JuteError::UnexpectedNull { field })
    }

    /// A vector whose items are read by `item` (each at least `min_item_size` bytes);
    /// null reads as empty.
    pub fn vec<T>(
        &mut self,
        field: &'static str,
        min_item_size: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, JuteError>,
    ) -> Result<Vec<T>, JuteError> {
        let n = self.len(field, min_item_size.max(1))?.unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }
}

/// Writes jute fields into a growing buffer.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// A boolean as one byte.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// A big-endian 32-bit integer.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian 64-bit integer.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn len(&mut self, n: usize) -> &mut Self {
        let n = i32::try_from(n).expect("jute lengths fit in an i32");
        self.i32(n)
    }

    /// A buffer (length, then bytes).
    pub fn buffer(&mut self, v: &[u8]) -> &mut Self {
        self.len(v.len());
        self.buf.extend_from_slice(v);
        self
    }

    /// Znode data: a buffer, or −1 for null (`writeBuffer(null)`).
    pub fn data(&mut self, v: &Data) -> &mut Self {
        match v.as_option() {
            Some(b) => self.buffer(b),
            None => self.null(),
        }
    }

    /// A null buffer or string (length −1).
    pub fn null(&mut self) -> &mut Self {
        self.i32(-1)
    }

    /// A string (length, then UTF-8 bytes).
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buffer(v.as_bytes())
    }

    /// A vector: its count, then each item written by `item`.
    pub fn vec<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.len(items.len());
        for i in items {
            item(self, i);
        }
        self
    }
}

/// Prefixes a payload with its 4-byte big-endian length, as ZooKeeper frames packets.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Splits one length-prefixed frame off the front of `buf`: `Ok(None)` when more bytes
/// are needed, an error when the announced length is negative or over `limit`.
pub fn unframe(buf: &[u8], limit: usize) -> Result<Option<(&[u8], usize)>, JuteError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let bad = JuteError::BadLength { field: "packet length", len: i64::from(len), limit };
    let len = usize::try_from(len).map_err(|_| bad.clone())?;
    if len > limit {
        return Err(bad);
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    Ok(Some((&buf[4..4 + len], 4 + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut w = Writer::new();
        w.i32(1).i64(-2).bool(true);
        assert_eq!(w.into_bytes(), vec![0, 0, 0, 1, 255, 255, 255, 255, 255, 255, 255, 254, 1]);
    }

    #[test]
    fn null_and_empty_strings_differ() {
        let mut w = Writer::new();
        w.null().string("");
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes, DEFAULT_MAX_BUFFER);
        assert_eq!(r.string_opt("a"), Ok(None));
        assert_eq!(r.string_opt("b"), Ok(Some(String::new())));
        r.finish("test").unwrap();
    }

    #[test]
    fn a_length_past_the_input_is_an_error_not_an_allocation() {
        let bytes = [0x7f, 0xff, 0xff, 0xff];
        let mut r = Reader::new(&bytes, usize::MAX);
        assert!(matches!(r.buffer("data"), Err(JuteError::BadLength { .. })));
        let mut r = Reader::new(&bytes, usize::MAX);
        assert!(matches!(r.vec("children", 4, |r| r.string("child")), Err(JuteError::BadLength { .. })));
    }

    #[test]
    fn a_length_over_the_limit_is_refused() {
        let mut w = Writer::new();
        w.buffer(&[0u8; 100]);
        let bytes = w.into_bytes();
        assert!(matches!(Reader::new(&bytes, 99).buffer("data"), Err(JuteError::BadLength { len: 100, .. })));
        assert_eq!(Reader::new(&bytes, 100).buffer("data").unwrap().len(), 100);
    }

    #[test]
    fn unframe_waits_for_a_whole_frame() {
        let framed = frame(b"hello");
        assert_eq!(unframe(&framed[..3], 100), Ok(None));
        assert_eq!(unframe(&framed[..7], 100), Ok(None));
        assert_eq!(unframe(&framed, 100), Ok(Some((&b"hello"[..], 9))));
        assert!(unframe(&framed, 4).is_err());
        assert!(unframe(&[0xff, 0xff, 0xff, 0xfe], 100).is_err());
    }
}
