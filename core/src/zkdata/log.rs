//! Apache ZooKeeper's transaction log (`version-2/log.<first zxid in hex>`), as
//! `FileTxnLog` writes it:
//!
//! ```text
//! header   int magic "ZKLG", int version (2), long dbid
//! records  long Adler-32 of the entry, int length, entry bytes, byte 'B'
//! padding  zeros: files are preallocated (64 MiB by default); a zero length ends the log
//! ```
//!
//! An entry is a `TxnHeader` (long session, int cxid, long zxid, long time, int type),
//! the type's record (`zookeeper.jute`'s `CreateTxn`, `CreateTTLTxn`,
//! `CreateContainerTxn`, `DeleteTxn`, `SetDataTxn`, `SetACLTxn`, `CheckVersionTxn`,
//! `MultiTxn`, `CreateSessionTxn`, `CloseSessionTxn`, `ErrorTxn`) and, in 3.6+, a
//! `TxnDigest` (int version, long tree digest after the transaction).
//!
//! Like ZooKeeper, a record cut short at the end of the file (a crash mid-write) ends the
//! log there ([`LogEnd::Partial`]); a record whose checksum does not match is corruption,
//! an error.

use super::snap::{read_acls, Cursor};
use super::{adler32, FormatError};
use crate::ids::{SessionId, Zxid};
use crate::jute::{JuteError, Reader};
use crate::tree::digest::DIGEST_VERSION;
use crate::tree::node::{NodeKind, CONTAINER_OWNER};
use crate::tree::{Txn, TxnOp, ZkError};

/// `FileTxnLog.TXNLOG_MAGIC`: "ZKLG".
pub const LOG_MAGIC: i32 = 0x5a4b_4c47;
/// The byte that ends every record (`'B'`).
pub const END_OF_RECORD: u8 = b'B';

/// ZooKeeper's opcodes found in logs (`ZooDefs.OpCode`).
pub mod opcode {
    /// create (the Stat is not returned).
    pub const CREATE: i32 = 1;
    /// delete.
    pub const DELETE: i32 = 2;
    /// setData.
    pub const SET_DATA: i32 = 5;
    /// setACL.
    pub const SET_ACL: i32 = 7;
    /// check (a multi's version check).
    pub const CHECK: i32 = 13;
    /// multi.
    pub const MULTI: i32 = 14;
    /// create2 (the Stat is returned).
    pub const CREATE2: i32 = 15;
    /// reconfig (a `SetDataTxn` on `/zookeeper/config`).
    pub const RECONFIG: i32 = 16;
    /// createContainer.
    pub const CREATE_CONTAINER: i32 = 19;
    /// deleteContainer.
    pub const DELETE_CONTAINER: i32 = 20;
    /// createTTL.
    pub const CREATE_TTL: i32 = 21;
    /// createSession.
    pub const CREATE_SESSION: i32 = -10;
    /// closeSession.
    pub const CLOSE_SESSION: i32 = -11;
    /// error.
    pub const ERROR: i32 = -1;
}

/// One transaction of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Where its record starts in the file.
    pub offset: u64,
    /// ZooKeeper's opcode (the replay treats a plain `create` specially).
    pub opcode: i32,
    /// The client's request id.
    pub cxid: i32,
    /// The transaction, as zoolab's tree applies it (its digest is the `TxnDigest`).
    pub txn: Txn,
}

/// How a log file ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEnd {
    /// At the end of the file or at the zero padding.
    Clean,
    /// A record cut short (or without its end marker): the log ends before it, as in
    /// ZooKeeper, which never acknowledged that transaction.
    Partial {
        /// Where the partial record starts.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
}

/// A decoded log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// The header's format version.
    pub version: i32,
    /// The header's database id.
    pub dbid: i64,
    /// Its transactions in file order.
    pub entries: Vec<LogEntry>,
    /// How it ended.
    pub end: LogEnd,
}

/// Decodes a whole log file.
pub fn decode(bytes: &[u8]) -> Result<LogFile, FormatError> {
    let mut c = Cursor::new(bytes, 0);
    let magic = c.read(|r| r.i32("magic"))?;
    if magic != LOG_MAGIC {
        return Err(FormatError::at(
            0,
            format!("not a ZooKeeper transaction log (magic {magic:#010x}, want ZKLG)"),
        ));
    }
    let version = c.read(|r| r.i32("version"))?;
    let dbid = c.read(|r| r.i64("dbid"))?;
    let mut entries = Vec::new();
    let mut pos = c.pos();
    let end = loop {
        let rest = &bytes[pos..];
        if rest.is_empty() {
            break LogEnd::Clean;
        }
        let partial = |reason: &str| LogEnd::Partial { offset: pos as u64, reason: reason.to_owned() };
        if rest.len() < 12 {
            if rest.iter().all(|&b| b == 0) {
                break LogEnd::Clean;
            }
            break partial("the record's checksum and length are cut short");
        }
        let crc = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
        if len == 0 || len == -1 {
            // Preallocated zeros (ZooKeeper: "an empty transaction is the end").
            break LogEnd::Clean;
        }
        if len < 0 {
            return Err(FormatError::at(pos as u64 + 8, format!("bad record length {len}")));
        }
        let len = len as usize;
        if rest.len() < 12 + len {
            break partial(&format!("the record's {len} bytes are cut short"));
        }
        if rest.len() < 13 + len || rest[12 + len] != END_OF_RECORD {
            break partial("the record has no end marker 'B'");
        }
        let body = &rest[12..12 + len];
        let want = adler32(body);
        if crc != u64::from(want) {
            return Err(FormatError::at(
                pos as u64,
                format!("record checksum mismatch: the file says {crc:#x}, the bytes give {want:#x}"),
            ));
        }
        entries.push(decode_entry(body, pos as u64 + 12, pos as u64)?);
        pos += 13 + len;
    };
    Ok(LogFile { version, dbid, entries, end })
}

/// Decodes one entry (`TxnHeader` + record + optional `TxnDigest`) whose first byte is at
/// `base` in the file; `record` is where its record starts.
pub fn decode_entry(body: &[u8], base: u64, record: u64) -> Result<LogEntry, FormatError> {
    let mut c = Cursor::new(body, base);
    let session = c.read(|r| r.i64("clientId"))?;
    let cxid = c.read(|r| r.i32("cxid"))?;
    let zxid = c.read(|r| r.i64("zxid"))?;
    let time = c.read(|r| r.i64("time"))?;
    let at = c.offset();
    let opcode = c.read(|r| r.i32("type"))?;
    let op = match opcode {
        opcode::MULTI => {
            let at = c.offset();
            let subs = c.read(|r| {
                r.vec("txns", 8, |r| {
                    let t = r.i32("sub-txn type")?;
                    let data = r.buffer("sub-txn data")?;
                    Ok((t, data))
                })
            })?;
            let mut ops = Vec::with_capacity(subs.len());
            for (t, data) in subs {
                let mut r = Reader::new(&data, super::snap::FILE_FIELD_LIMIT);
                let op = read_op(&mut r, t, session, true).map_err(|e| sub_error(at, t, e))?;
                r.finish("sub-txn").map_err(|e| sub_error(at, t, e))?;
                ops.push(op);
            }
            TxnOp::Multi(ops)
        }
        t => c
            .read(|r| read_op(r, t, session, false))
            .map_err(|e| FormatError::at(at, format!("type {t}: {}", e.reason)))?,
    };
    let mut digest = None;
    if c.r.remaining() > 0 {
        let version = c.read(|r| r.i32("digest version"))?;
        let value = c.read(|r| r.i64("digest"))?;
        if version == DIGEST_VERSION {
            digest = Some(value as u64);
        }
    }
    c.read(|r| r.finish("transaction"))?;
    let txn = Txn { session: SessionId(session), zxid: Zxid(zxid as u64), time, op, digest };
    Ok(LogEntry { offset: record, opcode, cxid, txn })
}

fn sub_error(at: u64, t: i32, e: JuteError) -> FormatError {
    FormatError::at(at, format!("multi sub-transaction of type {t}: {e}"))
}

/// Reads one record of type `t` (a top-level transaction's or a multi's sub-transaction's).
fn read_op(r: &mut Reader<'_>, t: i32, session: i64, in_multi: bool) -> Result<TxnOp, JuteError> {
    use opcode::*;
    let op = match t {
        CREATE_SESSION if !in_multi => TxnOp::CreateSession { timeout_ms: r.i32("timeOut")? },
        CLOSE_SESSION if !in_multi => {
            // Before 3.6 (or with closeSessionTxn disabled) the record is absent.
            let paths =
                if r.remaining() == 0 { Vec::new() } else { r.vec("paths2Delete", 4, |r| r.string("path"))? };
            TxnOp::CloseSession { paths }
        }
        CREATE | CREATE2 => {
            let path = r.string("path")?;
            let data = r.data("data")?;
            let acl = read_acls(r)?;
            let ephemeral = r.bool("ephemeral")?;
            // A pre-3.3 CreateTxn has no parent cversion: -1 means "one more".
            let parent_cversion = if r.remaining() == 0 { -1 } else { r.i32("parentCVersion")? };
            TxnOp::Create { path, data, acl, owner: if ephemeral { session } else { 0 }, parent_cversion }
        }
        CREATE_CONTAINER | CREATE_TTL => {
            let path = r.string("path")?;
            let data = r.data("data")?;
            let acl = read_acls(r)?;
            let parent_cversion = r.i32("parentCVersion")?;
            let owner = if t == CREATE_TTL { NodeKind::Ttl(r.i64("ttl")?).owner() } else { CONTAINER_OWNER };
            TxnOp::Create { path, data, acl, owner, parent_cversion }
        }
        DELETE => TxnOp::Delete { path: r.string("path")? },
        DELETE_CONTAINER => TxnOp::DeleteContainer { path: r.string("path")? },
        SET_DATA | RECONFIG => {
            TxnOp::SetData { path: r.string("path")?, data: r.data("data")?, version: r.i32("version")? }
        }
        SET_ACL => TxnOp::SetAcl { path: r.string("path")?, acl: read_acls(r)?, version: r.i32("version")? },
        CHECK => TxnOp::Check { path: r.string("path")?, version: r.i32("version")? },
        ERROR => {
            let code = r.i32("err")?;
            TxnOp::Error(
                ZkError::from_code(code)
                    .ok_or(JuteError::BadValue { field: "err", value: i64::from(code) })?,
            )
        }
        _ => return Err(JuteError::BadValue { field: "transaction type", value: i64::from(t) }),
    };
    Ok(op)
}
