//! Share links in the page: the core's format (`scenario::link`, `z2.` + base64url of
//! raw DEFLATE + CRC-32), with the DEFLATE done by the browser (`CompressionStream` and
//! `DecompressionStream`, "deflate-raw") rather than by miniz_oxide in the bundle.
//!
//! The browser's streams are asynchronous and the model is not, so the page works around
//! the model: a link is [`inflate`]d before the model opens it (`Source::prepare`, and
//! `start` before the first render), then [`decode`] finds it inflated; a link made by
//! the model is its payload ([`encode`] gives [`Made::Payload`]), which the App
//! [`deflate`]s and gives back as `Action::Linked`. The link bytes differ from miniz's
//! (another encoder), the format does not: links made natively open in the page and
//! links made in the page open in `zoolab run` (the core's and the e2e tests check both).
//!
//! Natively and in the wasm tests everything stays synchronous: the core's own
//! `link::encode` and `link::decode` (miniz).

use zoolab_core::scenario::link::{self, LinkError};
use zoolab_core::scenario::Scenario;

/// A link the model made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Made {
    /// The link itself (natively, and in the wasm tests).
    Link(String),
    /// In the page: its payload, for [`deflate`] to finish.
    Payload(Vec<u8>),
}

/// The link of `scenario` at `position`: finished, or (in the page) its payload.
pub fn encode(scenario: &Scenario, position: u64) -> Result<Made, LinkError> {
    page::encode(scenario, position)
}

/// Opens a link: natively with miniz; in the page from what [`inflate`] kept.
pub fn decode(l: &str) -> Result<(Scenario, u64), LinkError> {
    page::decode(l)
}

/// Inflates a link with the browser's `DecompressionStream`, for [`decode`] (nothing to
/// do outside the page).
pub async fn inflate(l: &str) {
    page::inflate(l).await
}

/// A link from its payload, deflated by the browser's `CompressionStream` (the page
/// only; elsewhere [`encode`] already finished it).
pub async fn deflate(payload: &[u8]) -> Result<String, String> {
    page::deflate(payload).await
}

#[cfg(not(all(target_arch = "wasm32", not(test))))]
mod page {
    use super::*;

    pub fn encode(scenario: &Scenario, position: u64) -> Result<Made, LinkError> {
        link::encode(scenario, position).map(Made::Link)
    }

    pub fn decode(l: &str) -> Result<(Scenario, u64), LinkError> {
        link::decode(l)
    }

    pub async fn inflate(_: &str) {}

    pub async fn deflate(_: &[u8]) -> Result<String, String> {
        Err("links are finished by encode here".into())
    }
}

#[cfg(all(target_arch = "wasm32", not(test)))]
mod page {
    use super::*;
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    // Blob → stream → (De)CompressionStream → bytes. Inflation stops past `limit` bytes
    // (no decompression bomb) and rejects with "too large"; a stream that does not
    // inflate rejects with the browser's error. (The browser also refuses bytes after
    // the end of the DEFLATE stream, which miniz ignores: no encoder writes them.)
    #[wasm_bindgen(inline_js = "
export function deflate_raw(bytes) {
    const s = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
    return new Response(s).arrayBuffer().then((b) => new Uint8Array(b));
}
export async function inflate_raw(bytes, limit) {
    const r = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    const parts = [];
    let n = 0;
    for (;;) {
        const { done, value } = await r.read();
        if (done) break;
        n += value.length;
        if (n > limit) { r.cancel(); throw 'too large'; }
        parts.push(value);
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
}")]
    extern "C" {
        fn deflate_raw(bytes: &[u8]) -> js_sys::Promise;
        fn inflate_raw(bytes: &[u8], limit: u32) -> js_sys::Promise;
    }

    /// How many inflated links are kept: two links opened in quick succession (one
    /// waiting for its exercise's fetch) each find theirs.
    const KEPT: usize = 4;

    thread_local! {
        /// The latest links inflated, newest last: compressed bytes and what they gave.
        static INFLATED: RefCell<Vec<(Vec<u8>, Result<Vec<u8>, LinkError>)>> = const { RefCell::new(Vec::new()) };
    }

    pub fn encode(scenario: &Scenario, position: u64) -> Result<Made, LinkError> {
        link::payload(scenario, position).map(Made::Payload)
    }

    pub fn decode(l: &str) -> Result<(Scenario, u64), LinkError> {
        let sealed = link::unseal(l)?;
        let payload = INFLATED.with_borrow(|kept| {
            kept.iter().rev().find(|(d, _)| *d == sealed.deflated).map(|(_, p)| p.clone())
        });
        let payload = payload.unwrap_or(Err(LinkError::Corrupt))?;
        link::open(&payload, sealed.crc, sealed.version)
    }

    pub async fn inflate(l: &str) {
        let Ok(sealed) = link::unseal(l) else { return };
        let limit = link::MAX_PAYLOAD_BYTES as u32;
        let payload = match JsFuture::from(inflate_raw(&sealed.deflated, limit)).await {
            Ok(bytes) => Ok(js_sys::Uint8Array::new(&bytes).to_vec()),
            Err(e) if e.as_string().as_deref() == Some("too large") => Err(LinkError::TooLarge),
            Err(_) => Err(LinkError::Corrupt),
        };
        INFLATED.with_borrow_mut(|kept| {
            kept.retain(|(d, _)| *d != sealed.deflated);
            if kept.len() == KEPT {
                drop(kept.remove(0));
            }
            kept.push((sealed.deflated, payload));
        });
    }

    pub async fn deflate(payload: &[u8]) -> Result<String, String> {
        let deflated = JsFuture::from(deflate_raw(payload))
            .await
            .map_err(|e| format!("the browser did not compress it: {e:?}"))?;
        Ok(link::seal(payload, &js_sys::Uint8Array::new(&deflated).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_the_page_links_are_the_cores() {
        let sc = zoolab_core::scenario::parse("seed 3\ncluster a with 3 servers\n").unwrap();
        let Made::Link(l) = encode(&sc, 12).unwrap() else { panic!("finished at once") };
        assert_eq!(l, link::encode(&sc, 12).unwrap());
        assert_eq!(decode(&l).unwrap(), (sc, 12));
        assert_eq!(decode("z1.AAAAbroken"), link::decode("z1.AAAAbroken"));
    }
}
