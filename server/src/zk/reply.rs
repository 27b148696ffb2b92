//! Replies as ZooKeeper 3.8 puts them on the wire: which response record follows the
//! `ReplyHeader` for each operation (`FinalRequestProcessor`), and a multi's results
//! (`MultiResponse`).

use zoolab_core::jute::proto::{OpCode, ReplyHeader, WatcherEvent, WireAcl, WireStat, XID_NOTIFICATION};
use zoolab_core::jute::request::{MultiOp as WireMultiOp, WireRequest};
use zoolab_core::jute::{frame, Writer};
use zoolab_core::tree::wire::{to_watcher_event, to_wire_acl};
use zoolab_core::tree::{
    Applied, CreateMode, MultiError, OpResult, ReadResponse, Stat, WatchedEvent, ZkError,
};

fn stat(w: &mut Writer, s: &Stat) {
    WireStat::from(s).write(w);
}

/// A framed packet: the header, then the body (if any).
pub fn packet(xid: i32, zxid: i64, err: i32, body: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    ReplyHeader { xid, zxid, err }.write(&mut w);
    if err == 0 {
        body(&mut w);
    }
    frame(&w.into_bytes())
}

/// A header-only packet (errors, delete, ping, auth, setWatches, closeSession).
pub fn header(xid: i32, zxid: i64, err: i32) -> Vec<u8> {
    packet(xid, zxid, err, |_| {})
}

/// A watch notification (xid -1, zxid -1, as ZooKeeper sends them).
pub fn notification(e: &WatchedEvent) -> Vec<u8> {
    let ev: WatcherEvent = to_watcher_event(e);
    packet(XID_NOTIFICATION, -1, 0, |w| ev.write(w))
}

/// Does a create of this opcode answer with the stat (create2, createTTL, createContainer)?
fn create_with_stat(op: OpCode) -> bool {
    op != OpCode::Create
}

fn multi_header(w: &mut Writer, kind: i32, done: bool, err: i32) {
    w.i32(kind).bool(done).i32(err);
}

fn op_result(w: &mut Writer, wire_op: Option<&WireMultiOp>, r: &OpResult) {
    match r {
        OpResult::Created { path, stat: s } => {
            // The sub-transaction's type decides: create and create2 log a plain create
            // (path only), createContainer and createTTL of a TTL mode keep their types (path
            // and stat); a createTTL of another mode is a plain create.
            let with_stat = match wire_op {
                Some(WireMultiOp::Create(c)) => match c.op {
                    OpCode::CreateContainer => true,
                    OpCode::CreateTtl => CreateMode::from_flag(c.flags).is_some_and(CreateMode::is_ttl),
                    _ => false,
                },
                _ => true,
            };
            if with_stat {
                multi_header(w, OpCode::Create2.code(), false, 0);
                w.string(path);
                stat(w, s);
            } else {
                multi_header(w, OpCode::Create.code(), false, 0);
                w.string(path);
            }
        }
        OpResult::Deleted => multi_header(w, OpCode::Delete.code(), false, 0),
        OpResult::DataSet(s) => {
            multi_header(w, OpCode::SetData.code(), false, 0);
            stat(w, s);
        }
        OpResult::Checked => multi_header(w, OpCode::Check.code(), false, 0),
        // Not inside a multi; written as an empty check so the stream stays parseable.
        OpResult::AclSet(_) | OpResult::SessionCreated | OpResult::SessionClosed | OpResult::Multi(_) => {
            multi_header(w, OpCode::Check.code(), false, 0)
        }
    }
}

fn error_result(w: &mut Writer, err: i32) {
    multi_header(w, OpCode::Error.code(), false, err);
    w.i32(err);
}

fn multi_end(w: &mut Writer) {
    multi_header(w, -1, true, -1);
}

/// The reply to an applied write.
pub fn write_reply(xid: i32, zxid: i64, req: &WireRequest, applied: &Applied) -> Vec<u8> {
    match &applied.result {
        Err(f) if f.multi.is_empty() => header(xid, zxid, f.error.code()),
        Err(f) => packet(xid, zxid, 0, |w| {
            for m in &f.multi {
                error_result(
                    w,
                    match m {
                        MultiError::RolledBack => 0,
                        MultiError::Failed(e) => e.code(),
                    },
                );
            }
            multi_end(w);
        }),
        Ok(r) => packet(xid, zxid, 0, |w| match (req, r) {
            (WireRequest::Create(c), OpResult::Created { path, stat: s }) => {
                w.string(path);
                if create_with_stat(c.op) {
                    stat(w, s);
                }
            }
            (_, OpResult::DataSet(s)) | (_, OpResult::AclSet(s)) => stat(w, s),
            (WireRequest::Multi { ops, .. }, OpResult::Multi(results)) => {
                for (i, r) in results.iter().enumerate() {
                    op_result(w, ops.get(i), r);
                }
                multi_end(w);
            }
            (_, OpResult::Multi(results)) => {
                for r in results {
                    op_result(w, None, r);
                }
                multi_end(w);
            }
            _ => {}
        }),
    }
}

fn children(w: &mut Writer, names: &[String]) {
    w.vec(names, |w, n| {
        w.string(n);
    });
}

fn read_body(w: &mut Writer, r: &ReadResponse) {
    match r {
        ReadResponse::Stat(s) => stat(w, s),
        ReadResponse::Data { data, stat: s } => {
            w.data(data);
            stat(w, s);
        }
        ReadResponse::Children { children: c, stat: s } => {
            children(w, c);
            if let Some(s) = s {
                stat(w, s);
            }
        }
        ReadResponse::Count(n) => {
            w.i32(*n);
        }
        ReadResponse::Paths(p) => children(w, p),
        ReadResponse::Acl { acl, stat: s } => {
            let wire: Vec<WireAcl> = to_wire_acl(acl);
            WireAcl::write_list(&wire, w);
            stat(w, s);
        }
        ReadResponse::Path(p) => {
            w.string(p);
        }
        ReadResponse::Done => {}
        ReadResponse::MultiRead(results) => {
            for r in results {
                match r {
                    Ok(ReadResponse::Children { children: c, .. }) => {
                        multi_header(w, OpCode::GetChildren.code(), false, 0);
                        children(w, c);
                    }
                    Ok(ReadResponse::Data { data, stat: s }) => {
                        multi_header(w, OpCode::GetData.code(), false, 0);
                        w.data(data);
                        stat(w, s);
                    }
                    Ok(_) => error_result(w, ZkError::SystemError.code()),
                    Err(e) => error_result(w, e.code()),
                }
            }
            multi_end(w);
        }
        ReadResponse::WhoAmI(ids) => {
            w.vec(ids, |w, (scheme, user)| {
                w.string(scheme).string(user);
            });
        }
    }
}

/// The reply to a read.
pub fn read_reply(xid: i32, zxid: i64, req: &WireRequest, r: &Result<ReadResponse, ZkError>) -> Vec<u8> {
    match r {
        Err(e) => header(xid, zxid, e.code()),
        // addWatch answers with an ErrorResponse(0) record.
        Ok(ReadResponse::Done) if matches!(req, WireRequest::AddWatch { .. }) => packet(xid, zxid, 0, |w| {
            w.i32(0);
        }),
        Ok(r) => packet(xid, zxid, 0, |w| read_body(w, r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::jute::{unframe, Reader};

    #[test]
    fn a_header_only_reply_is_sixteen_bytes_framed() {
        let p = header(7, 9, ZkError::NoNode.code());
        let (body, used) = unframe(&p, 1 << 20).unwrap().unwrap();
        assert_eq!((body.len(), used), (16, 20));
        let h = ReplyHeader::read(&mut Reader::new(body, 100)).unwrap();
        assert_eq!((h.xid, h.zxid, h.err), (7, 9, -101));
    }
}
