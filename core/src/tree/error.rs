//! ZooKeeper's error codes (`KeeperException.Code`), with their names and numbers.
//!
//! Every error a request can meet is one of these; the names are the ones ZooKeeper's
//! clients print, and the numbers are the ones on the wire (`ReplyHeader.err`).

use serde::{Deserialize, Serialize};

macro_rules! zk_errors {
    ($( $(#[$doc:meta])* $variant:ident = $code:expr, $name:literal; )*) => {
        /// A ZooKeeper error: `KeeperException.Code` without `OK`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, thiserror::Error)]
        pub enum ZkError {
            $( $(#[$doc])* #[error($name)] $variant, )*
        }

        impl ZkError {
            /// Every error, in code order as ZooKeeper declares them.
            pub const ALL: &'static [ZkError] = &[$( ZkError::$variant, )*];

            /// The numeric code on the wire (always negative).
            pub fn code(self) -> i32 {
                match self { $( ZkError::$variant => $code, )* }
            }

            /// ZooKeeper's name of the code, as `KeeperException.Code.name()` gives it.
            pub fn name(self) -> &'static str {
                match self { $( ZkError::$variant => $name, )* }
            }
        }
    };
}

zk_errors! {
    /// A system error (the server's own fault).
    SystemError = -1, "SYSTEMERROR";
    /// A multi's later ops, after one failed.
    RuntimeInconsistency = -2, "RUNTIMEINCONSISTENCY";
    /// The data is inconsistent.
    DataInconsistency = -3, "DATAINCONSISTENCY";
    /// The connection to the server was lost (also: a request larger than jute.maxbuffer).
    ConnectionLoss = -4, "CONNECTIONLOSS";
    /// A request could not be decoded.
    MarshallingError = -5, "MARSHALLINGERROR";
    /// The operation is not implemented (e.g. TTL nodes when extended types are off).
    Unimplemented = -6, "UNIMPLEMENTED";
    /// The operation timed out.
    OperationTimeout = -7, "OPERATIONTIMEOUT";
    /// Invalid arguments (bad path, bad TTL, deleting a reserved node).
    BadArguments = -8, "BADARGUMENTS";
    /// Unknown session (internal).
    UnknownSession = -12, "UNKNOWNSESSION";
    /// No quorum of the new config is connected and synced.
    NewConfigNoQuorum = -13, "NEWCONFIGNOQUORUM";
    /// Another reconfiguration is in progress.
    ReconfigInProgress = -14, "RECONFIGINPROGRESS";
    /// Generic API error (never returned as such).
    ApiError = -100, "APIERROR";
    /// The node does not exist.
    NoNode = -101, "NONODE";
    /// Not authorized by the node's ACL.
    NoAuth = -102, "NOAUTH";
    /// The expected version does not match.
    BadVersion = -103, "BADVERSION";
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108, "NOCHILDRENFOREPHEMERALS";
    /// The node already exists.
    NodeExists = -110, "NODEEXISTS";
    /// The node has children.
    NotEmpty = -111, "NOTEMPTY";
    /// The session has expired.
    SessionExpired = -112, "SESSIONEXPIRED";
    /// Invalid callback.
    InvalidCallback = -113, "INVALIDCALLBACK";
    /// Invalid ACL.
    InvalidAcl = -114, "INVALIDACL";
    /// Authentication failed.
    AuthFailed = -115, "AUTHFAILED";
    /// The session moved to another server.
    SessionMoved = -118, "SESSIONMOVED";
    /// A state-changing request reached a read-only server.
    NotReadOnly = -119, "NOTREADONLY";
    /// An ephemeral was requested on a local session.
    EphemeralOnLocalSession = -120, "EPHEMERALONLOCALSESSION";
    /// No such watcher to remove.
    NoWatcher = -121, "NOWATCHER";
    /// The request timed out.
    RequestTimeout = -122, "REQUESTTIMEOUT";
    /// Reconfiguration is disabled.
    ReconfigDisabled = -123, "RECONFIGDISABLED";
    /// The session was closed; SASL authentication is required.
    SessionClosedRequireSaslAuth = -124, "SESSIONCLOSEDREQUIRESASLAUTH";
    /// A quota was exceeded.
    QuotaExceeded = -125, "QUOTAEXCEEDED";
    /// The operation was throttled.
    ThrottledOp = -127, "THROTTLEDOP";
}

impl ZkError {
    /// The error with this wire code, if any (0 is `OK`, not an error).
    pub fn from_code(code: i32) -> Option<ZkError> {
        ZkError::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// The error with this ZooKeeper name, if any.
    pub fn from_name(name: &str) -> Option<ZkError> {
        ZkError::ALL.iter().copied().find(|e| e.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeper_exception_codes_match_zookeeper() {
        assert_eq!(ZkError::NoNode.code(), -101);
        assert_eq!(ZkError::NoAuth.code(), -102);
        assert_eq!(ZkError::BadVersion.code(), -103);
        assert_eq!(ZkError::NoChildrenForEphemerals.code(), -108);
        assert_eq!(ZkError::NodeExists.code(), -110);
        assert_eq!(ZkError::NotEmpty.code(), -111);
        assert_eq!(ZkError::InvalidAcl.code(), -114);
        assert_eq!(ZkError::BadArguments.code(), -8);
        assert_eq!(ZkError::RuntimeInconsistency.code(), -2);
        assert_eq!(ZkError::NoWatcher.code(), -121);
        assert_eq!(ZkError::NoNode.to_string(), "NONODE");
    }

    #[test]
    fn codes_and_names_round_trip() {
        for &e in ZkError::ALL {
            assert_eq!(ZkError::from_code(e.code()), Some(e));
            assert_eq!(ZkError::from_name(e.name()), Some(e));
        }
        assert_eq!(ZkError::from_code(0), None);
    }
}
