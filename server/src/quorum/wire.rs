//! What servers of an ensemble say to each other over TCP: the core's ZAB messages
//! ([`Message`]) and this driver's own frames (session touches and sync requests for
//! the leader), encoded with bincode.
//!
//! A frame on the wire: length u32 BE · CRC-32 of the payload u32 BE · payload. The
//! length is bounded ([`MAX_FRAME`]); a frame too long, with a bad CRC or that does not
//! decode closes its connection (the caller logs the reason). Each connection starts
//! with [`Frame::Hello`] naming the sender.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt};
use zoolab_core::config::QuorumConfig;
use zoolab_core::ids::{Epoch, SessionId, Zxid};
use zoolab_core::tree::{AuthInfo, Txn, WriteRequest};
use zoolab_core::zab::message::{ConnId, LearnerKind, Message, Notification, Origin, Packet};
use zoolab_core::zab::zkdb::{ReconfigRequest, ZkDatabase, ZkRequest, ZkSnapshot};

/// A reconfiguration request on the wire (ZooKeeper's `ReconfigRequest`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireReconfig {
    joining: Option<String>,
    leaving: Option<String>,
    members: Option<String>,
    from_config: i64,
}

/// The largest frame accepted (a SNAP carries the whole tree).
pub const MAX_FRAME: usize = 512 << 20;
/// Every ensemble connection's first frame carries this. "ZLQ2" since transactions carry
/// null znode data (their bincode changed): a member from before is refused at the hello
/// rather than misreading frames.
pub const MAGIC: u32 = 0x5a4c_5132; // "ZLQ2"

/// One frame between two servers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Frame {
    /// The first frame of a connection.
    Hello {
        /// [`MAGIC`].
        magic: u32,
        /// The sender's `myid`.
        from: u64,
    },
    /// A Fast Leader Election notification (election port).
    Notification(Notification, Option<QuorumConfig>),
    /// A quorum packet (quorum port).
    Quorum {
        /// The leader–learner connection it belongs to.
        conn: ConnId,
        /// The packet.
        packet: WirePacket,
    },
    /// A learner to its leader: these sessions have live clients here (ZooKeeper's
    /// PING session list).
    Touch {
        /// The sessions.
        sessions: Vec<SessionId>,
    },
    /// A learner to its leader: what have you committed? (a client's `sync`).
    SyncReq {
        /// The learner's id for it.
        id: u64,
    },
    /// The leader's answer to [`Frame::SyncReq`].
    SyncResp {
        /// The learner's id.
        id: u64,
        /// The leader's last committed zxid when it read the request.
        zxid: Zxid,
    },
    /// A learner to its leader: a client reconnected here with this session, so this
    /// learner owns it now (ZooKeeper's REVALIDATE). Last, so that the frames before
    /// it keep their encoding.
    Revalidate {
        /// The session.
        session: SessionId,
    },
}

/// [`Packet`] for the data tree, serializable.
#[allow(missing_docs)]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum WirePacket {
    LearnerInfo {
        kind: LearnerKind,
        accepted_epoch: Epoch,
    },
    LeaderInfo {
        new_epoch: Epoch,
    },
    AckEpoch {
        current_epoch: Option<Epoch>,
        last_zxid: Zxid,
    },
    Diff {
        zxid: Zxid,
    },
    Trunc {
        zxid: Zxid,
    },
    Snap {
        zxid: Zxid,
        #[serde(with = "zoolab_core::bytestr")]
        snapshot: Vec<u8>,
    },
    Proposal {
        zxid: Zxid,
        txn: Txn,
        origin: Option<Origin>,
    },
    Commit {
        zxid: Zxid,
    },
    NewLeader {
        zxid: Zxid,
    },
    Ack {
        zxid: Zxid,
    },
    UpToDate,
    Inform {
        zxid: Zxid,
        txn: Txn,
        origin: Option<Origin>,
    },
    Ping,
    Request {
        origin: Origin,
        session: SessionId,
        auth: AuthInfo,
        request: WriteRequest,
        reconfig: Option<WireReconfig>,
        /// The forwarding member's `extendedTypesEnabled`.
        ttl_enabled: bool,
    },
}

impl Frame {
    /// The frame carrying a core message.
    pub fn from_message(msg: Message<ZkDatabase>) -> Frame {
        let (conn, packet) = match msg {
            Message::Notification(n, cfg) => return Frame::Notification(n, cfg.map(|c| (*c).clone())),
            Message::Quorum { conn, packet } => (conn, packet),
        };
        let packet = match packet {
            Packet::LearnerInfo { kind, accepted_epoch } => WirePacket::LearnerInfo { kind, accepted_epoch },
            Packet::LeaderInfo { new_epoch } => WirePacket::LeaderInfo { new_epoch },
            Packet::AckEpoch { current_epoch, last_zxid } => {
                WirePacket::AckEpoch { current_epoch, last_zxid }
            }
            Packet::Diff { zxid } => WirePacket::Diff { zxid },
            Packet::Trunc { zxid } => WirePacket::Trunc { zxid },
            Packet::Snap { zxid, snapshot } => WirePacket::Snap { zxid, snapshot: snapshot.bytes().to_vec() },
            Packet::Proposal { zxid, txn, origin } => WirePacket::Proposal { zxid, txn, origin },
            Packet::Commit { zxid } => WirePacket::Commit { zxid },
            Packet::NewLeader { zxid } => WirePacket::NewLeader { zxid },
            Packet::Ack { zxid } => WirePacket::Ack { zxid },
            Packet::UpToDate => WirePacket::UpToDate,
            Packet::Inform { zxid, txn, origin } => WirePacket::Inform { zxid, txn, origin },
            Packet::Ping => WirePacket::Ping,
            Packet::Request { origin, request } => WirePacket::Request {
                origin,
                session: request.session,
                auth: request.auth,
                request: request.request,
                reconfig: request.reconfig.map(|r| WireReconfig {
                    joining: r.joining,
                    leaving: r.leaving,
                    members: r.members,
                    from_config: r.from_config,
                }),
                ttl_enabled: request.ttl_enabled,
            },
        };
        Frame::Quorum { conn, packet }
    }

    /// The core message a frame carries, if it carries one.
    pub fn into_message(self) -> Option<Message<ZkDatabase>> {
        let (conn, packet) = match self {
            Frame::Notification(n, cfg) => return Some(Message::Notification(n, cfg.map(Arc::new))),
            Frame::Quorum { conn, packet } => (conn, packet),
            _ => return None,
        };
        let packet = match packet {
            WirePacket::LearnerInfo { kind, accepted_epoch } => Packet::LearnerInfo { kind, accepted_epoch },
            WirePacket::LeaderInfo { new_epoch } => Packet::LeaderInfo { new_epoch },
            WirePacket::AckEpoch { current_epoch, last_zxid } => {
                Packet::AckEpoch { current_epoch, last_zxid }
            }
            WirePacket::Diff { zxid } => Packet::Diff { zxid },
            WirePacket::Trunc { zxid } => Packet::Trunc { zxid },
            WirePacket::Snap { zxid, snapshot } => {
                Packet::Snap { zxid, snapshot: ZkSnapshot::from_bytes(snapshot) }
            }
            WirePacket::Proposal { zxid, txn, origin } => Packet::Proposal { zxid, txn, origin },
            WirePacket::Commit { zxid } => Packet::Commit { zxid },
            WirePacket::NewLeader { zxid } => Packet::NewLeader { zxid },
            WirePacket::Ack { zxid } => Packet::Ack { zxid },
            WirePacket::UpToDate => Packet::UpToDate,
            WirePacket::Inform { zxid, txn, origin } => Packet::Inform { zxid, txn, origin },
            WirePacket::Ping => Packet::Ping,
            WirePacket::Request { origin, session, auth, request, reconfig, ttl_enabled } => {
                let reconfig = reconfig.map(|r| ReconfigRequest {
                    joining: r.joining,
                    leaving: r.leaving,
                    members: r.members,
                    from_config: r.from_config,
                });
                Packet::Request {
                    origin,
                    request: ZkRequest { session, auth, request, reconfig, ttl_enabled },
                }
            }
        };
        Some(Message::Quorum { conn, packet })
    }

    /// The leader–learner connection a quorum frame travels on.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Frame::Quorum { conn, .. } => Some(*conn),
            _ => None,
        }
    }

    /// The frame on the wire: length, CRC, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the frame to `out` (encoded in place: no copy of the payload).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        bincode::serialize_into(&mut *out, self).expect("frames always serialize");
        let len = (out.len() - start - 8) as u32;
        let crc = crc32fast::hash(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
    }

    /// Checks and decodes a payload.
    pub fn decode(crc: u32, payload: &[u8]) -> Result<Frame, String> {
        if crc32fast::hash(payload) != crc {
            return Err(format!("bad CRC on a frame of {} bytes", payload.len()));
        }
        let f: Frame = bincode::deserialize(payload).map_err(|e| format!("undecodable frame: {e}"))?;
        if let Frame::Quorum { packet: WirePacket::Snap { snapshot, .. }, .. } = &f {
            // The core trusts snapshots it is handed: check this one decodes first.
            zoolab_core::tree::snapshot::decode(snapshot)
                .map_err(|e| format!("SNAP with a bad snapshot: {e}"))?;
        }
        Ok(f)
    }
}

/// The next frame if the reader's buffer holds all of it, decoded in place (no read, no
/// copy of the payload); `None` when more must be read first.
pub fn buffered_frame<R: AsyncRead + Unpin>(
    r: &mut tokio::io::BufReader<R>,
) -> Option<Result<Frame, String>> {
    let buf = r.buffer();
    if buf.len() < 8 {
        return None;
    }
    let len = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Some(Err(format!("frame of {len} bytes over the limit of {MAX_FRAME}")));
    }
    if buf.len() - 8 < len {
        return None;
    }
    let f = Frame::decode(crc, &buf[8..8 + len]);
    r.consume(8 + len);
    Some(f)
}

/// Reads one frame through a buffered reader, decoded in place when it arrived whole;
/// `Ok(None)` at a clean end of stream.
pub async fn next_frame<R: AsyncRead + Unpin>(
    r: &mut tokio::io::BufReader<R>,
) -> Result<Option<Frame>, String> {
    if r.buffer().is_empty() {
        match r.fill_buf().await {
            Ok([]) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
    match buffered_frame(r) {
        Some(f) => f.map(Some),
        None => read_frame(r).await,
    }
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> Result<Option<Frame>, String> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head[..4]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(format!("reading: {e}")),
    }
    r.read_exact(&mut head[4..]).await.map_err(|e| format!("reading a frame header: {e}"))?;
    let len = u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_be_bytes(head[4..].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Err(format!("frame of {len} bytes over the limit of {MAX_FRAME}"));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await.map_err(|e| format!("reading a frame of {len} bytes: {e}"))?;
    Frame::decode(crc, &payload).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_corruption_is_refused() {
        let f = Frame::Quorum { conn: ConnId(7), packet: WirePacket::Commit { zxid: Zxid(0x1_0000_0003) } };
        let bytes = f.encode();
        let back = read_frame(&mut &bytes[..]).await.unwrap().unwrap();
        assert!(matches!(
            back,
            Frame::Quorum { conn: ConnId(7), packet: WirePacket::Commit { zxid: Zxid(0x1_0000_0003) } }
        ));
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(read_frame(&mut &bad[..]).await.unwrap_err().contains("CRC"));
        let mut huge = bytes;
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_frame(&mut &huge[..]).await.unwrap_err().contains("limit"));
        assert!(read_frame(&mut &[][..]).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn buffered_frames_are_decoded_in_place_and_a_partial_one_waits() {
        let mut bytes = Vec::new();
        for z in 1..=3 {
            Frame::Quorum { conn: ConnId(1), packet: WirePacket::Commit { zxid: Zxid(z) } }
                .encode_into(&mut bytes);
        }
        let whole = bytes.len();
        Frame::Quorum { conn: ConnId(1), packet: WirePacket::Ack { zxid: Zxid(4) } }.encode_into(&mut bytes);
        let mut rd = tokio::io::BufReader::new(&bytes[..whole + 5]);
        assert!(buffered_frame(&mut rd).is_none(), "nothing read yet");
        let first = read_frame(&mut rd).await.unwrap().unwrap();
        assert!(matches!(first, Frame::Quorum { packet: WirePacket::Commit { zxid: Zxid(1) }, .. }));
        for z in 2..=3 {
            let f = buffered_frame(&mut rd).unwrap().unwrap();
            assert!(
                matches!(f, Frame::Quorum { packet: WirePacket::Commit { zxid }, .. } if zxid == Zxid(z))
            );
        }
        assert!(buffered_frame(&mut rd).is_none(), "a partial frame waits for more bytes");
        let mut rd = tokio::io::BufReader::new(&bytes[..]);
        for z in 1..=3 {
            let f = next_frame(&mut rd).await.unwrap().unwrap();
            assert!(
                matches!(f, Frame::Quorum { packet: WirePacket::Commit { zxid }, .. } if zxid == Zxid(z))
            );
        }
        assert!(matches!(
            next_frame(&mut rd).await,
            Ok(Some(Frame::Quorum { packet: WirePacket::Ack { .. }, .. }))
        ));
        assert!(next_frame(&mut rd).await.unwrap().is_none());
        let mut bad = bytes.clone();
        bad[whole + 9] ^= 1;
        let mut rd = tokio::io::BufReader::new(&bad[..]);
        for _ in 0..3 {
            let _ = read_frame(&mut rd).await.unwrap().unwrap();
        }
        let _ = rd.fill_buf().await.unwrap();
        assert!(buffered_frame(&mut rd).unwrap().unwrap_err().contains("CRC"));
    }
}
