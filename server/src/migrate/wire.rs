//! zoolab's import request on the client port: not a ZooKeeper opcode. A migration
//! controller sends a batch ([`zoolab_core::tree::Import`]: nodes with their exact
//! stored Stat, ACL and type, tombstones, sessions) and the server proposes it as the
//! core's `TxnOp::Import` through its own ZAB (standalone: its single log), so every
//! server applies it. Only a super-user session may send it (digest auth matching
//! `DigestAuthenticationProvider.superDigest`); any other session gets NOAUTH.
//!
//! Packet: the usual request header (xid, type = [`IMPORT_OP`]) and one jute buffer
//! holding the batch in bincode, optionally followed by a guard — a jute string (the
//! guarded path), a bool (whether it must exist) and an int (its data version) — which
//! makes the batch apply only while that node is at that version (`BADVERSION`
//! otherwise): the controller guards its imports with its migration record, so a
//! controller that another one took over from cannot import any more. The reply is a
//! bare reply header: its zxid is the batch's. An empty batch still takes a zxid (the
//! controller uses that to raise the target's zxid at cut-over).

use zoolab_core::jute::proto::RequestHeader;
use zoolab_core::jute::{frame, Reader, Writer};
use zoolab_core::tree::{Import, ImportGuard, WriteRequest};

/// The opcode: far above ZooKeeper's (which stop at 107), so no client sends it by
/// accident; Apache ZooKeeper does not know it. Its batch's node data may be null.
pub const IMPORT_OP: i32 = 0x7a6e;
/// The import of controllers from before null data: the same, but each node's data a
/// plain byte string (still accepted, read as non-null data).
pub const IMPORT_OP_V1: i32 = 0x7a6c;

/// zoolab's raise-epoch request (super-user only): one jute int, the epoch. The member
/// raises its `acceptedEpoch` to at least that and, unless it already serves above
/// it, looks for a new leader (the core's `Server::raise_epoch`); once every member
/// has, the next leader's epoch is above it. A migration's cut-over without
/// restarting the target (`zoolab server --min-epoch` is the offline way). The reply
/// is a bare header; a standalone server answers UNIMPLEMENTED (it has no election).
pub const RAISE_EPOCH_OP: i32 = 0x7a6d;

/// One of zoolab's own requests on the client port.
#[derive(Debug, PartialEq)]
pub enum Admin {
    /// An import (the core's `Import` or `GuardedImport`).
    Import(WriteRequest),
    /// Raise the epoch above this one.
    RaiseEpoch(u32),
}

/// Decodes `body` if it is one of zoolab's own requests: `None` for ZooKeeper's
/// opcodes, else its xid and the request or why it is malformed.
pub fn decode_admin(body: &[u8], limit: usize) -> Option<(i32, Result<Admin, String>)> {
    let mut r = Reader::new(body, limit);
    let header = RequestHeader::read(&mut r).ok()?;
    match header.op {
        IMPORT_OP => Some((header.xid, read_import(&mut r, false).map(Admin::Import))),
        IMPORT_OP_V1 => Some((header.xid, read_import(&mut r, true).map(Admin::Import))),
        RAISE_EPOCH_OP => {
            let e = r.i32("epoch").map_err(|e| e.to_string()).and_then(|e| {
                r.finish("raise epoch").map_err(|e| e.to_string())?;
                u32::try_from(e).map_err(|_| format!("epoch {e} is negative"))
            });
            Some((header.xid, e.map(Admin::RaiseEpoch)))
        }
        _ => None,
    }
}

/// The framed raise-epoch request.
pub fn encode_raise_epoch(xid: i32, epoch: u32) -> Vec<u8> {
    let mut w = Writer::new();
    RequestHeader { xid, op: RAISE_EPOCH_OP }.write(&mut w);
    w.i32(epoch as i32);
    frame(&w.into_bytes())
}

fn read_import(r: &mut Reader<'_>, v1: bool) -> Result<WriteRequest, String> {
    let b = r.buffer("import").map_err(|e| e.to_string())?;
    let import = if v1 {
        bincode::deserialize::<crate::quorum::legacy::ImportV1>(&b).map(Import::from)
    } else {
        bincode::deserialize::<Import>(&b)
    }
    .map_err(|e| format!("batch: {e}"))?;
    if r.remaining() == 0 {
        return Ok(WriteRequest::Import(import));
    }
    let path = r.string("guard path").map_err(|e| e.to_string())?;
    let exists = r.bool("guard exists").map_err(|e| e.to_string())?;
    let version = r.i32("guard version").map_err(|e| e.to_string())?;
    r.finish("import").map_err(|e| e.to_string())?;
    let guard = ImportGuard { path, version: exists.then_some(version) };
    Ok(WriteRequest::GuardedImport { import, guard })
}

/// The framed request for `imp` with `xid`, guarded by `guard` when given.
pub fn encode_import(xid: i32, imp: &Import, guard: Option<&ImportGuard>) -> Vec<u8> {
    let mut w = Writer::new();
    RequestHeader { xid, op: IMPORT_OP }.write(&mut w);
    // Serializing plain data into memory cannot fail.
    w.buffer(&bincode::serialize(imp).unwrap_or_default());
    if let Some(g) = guard {
        w.string(&g.path).bool(g.version.is_some()).i32(g.version.unwrap_or(-1));
    }
    frame(&w.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::ids::Zxid;
    use zoolab_core::tree::{Acl, ImportedNode, Perms, StatPersisted};

    fn decode_import(body: &[u8], limit: usize) -> Option<(i32, Result<WriteRequest, String>)> {
        decode_admin(body, limit).map(|(xid, r)| {
            (
                xid,
                r.and_then(|a| match a {
                    Admin::Import(w) => Ok(w),
                    other => Err(format!("not an import: {other:?}")),
                }),
            )
        })
    }

    #[test]
    fn an_import_round_trips_and_other_opcodes_are_left_alone() {
        let imp = Import {
            nodes: vec![ImportedNode {
                path: "/a".into(),
                data: b"x".into(),
                acl: vec![Acl::new(Perms(31), "world", "anyone")],
                stat: StatPersisted::created(Zxid(0x1_0000_0005), 7, 0),
            }],
            deletes: vec!["/b".into()],
            ..Import::default()
        };
        let framed = encode_import(9, &imp, None);
        let (xid, back) = decode_import(&framed[4..], 1 << 20).expect("an import");
        assert_eq!((xid, back), (9, Ok(WriteRequest::Import(imp.clone()))));
        for version in [None, Some(0), Some(7)] {
            let guard = ImportGuard { path: "/zookeeper/migration".into(), version };
            let framed = encode_import(3, &imp, Some(&guard));
            let back = decode_import(&framed[4..], 1 << 20).expect("an import").1;
            assert_eq!(back, Ok(WriteRequest::GuardedImport { import: imp.clone(), guard }));
        }
        // A truncated guard is malformed, not ignored.
        let framed = encode_import(3, &imp, Some(&ImportGuard { path: "/r".into(), version: Some(1) }));
        assert!(decode_import(&framed[4..framed.len() - 2], 1 << 20).unwrap().1.is_err());
        // The raise-epoch request, and its malformed forms.
        let framed = encode_raise_epoch(5, 7);
        assert_eq!(decode_admin(&framed[4..], 1 << 20), Some((5, Ok(Admin::RaiseEpoch(7)))));
        assert!(decode_admin(&framed[4..framed.len() - 1], 1 << 20).unwrap().1.is_err());
        let negative = encode_raise_epoch(5, u32::MAX);
        assert!(decode_admin(&negative[4..], 1 << 20).unwrap().1.is_err());
        assert!(matches!(
            decode_admin(&encode_import(1, &imp, None)[4..], 1 << 20),
            Some((1, Ok(Admin::Import(_))))
        ));
        let mut w = Writer::new();
        RequestHeader { xid: 1, op: 4 }.write(&mut w);
        w.string("/a").bool(false);
        assert!(decode_import(&w.into_bytes(), 1 << 20).is_none());
        let mut bad = Writer::new();
        RequestHeader { xid: 2, op: IMPORT_OP }.write(&mut bad);
        bad.buffer(b"\xff\xff");
        assert!(decode_import(&bad.into_bytes(), 1 << 20).unwrap().1.is_err());
    }

    /// Null data crosses the import; a controller from before null data (the old
    /// opcode, plain byte strings) is still understood, its data never null.
    #[test]
    fn imports_carry_null_data_and_the_old_opcode_still_reads() {
        use zoolab_core::tree::{Acl, Data, ImportedNode, StatPersisted};
        let node = |path: &str, data: Data| ImportedNode {
            path: path.into(),
            data,
            acl: Acl::open_unsafe(),
            stat: StatPersisted::default(),
        };
        let imp = Import {
            nodes: vec![node("/n", Data::NULL), node("/e", Data::empty()), node("/x", b"x".into())],
            ..Import::default()
        };
        let got = decode_admin(&encode_import(1, &imp, None)[4..], 1 << 20);
        assert_eq!(got, Some((1, Ok(Admin::Import(WriteRequest::Import(imp.clone()))))));
        let old = Import { nodes: imp.nodes[1..].to_vec(), ..Import::default() };
        let mut w = Writer::new();
        RequestHeader { xid: 2, op: IMPORT_OP_V1 }.write(&mut w);
        w.buffer(&bincode::serialize(&crate::quorum::legacy::import_v1_of(&old)).unwrap());
        let got = decode_admin(&w.into_bytes(), 1 << 20);
        assert_eq!(got, Some((2, Ok(Admin::Import(WriteRequest::Import(old))))));
    }
}
