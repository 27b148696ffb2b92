//! CRC-32 as `java.util.zip.CRC32` (IEEE, reflected, polynomial `0xEDB88320`): the tree
//! digest, link and snapshot checksums.
//!
//! Natively this is `crc32fast` (SIMD, or 16 tables of 1 KiB). In the browser's bundle
//! those 16 KiB of tables do not compress (about 16 KB of the gzipped bundle), so the
//! wasm build uses [`Small`]: one 1 KiB table made at compile time, a byte at a time.
//! A test checks both give the same checksums.

#[cfg(not(target_arch = "wasm32"))]
pub use crc32fast::{hash, Hasher};
#[cfg(target_arch = "wasm32")]
pub use Small as Hasher;

/// The CRC-32 of `bytes`.
#[cfg(target_arch = "wasm32")]
pub fn hash(bytes: &[u8]) -> u32 {
    let mut h = Small::new();
    h.update(bytes);
    h.finalize()
}

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[n] = c;
        n += 1;
    }
    t
};

/// A byte-at-a-time CRC-32 with the same interface as `crc32fast::Hasher`.
#[derive(Clone, Debug, Default)]
pub struct Small {
    state: u32,
}

impl Small {
    /// A fresh checksum.
    pub fn new() -> Self {
        Small { state: 0 }
    }

    /// Adds `bytes` to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = !self.state;
        for &b in bytes {
            c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
        }
        self.state = !c;
    }

    /// The checksum of everything added.
    pub fn finalize(self) -> u32 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::Small;

    #[test]
    fn small_equals_crc32fast() {
        let mut x = 0x1234_5678u32;
        let bytes: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for len in [0, 1, 2, 3, 7, 8, 15, 16, 17, 60, 63, 64, 65, 1000, 5000] {
            let mut s = Small::new();
            s.update(&bytes[..len]);
            assert_eq!(s.finalize(), crc32fast::hash(&bytes[..len]), "{len} bytes");
            // In pieces, as the digest feeds path, data, then stat.
            let mut s = Small::new();
            let mut f = crc32fast::Hasher::new();
            for piece in bytes[..len].chunks(7) {
                s.update(piece);
                f.update(piece);
                assert_eq!(s.clone().finalize(), f.clone().finalize());
            }
        }
        assert_eq!(Small::new().finalize(), 0);
        let mut s = Small::new();
        s.update(b"123456789");
        assert_eq!(s.finalize(), 0xCBF4_3926);
    }
}
