//! Share links: a scenario and a position in its run, as a URL fragment.
//!
//! A run is a deterministic function of its scenario, so a link carries the scenario's
//! canonical text (which holds the seed and every user action) and the position the
//! sender was looking at: the number of simulator events run so far. Opening the link
//! replays the scenario to that position and reaches the same state, with the same
//! trace hash, in any browser and in `zoolab run`.
//!
//! ## Format, version 2
//!
//! ```text
//! z2.<base64url, no padding, of: deflate(payload) ++ crc32(payload) as 4 bytes LE>
//! payload = LEB128(position) ++ the scenario's canonical text in UTF-8
//! ```
//!
//! Version 1 is the same bytes, from before a `create` without data made a node with
//! null data (as zkCli does): such a create made empty data then, so opening a `z1.`
//! link gives those creates an empty data argument (`create /x ""`) and the link
//! replays to the state it showed.
//!
//! The prefix `z<version>.` names the format; a newer zoolab keeps a decoder for every
//! older version (golden links in the tests), and an older one names the version it
//! does not know. The CRC-32 of the decompressed payload catches corruption and
//! tampering; decompression stops at [`MAX_PAYLOAD_BYTES`] (no decompression bomb), and
//! links longer than [`MAX_LINK_CHARS`] are refused before any work.

use super::{parse, ParseError, Scenario};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// The format version [`encode`] writes.
pub const VERSION: u32 = 2;
/// The longest link [`decode`] looks at, in characters.
pub const MAX_LINK_CHARS: usize = 64 * 1024;
/// The largest decompressed payload, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a link does not open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a zoolab link at all.
    #[error("not a zoolab link (it should look like #z1.…)")]
    NotALink,
    /// Made by a newer zoolab.
    #[error("link format version {0} is newer than this zoolab (it reads up to version {VERSION})")]
    UnsupportedVersion(u32),
    /// Longer than [`MAX_LINK_CHARS`].
    #[error("link longer than {MAX_LINK_CHARS} characters")]
    TooLong,
    /// Characters outside base64url.
    #[error("link is damaged: {0}")]
    BadEncoding(String),
    /// Too short to hold anything.
    #[error("link is truncated")]
    Truncated,
    /// Decompresses to more than [`MAX_PAYLOAD_BYTES`].
    #[error("link expands to more than {MAX_PAYLOAD_BYTES} bytes")]
    TooLarge,
    /// Does not decompress (truncated or altered).
    #[error("link is damaged: it does not decompress")]
    Corrupt,
    /// Decompresses, but the checksum does not match: altered.
    #[error("link is damaged or was altered: checksum mismatch")]
    Tampered,
    /// The scenario inside does not parse (or is not valid UTF-8).
    #[error("the link's scenario is invalid: {0}")]
    Invalid(String),
    /// The scenario cannot be written as a link (see [`Scenario::validate`]).
    #[error("this scenario cannot be shared: {0}")]
    Unwritable(String),
}

impl From<ParseError> for LinkError {
    fn from(e: ParseError) -> LinkError {
        LinkError::Invalid(e.to_string())
    }
}

fn leb128(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb128(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 1 {
            return None;
        }
        n |= part << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, &bytes[i + 1..]));
        }
    }
    None
}

/// The link fragment (without `#`) for `scenario` seen at `position` events.
pub fn encode(scenario: &Scenario, position: u64) -> Result<String, LinkError> {
    let payload = payload(scenario, position)?;
    Ok(seal(&payload, &miniz_oxide::deflate::compress_to_vec(&payload, 10)))
}

/// What a link for `scenario` at `position` carries, before compression: LEB128 of the
/// position, then the scenario's canonical text. [`encode`] is [`seal`] of it with
/// miniz's deflate; a driver with a deflate of its own (the page: the browser's
/// `CompressionStream("deflate-raw")`) calls the two halves around it.
pub fn payload(scenario: &Scenario, position: u64) -> Result<Vec<u8>, LinkError> {
    scenario.validate().map_err(LinkError::Unwritable)?;
    let text = scenario.to_string();
    let mut payload = Vec::with_capacity(text.len() + 10);
    leb128(position, &mut payload);
    payload.extend_from_slice(text.as_bytes());
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(LinkError::TooLarge);
    }
    Ok(payload)
}

/// The link of a [`payload`], given `deflated`, a raw DEFLATE stream (RFC 1951) of it
/// made by any encoder: links made by different encoders differ in their bytes, and
/// every one of them opens to the same payload.
pub fn seal(payload: &[u8], deflated: &[u8]) -> String {
    let mut blob = Vec::with_capacity(deflated.len() + 4);
    blob.extend_from_slice(deflated);
    blob.extend_from_slice(&crate::crc32::hash(payload).to_le_bytes());
    format!("z{VERSION}.{}", B64.encode(blob))
}

/// Opens a link: a fragment (`z1.…`, with or without `#`) or a whole URL holding one.
pub fn decode(link: &str) -> Result<(Scenario, u64), LinkError> {
    let sealed = unseal(link)?;
    let payload = miniz_oxide::inflate::decompress_to_vec_with_limit(&sealed.deflated, MAX_PAYLOAD_BYTES)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => LinkError::TooLarge,
            _ => LinkError::Corrupt,
        })?;
    open(&payload, sealed.crc, sealed.version)
}

/// A link opened down to its compressed part ([`unseal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The payload's raw DEFLATE stream.
    pub deflated: Vec<u8>,
    /// The payload's CRC-32, as the link carries it.
    pub crc: u32,
    /// The link's format version (1 or [`VERSION`]).
    pub version: u32,
}

/// [`decode`]'s first half: the link's version, length and encoding checked, and its
/// compressed payload and checksum. Its inflation must stop past [`MAX_PAYLOAD_BYTES`]
/// ([`LinkError::TooLarge`]; anything that does not inflate is [`LinkError::Corrupt`]);
/// then [`open`] reads it.
pub fn unseal(link: &str) -> Result<Sealed, LinkError> {
    if link.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong);
    }
    let fragment = link.rsplit_once('#').map_or(link, |(_, f)| f).trim();
    let (prefix, body) = fragment.split_once('.').ok_or(LinkError::NotALink)?;
    let version = prefix
        .strip_prefix('z')
        .filter(|v| !v.is_empty() && v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or(LinkError::NotALink)?;
    if !(1..=VERSION).contains(&version) {
        return Err(LinkError::UnsupportedVersion(version));
    }
    let mut blob = B64.decode(body).map_err(|e| LinkError::BadEncoding(e.to_string()))?;
    if blob.len() < 5 {
        return Err(LinkError::Truncated);
    }
    let crc = blob.split_off(blob.len() - 4);
    Ok(Sealed { deflated: blob, crc: u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]), version })
}

/// [`decode`]'s second half: an inflated payload checked against the link's CRC-32, and
/// the scenario and position it holds, read as the link's format `version` says.
pub fn open(payload: &[u8], crc: u32, version: u32) -> Result<(Scenario, u64), LinkError> {
    if crate::crc32::hash(payload) != crc {
        return Err(LinkError::Tampered);
    }
    let (position, text) = read_leb128(payload).ok_or(LinkError::Invalid("bad position".into()))?;
    let text = std::str::from_utf8(text).map_err(|_| LinkError::Invalid("not UTF-8".into()))?;
    let mut scenario = parse(text)?;
    if version < 2 {
        scenario.creates_without_data_make_empty_data();
    }
    Ok((scenario, position))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::tests::EVERYTHING;

    fn everything() -> Scenario {
        parse(&EVERYTHING.replace("expect \"a1\" has", "expect a1 has")).unwrap()
    }

    #[test]
    fn a_link_opens_to_the_same_scenario_and_position() {
        let sc = everything();
        for pos in [0, 1, 127, 128, 1 << 40, u64::MAX] {
            let link = encode(&sc, pos).unwrap();
            assert!(link.starts_with("z2."));
            assert!(link.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{link}");
            assert_eq!(decode(&link).unwrap(), (sc.clone(), pos));
            assert_eq!(decode(&format!("https://zoolab.example/play#{link}")).unwrap(), (sc.clone(), pos));
        }
    }

    #[test]
    fn a_link_sealed_from_another_deflate_encoder_opens_the_same() {
        // The page deflates with the browser's CompressionStream: other bytes, same link format.
        let sc = everything();
        let payload = payload(&sc, 99).unwrap();
        for level in [0, 1, 6] {
            let link = seal(&payload, &miniz_oxide::deflate::compress_to_vec(&payload, level));
            assert_eq!(decode(&link).unwrap(), (sc.clone(), 99), "level {level}");
            let sealed = unseal(&format!("#{link}")).unwrap();
            let inflated = miniz_oxide::inflate::decompress_to_vec(&sealed.deflated).unwrap();
            assert_eq!(open(&inflated, sealed.crc, VERSION).unwrap(), (sc.clone(), 99));
            assert_eq!(open(&inflated, sealed.crc ^ 1, VERSION), Err(LinkError::Tampered));
        }
        assert_eq!(unseal(&encode(&sc, 99).unwrap()).unwrap().crc, crate::crc32::hash(&payload));
    }

    /// Links made by version 1. They must open, as they are, in every later zoolab.
    const GOLDEN_V1: &[(&str, &str, u64)] = &[
        ("z1.ASEA3v8Ac2VlZCAwCmNsdXN0ZXIgYSB3aXRoIDMgc2VydmVycwq-iLMN", "seed 0\ncluster a with 3 servers\n", 0),
        (
            "z1.ZVPLrtowEN37K0ap2FRAHsAGtZUq9S4qVbeVuIsu2BhnIBbOOLUdHlI_vhOH5AKNlDieM3M8Z2b80Ssk6bSFBE_orqAs-eBaFaZgSWEiPGIJy0IQhrN1RzAyIKkr5LWfz1e1B2O9h2y-mkDZNkYrxiGfCGVaH9CBhLMOFSzAo-MTPEgqIQe76_dTCFod33TNQVlW-ylo0uGHrnVgwxT8lVS_W42Uu54yv1EKo-nI53yafWFoyG-ZDbnFZDRSAJV3-ghV8BAsyHwqi6lcjHDxAO-EUPkalMNO0szDDCE1Vh1TmkHC1QAuSOkToYo1HDDA7AzpRRy1McCkcTUoS87Y7kEKhz5IFzqska1HkAXsrYOF570LOmhLnFNn_stO3Wf5iLBABjlee9vpfKCvUPK5eVyFqiQdEJ6bVtR-gB6L1tVplU2Ea4lXLl38K_qlpaCZGirJ3bud-R9Adsima44m7p4X3K4mfqDIhOSORu419DXKBV4arnYnVvsYrunAAwDYWFVBMeB3Mu8cx-hlZ-wH6t6cx7zSC3yGpEJjbDJCQ8bp9ck7SeNo-Uby7HeByZODsjUPY-A7kV14YOMz5snz5Vul-MZg-W77kMNeasMhkfv157eXl9_fN2-b0aW4ObwbOIY1NUj3QpneYWgdMVUyTGI2PPmYqqYTX2lJPMaVNSNrcCyqm_AgNbHUzevXX7BN_rSW5WyTLY0EZPtXxixKe6Z75KGwp0T8AxHAEnE",
            EVERYTHING_V1,
            42,
        ),
    ];

    /// The scenario of the second golden link, as version 1 printed it.
    const EVERYTHING_V1: &str = "scenario \"every construct, once\"\nseed 42\n\
network latency 1ms..5ms loss 0.5% duplicate 1%\n\
cluster a with 3 servers and 1 observer, tickTime 100ms, initLimit 10, syncLimit 5\n\
cluster b with 1 server\nlink a <-> b latency 40ms loss 1%\n\
client c1 connects to a1,a2,a3\nclient c2 connects to b\n\n\
c1: create -s -e /lock/n- \"two words\"\nc2: get -w /x\nkill a3\nkill leader of a\nrestart a3\n\
pause a2 for 3s\npartition a1 a2 | a3 | a4\npartition a1 -> a2 a3\nisolate leader of a\n\
heal a1\nheal\nchange network latency 2ms\nchange link a <-> b loss 50%\nrun 500ms\nrun 2s\n\
run until a has a leader\nrun until a has no leader within 10s\nstep\nstep 20\nat 1500ms: kill a1\n\
expect a3 is leading in epoch 2\nexpect leader of a is leading\nexpect a4 is observing\n\
expect a1 has /x = \"hello\"\nexpect a has no /y\nexpect a1 has \"/with space\" = \"\"\n\
expect a1 has committed 0x100000002\nexpect c1 succeeded\nexpect c1#1 failed with NODEEXISTS\n\
expect c2 failed\nexpect c2#1 is pending\nexpect c1 returned \"/lock/n-0000000001\"\n\
expect invariants hold\nexpect trace contains \"SNAP \\\"quoted\\\"\\n\"\n\
expect not not a1 is down\nexpect not a1 has /x = \"v\"\n";

    #[test]
    fn golden_v1_links_keep_opening() {
        for (link, text, pos) in GOLDEN_V1 {
            let want = parse(text).unwrap();
            match decode(link) {
                Ok(got) => {
                    assert_eq!(got, (want.clone(), *pos));
                    // A deliberate change of the canonical form updates the text here, never the link.
                    assert_eq!(got.0.to_string(), *text, "v1 text is still canonical");
                }
                Err(e) => {
                    panic!("golden link {link} no longer opens: {e}\nfresh: {}", encode(&want, *pos).unwrap())
                }
            }
        }
    }

    #[test]
    fn two_hundred_user_actions_fit_in_two_thousand_characters() {
        let mut text = String::from(
            "scenario \"a user's session\"\nseed 1234567\ncluster a with 3 servers and 1 observer\n\
             cluster b with 5 servers\nclient c1 connects to a1,a2,a3\nclient c2 connects to b\n\n",
        );
        // What the page appends: writes and reads, faults, steps — varied like a user's.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for n in 0..200u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = 1 + x % 3;
            let line = match x % 10 {
                0 => format!("kill a{s}"),
                1 => format!("restart a{s}"),
                2 => format!("c1: create /app/node{n} value{}", x % 1000),
                3 => format!("c2: set /config/key{} v{}", x % 7, x % 100),
                4 => format!("c1: get /app/node{}", x % (n + 1)),
                5 => format!("partition a{s} | a{}", 1 + (s % 3)),
                6 => "heal".to_string(),
                7 => format!("step {}", 1 + x % 9),
                8 => format!("run {}ms", 10 * (1 + x % 50)),
                _ => format!("c2: create -e -s /locks/lock- {}", x % 10),
            };
            text.push_str(&line);
            text.push('\n');
        }
        let sc = parse(&text).unwrap();
        assert_eq!(sc.steps.len(), 200);
        let link = encode(&sc, 123_456).unwrap();
        let url = format!("http://127.0.0.1:8080/#{link}");
        assert!(url.len() < 2000, "{} characters for {} bytes of scenario", url.len(), text.len());
        assert_eq!(decode(&url).unwrap().0, sc);
    }

    #[test]
    fn damaged_links_say_what_is_wrong() {
        let link = encode(&everything(), 7).unwrap();
        assert_eq!(decode("hello"), Err(LinkError::NotALink));
        assert_eq!(decode("zx.abc"), Err(LinkError::NotALink));
        assert_eq!(decode("z3.abc"), Err(LinkError::UnsupportedVersion(3)));
        assert!(matches!(decode("z1.a*b"), Err(LinkError::BadEncoding(_))));
        assert_eq!(decode("z1.AAA"), Err(LinkError::Truncated));
        assert_eq!(decode(&"z".repeat(MAX_LINK_CHARS + 1)), Err(LinkError::TooLong));
        // Cut short anywhere: an error, never a panic and never a different scenario.
        for cut in 3..link.len() {
            assert!(decode(&link[..cut]).is_err(), "cut at {cut}");
        }
        // One character changed anywhere: an error, or (rarely) the same scenario.
        let original = decode(&link).unwrap();
        let bytes = link.as_bytes();
        for at in 3..link.len() {
            let mut b = bytes.to_vec();
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(b).unwrap();
            if let Ok(got) = decode(&tampered) {
                assert_eq!(got, original, "changed at {at}");
            }
        }
    }

    /// A link of format `version` for a payload, sealed by hand.
    fn sealed(version: u32, payload: &[u8]) -> String {
        let mut blob = miniz_oxide::deflate::compress_to_vec(payload, 10);
        blob.extend_from_slice(&crate::crc32::hash(payload).to_le_bytes());
        format!("z{version}.{}", B64.encode(blob))
    }

    #[test]
    fn a_version_1_create_without_data_keeps_the_empty_data_it_made() {
        let text = "seed 1\ncluster a with 1 server\nclient c1 connects to a\n\
                    run until a has a leader\nrun until c1 is connected\n\
                    c1: create /x\nc1: multi create -e /y ; create /z 1\n";
        let mut payload = vec![5];
        payload.extend_from_slice(text.as_bytes());
        let (old, pos) = decode(&sealed(1, &payload)).unwrap();
        assert_eq!(pos, 5);
        let printed = old.to_string();
        assert!(printed.contains("c1: create /x \"\"\n"), "{printed}");
        assert!(printed.contains("create -e /y \"\" ; create /z 1"), "{printed}");
        // The same text in today's format means null data, and says so when re-shared.
        let (new, _) = decode(&sealed(VERSION, &payload)).unwrap();
        assert!(new.to_string().contains("c1: create /x\n"), "{new}");
        assert_eq!(decode(&encode(&old, 5).unwrap()).unwrap(), (old.clone(), 5));
        // Replayed, the old link's node holds the empty data it held, the new one null.
        let got = |sc: &Scenario| {
            let mut sc = sc.clone();
            let more = "c1: get /x\nrun 1s\n";
            sc.steps.extend(parse(&format!("{text}{more}")).unwrap().steps.split_off(sc.steps.len()));
            let mut r = crate::scenario::sim::runner(&sc, Default::default()).unwrap();
            r.run_all();
            r.driver().history().last().map(|o| o.result.clone())
        };
        use crate::scenario::run::OpStatus;
        assert_eq!(got(&old), Some(OpStatus::Ok(String::new())));
        assert_eq!(got(&new), Some(OpStatus::Ok("null".into())));
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let payload = vec![b'#'; MAX_PAYLOAD_BYTES * 4];
        let mut blob = miniz_oxide::deflate::compress_to_vec(&payload, 10);
        blob.extend_from_slice(&crate::crc32::hash(&payload).to_le_bytes());
        let link = format!("z1.{}", B64.encode(blob));
        assert!(link.len() < MAX_LINK_CHARS);
        assert_eq!(decode(&link), Err(LinkError::TooLarge));
    }

    #[test]
    fn a_valid_link_with_a_bad_scenario_names_the_problem() {
        let payload = b"\x00seed 1\nkill a1\n";
        let mut blob = miniz_oxide::deflate::compress_to_vec(payload, 10);
        blob.extend_from_slice(&crate::crc32::hash(payload).to_le_bytes());
        match decode(&format!("z1.{}", B64.encode(blob))) {
            Err(LinkError::Invalid(m)) => assert!(m.contains("line 2"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
