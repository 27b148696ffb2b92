//! Read-only views of the simulated ZooKeeper sessions, for the playground's inspector:
//! the leader's session tracker with its expiry deadlines, and which client owns a
//! session. Nothing here changes the run.

use super::SimDriver;
use crate::ids::{ServerId, SessionId};

/// One session in a leader's tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedSession {
    /// The session.
    pub session: SessionId,
    /// Its negotiated timeout (ms).
    pub timeout_ms: u64,
    /// When the leader expires it unless its client is heard from (simulated ms).
    pub deadline_ms: u64,
    /// Whether the leader has proposed closing it (expired, closeSession in flight).
    pub closing: bool,
    /// The scenario client holding it, if any.
    pub client: Option<String>,
}

impl SimDriver {
    /// The session tracker of cluster `c`'s leader: the leader it belongs to and its
    /// sessions in id order (`None`: no leader tracks sessions right now).
    pub fn session_tracker(&self, c: usize) -> Option<(ServerId, Vec<TrackedSession>)> {
        let t = self.trackers.get(c)?;
        let (leader, _) = t.leader?;
        let sessions = t
            .sessions
            .iter()
            .map(|(&session, &(timeout_ms, deadline_ms, closing))| TrackedSession {
                session,
                timeout_ms,
                deadline_ms,
                closing: closing.is_some(),
                client: self.client_of(session),
            })
            .collect();
        Some((leader, sessions))
    }

    /// The scenario client whose current session this is.
    pub fn client_of(&self, session: SessionId) -> Option<String> {
        self.clients.iter().find(|c| c.session.is_some_and(|(s, _)| s == session)).map(|c| c.name.clone())
    }
}
