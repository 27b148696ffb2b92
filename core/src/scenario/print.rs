//! The canonical text of a scenario: what `Display` prints and [`super::parse`] reads back.

use super::*;
use std::fmt::{self, Display, Formatter};

/// Writes a string literal: double quotes, with `\"`, `\\`, `\n`, `\t`, `\r` and
/// `\u{…}` for other control characters.
pub(crate) fn write_str_lit(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A path: bare when it is a plain token, else a string literal.
pub(crate) fn write_path(f: &mut Formatter<'_>, p: &str) -> fmt::Result {
    let plain = p.starts_with('/') && !p.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if plain {
        f.write_str(p)
    } else {
        write_str_lit(f, p)
    }
}

impl Display for Millis {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 != 0 && self.0.is_multiple_of(1000) {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

impl Display for Percent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}%"),
            _ if frac.is_multiple_of(10) => write!(f, "{whole}.{}%", frac / 10),
            _ => write!(f, "{whole}.{frac:02}%"),
        }
    }
}

impl Display for NetSettings {
    /// `latency 1ms..5ms loss 1% duplicate 0.5% client latency 2ms`, the given
    /// settings only.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some((lo, hi)) = self.latency {
            if lo == hi {
                write!(f, "latency {lo}")?;
            } else {
                write!(f, "latency {lo}..{hi}")?;
            }
            sep = " ";
        }
        if let Some(p) = self.loss {
            write!(f, "{sep}loss {p}")?;
            sep = " ";
        }
        if let Some(p) = self.duplicate {
            write!(f, "{sep}duplicate {p}")?;
            sep = " ";
        }
        if let Some(l) = self.client_latency {
            write!(f, "{sep}client latency {l}")?;
        }
        Ok(())
    }
}

impl Display for ServerName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.cluster, self.id)
    }
}

impl Display for ServerRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ServerRef::Named(n) => n.fmt(f),
            ServerRef::LeaderOf(c) => write!(f, "leader of {c}"),
        }
    }
}

impl Display for Endpoint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Server(s) => s.fmt(f),
            Endpoint::Cluster(c) => f.write_str(c),
        }
    }
}

impl Display for OpRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.client)?;
        if let Some(n) = self.nth {
            write!(f, "#{n}")?;
        }
        Ok(())
    }
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server(s) => s.fmt(f),
            Target::Cluster(c) => f.write_str(c),
        }
    }
}

impl Display for Cluster {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let plural = |n: u8| if n == 1 { "" } else { "s" };
        write!(f, "cluster {} with {} server{}", self.name, self.servers, plural(self.servers))?;
        if self.observers > 0 {
            write!(f, " and {} observer{}", self.observers, plural(self.observers))?;
        }
        if self.spares > 0 {
            write!(f, " and {} spare{}", self.spares, plural(self.spares))?;
        }
        let s = &self.settings;
        if let Some(t) = s.tick_time {
            write!(f, ", tickTime {t}")?;
        }
        if let Some(n) = s.init_limit {
            write!(f, ", initLimit {n}")?;
        }
        if let Some(n) = s.sync_limit {
            write!(f, ", syncLimit {n}")?;
        }
        if let Some(n) = s.snap_count {
            write!(f, ", snapCount {n}")?;
        }
        if let Some(n) = s.commit_log_count {
            write!(f, ", commitLogCount {n}")?;
        }
        Ok(())
    }
}

impl Display for LinkDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "link {} <-> {}", self.a, self.b)?;
        if !self.net.is_empty() {
            write!(f, " {}", self.net)?;
        }
        Ok(())
    }
}

impl Display for ClientDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "client {} connects to ", self.name)?;
        for (i, e) in self.connect.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

fn write_refs(f: &mut Formatter<'_>, refs: &[ServerRef]) -> fmt::Result {
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        r.fmt(f)?;
    }
    Ok(())
}

impl Display for Action {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Action::Client { client, command } => write!(f, "{client}: {command}"),
            Action::Kill(s) => write!(f, "kill {s}"),
            Action::Restart(s) => write!(f, "restart {s}"),
            Action::Pause(s, d) => write!(f, "pause {s} for {d}"),
            Action::Partition(groups) => {
                f.write_str("partition ")?;
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write_refs(f, g)?;
                }
                Ok(())
            }
            Action::Cut { from, to } => {
                f.write_str("partition ")?;
                write_refs(f, from)?;
                f.write_str(" -> ")?;
                write_refs(f, to)
            }
            Action::Isolate(s) => write!(f, "isolate {s}"),
            Action::Disconnect(c) => write!(f, "disconnect {c}"),
            Action::Reconnect(c) => write!(f, "reconnect {c}"),
            Action::Migration(m) => m.fmt(f),
            Action::Heal(None) => f.write_str("heal"),
            Action::Heal(Some(s)) => write!(f, "heal {s}"),
            Action::Network(n) => write!(f, "change network {n}"),
            Action::Link(l) => write!(f, "change {l}"),
            Action::ServerLink { from, to, both_ways, net } => {
                write!(f, "change link {from} {} {to} ", if *both_ways { "<->" } else { "->" })?;
                match net {
                    Some(n) => n.fmt(f),
                    None => f.write_str("default"),
                }
            }
            Action::Run(d) => write!(f, "run {d}"),
            Action::RunUntil { condition, within } => {
                write!(f, "run until {condition}")?;
                if let Some(w) = within {
                    write!(f, " within {w}")?;
                }
                Ok(())
            }
            Action::Deliver { from, to, kind } => {
                write!(f, "deliver {from} -> {to}")?;
                match kind {
                    Some(k) => write!(f, " {k}"),
                    None => Ok(()),
                }
            }
            Action::Step(1) => f.write_str("step"),
            Action::Step(n) => write!(f, "step {n}"),
            Action::At { time, action } => write!(f, "at {time}: {action}"),
            Action::Expect(p) => write!(f, "expect {p}"),
        }
    }
}

/// `null` bare, text always quoted (so `"null"` stays the four bytes).
impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Text(t) => write_str_lit(f, t),
        }
    }
}

impl Display for Predicate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Not(inner) => match inner.as_ref() {
                Predicate::HasLeader(c) => write!(f, "{c} has no leader"),
                Predicate::HasNode { target, path, data: None } => {
                    write!(f, "{target} has no ")?;
                    write_path(f, path)
                }
                other => write!(f, "not {other}"),
            },
            Predicate::HasLeader(c) => write!(f, "{c} has a leader"),
            Predicate::Is { server, state, epoch } => {
                write!(f, "{server} is {}", state.word())?;
                if let Some(e) = epoch {
                    write!(f, " in epoch {e}")?;
                }
                Ok(())
            }
            Predicate::HasNode { target, path, data } => {
                write!(f, "{target} has ")?;
                write_path(f, path)?;
                if let Some(d) = data {
                    write!(f, " = {d}")?;
                }
                Ok(())
            }
            Predicate::HasCommitted { target, zxid } => write!(f, "{target} has committed 0x{zxid:x}"),
            Predicate::HasVoters { target, voters } => {
                write!(f, "{target} has voters")?;
                for v in voters {
                    write!(f, " {v}")?;
                }
                Ok(())
            }
            Predicate::HasConfigVersion { target, version } => {
                write!(f, "{target} has config version 0x{version:x}")
            }
            Predicate::Succeeded(op) => write!(f, "{op} succeeded"),
            Predicate::Failed { op, code: None } => write!(f, "{op} failed"),
            Predicate::Failed { op, code: Some(c) } => write!(f, "{op} failed with {c}"),
            Predicate::Pending(op) => write!(f, "{op} is pending"),
            Predicate::Returned { op, value } => write!(f, "{op} returned {value}"),
            Predicate::InvariantsHold => f.write_str("invariants hold"),
            Predicate::History { cluster, violates } => {
                f.write_str("history")?;
                if let Some(c) = cluster {
                    write!(f, " of {c}")?;
                }
                match violates {
                    None => f.write_str(" is linearizable"),
                    Some(rule) => write!(f, " violates {}", rule.slug()),
                }
            }
            Predicate::Migration(m) => m.fmt(f),
            Predicate::TraceContains(s) => {
                f.write_str("trace contains ")?;
                write_str_lit(f, s)
            }
            Predicate::Connected(c) => write!(f, "{c} is connected"),
            Predicate::Saw { client, event, path, times } => {
                write!(f, "{client} saw {event}")?;
                if let Some(p) = path {
                    f.write_str(" ")?;
                    write_path(f, p)?;
                }
                if let Some(n) = times {
                    write!(f, " {n} times")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for Scenario {
    /// The canonical text: the header lines in a fixed order, a blank line, the steps.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.title {
            f.write_str("scenario ")?;
            write_str_lit(f, t)?;
            f.write_str("\n")?;
        }
        writeln!(f, "seed {}", self.seed)?;
        write!(f, "{}", self.classroom)?;
        if !self.network.is_empty() {
            writeln!(f, "network {}", self.network)?;
        }
        for b in &self.bugs {
            writeln!(f, "bug {}", b.name())?;
        }
        for c in &self.clusters {
            writeln!(f, "{c}")?;
        }
        for l in &self.links {
            writeln!(f, "{l}")?;
        }
        for c in &self.clients {
            writeln!(f, "{c}")?;
        }
        if !self.steps.is_empty() {
            f.write_str("\n")?;
        }
        for s in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
