//! A znode's data: bytes, or **null**, as ZooKeeper's `byte[] data` can be.
//!
//! ZooKeeper 3.8 keeps null distinct from empty: zkCli's `create /x` (no data) sends a
//! jute buffer of length −1, the server stores `null`, `getData` answers with a −1
//! buffer and zkCli's `get /x` prints `null`. Everything else treats null as empty: the
//! Stat's `dataLength` is 0, quotas count 0 bytes and the digest hashes no bytes
//! (`DigestCalculator`: `if (data != null) crc.update(data)`).
//!
//! [`Data`] dereferences to its bytes (null reads as an empty slice), so code that only
//! looks at the bytes needs no change; [`Data::is_null`] tells the two apart. It costs
//! nothing: `Option<Vec<u8>>` uses the `Vec`'s niche, so a [`Data`] is as big as a `Vec`.
//!
//! # Serialized form
//! A null is serde's `none`, bytes are `some` byte string: JSON `null` or an array of
//! numbers (an array written before nulls existed reads back as the same bytes);
//! bincode a tag byte, then the u64 length and the bytes. Bincode written before
//! (without the tag) needs [`legacy`], which reads a plain byte string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;

/// A znode's data: bytes or null. The default is empty bytes (ZooKeeper's root,
/// `/zookeeper` and its children hold `new byte[0]`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Data(Option<Vec<u8>>);

impl Default for Data {
    fn default() -> Data {
        Data::empty()
    }
}

impl Data {
    /// Null data (ZooKeeper's `null`).
    pub const NULL: Data = Data(None);

    /// Empty (not null) data.
    pub const fn empty() -> Data {
        Data(Some(Vec::new()))
    }

    /// Whether this is null (not merely empty).
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes; null gives an empty slice.
    pub fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }

    /// `None` for null, else the bytes.
    pub fn as_option(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }

    /// The bytes, owned; null gives an empty vector.
    pub fn into_vec(self) -> Vec<u8> {
        self.0.unwrap_or_default()
    }

    /// `None` for null, else the bytes, owned.
    pub fn into_option(self) -> Option<Vec<u8>> {
        self.0
    }

    /// The bytes as zkCli prints them: `null` for null, else the bytes as UTF-8
    /// (invalid sequences replaced, as Java's `new String(bytes)` does).
    pub fn to_cli_string(&self) -> String {
        match &self.0 {
            None => "null".to_owned(),
            Some(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

impl Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl From<Vec<u8>> for Data {
    fn from(v: Vec<u8>) -> Data {
        Data(Some(v))
    }
}

impl From<&[u8]> for Data {
    fn from(v: &[u8]) -> Data {
        Data(Some(v.to_vec()))
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(v: &[u8; N]) -> Data {
        Data(Some(v.to_vec()))
    }
}

impl From<&str> for Data {
    fn from(v: &str) -> Data {
        Data(Some(v.as_bytes().to_vec()))
    }
}

impl From<Option<Vec<u8>>> for Data {
    fn from(v: Option<Vec<u8>>) -> Data {
        Data(v)
    }
}

/// Compares with bytes: null equals none of them, not even an empty slice.
impl PartialEq<[u8]> for Data {
    fn eq(&self, other: &[u8]) -> bool {
        self.0.as_deref() == Some(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Data {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.0.as_deref() == Some(&other[..])
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Data {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0.as_deref() == Some(&other[..])
    }
}

impl PartialEq<Vec<u8>> for Data {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0.as_ref() == Some(other)
    }
}

impl fmt::Debug for Data {
    /// `null`, or the bytes as `b"..."` with escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("null"),
            Some(b) => write!(f, "b\"{}\"", b.escape_ascii()),
        }
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::bytestr::option::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        crate::bytestr::option::deserialize(d).map(Data)
    }
}

/// `#[serde(with = "crate::tree::data::legacy")]`: data written before null existed, a
/// plain byte string (read as bytes, never null; null is written as empty). For the
/// bincode of zoolab's older files.
pub mod legacy {
    use super::Data;
    use serde::{Deserializer, Serializer};

    /// Writes the bytes (null as empty).
    pub fn serialize<S: Serializer>(d: &Data, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(d.bytes())
    }

    /// Reads a byte string as (non-null) data.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        crate::bytestr::deserialize(d).map(Data::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_distinct_from_empty_but_reads_as_no_bytes() {
        assert_ne!(Data::NULL, Data::empty());
        assert!(Data::NULL.is_null() && !Data::empty().is_null());
        assert_eq!(Data::NULL.len(), 0);
        assert_eq!(Data::NULL.bytes(), Data::empty().bytes());
        assert_eq!(Data::default(), Data::empty(), "ZooKeeper's built-in nodes hold new byte[0]");
        assert_eq!(Data::NULL.to_cli_string(), "null");
        assert_eq!(Data::from("null").to_cli_string(), "null");
        assert_eq!(Data::empty().to_cli_string(), "");
        assert_eq!(format!("{:?} {:?}", Data::NULL, Data::from(b"a\n")), "null b\"a\\n\"");
    }

    #[test]
    fn as_lean_as_a_vec() {
        assert_eq!(std::mem::size_of::<Data>(), std::mem::size_of::<Vec<u8>>());
    }

    #[test]
    fn serde_round_trips_null_and_reads_old_json() {
        for d in [Data::NULL, Data::empty(), Data::from(b"xyz")] {
            let j = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Data>(&j).unwrap(), d, "{j}");
        }
        assert_eq!(serde_json::to_string(&Data::NULL).unwrap(), "null");
        // What `#[serde(with = "crate::bytestr")]` on a Vec<u8> wrote before.
        assert_eq!(serde_json::from_str::<Data>("[1,2]").unwrap(), Data::from(vec![1, 2]));
        assert_eq!(serde_json::from_str::<Data>("[]").unwrap(), Data::empty());
    }
}
