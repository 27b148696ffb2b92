//! Byte arrays serialized as byte strings (`serialize_bytes`), for `#[serde(with =
//! "crate::bytestr")]` on `Vec<u8>` fields holding data (znode values, snapshots).
//!
//! serde writes a `Vec<u8>` as a sequence, one element at a time; as a byte string a
//! format can copy it in one piece. The encodings that zoolab uses are the same either
//! way: bincode writes a u64 length then the bytes for both, and JSON an array of
//! numbers. Reading accepts both a byte string and a sequence, so what was written
//! before still reads.

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

/// Writes `bytes` as a byte string.
pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes)
}

/// Reads a byte string, or a sequence of bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    d.deserialize_byte_buf(Bytes)
}

struct Bytes;

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        // Bounded like serde's own `Vec` (a hostile length hint allocates little).
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// The same for an optional byte array (`Option<Vec<u8>>`).
pub mod option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Wrap(#[serde(with = "super")] Vec<u8>);

    /// Writes `Some` with a byte string.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&Borrowed(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads `Some` byte string (or sequence) or `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }

    struct Borrowed<'a>(&'a [u8]);

    impl Serialize for Borrowed<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Old {
        data: Vec<u8>,
        more: Option<Vec<u8>>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct New {
        #[serde(with = "crate::bytestr")]
        data: Vec<u8>,
        #[serde(with = "crate::bytestr::option")]
        more: Option<Vec<u8>>,
    }

    #[test]
    fn the_encoding_is_the_same_as_a_sequence_and_both_read_back() {
        for (data, more) in
            [(vec![], None), (vec![0, 1, 255], Some(vec![7; 300])), ((0..=255).collect(), Some(vec![]))]
        {
            let old = Old { data: data.clone(), more: more.clone() };
            let new = New { data, more };
            let json = serde_json::to_string(&old).unwrap();
            assert_eq!(serde_json::to_string(&new).unwrap(), json);
            assert_eq!(serde_json::from_str::<New>(&json).unwrap(), new);
            assert_eq!(serde_json::from_str::<Old>(&serde_json::to_string(&new).unwrap()).unwrap(), old);
        }
    }
}
