//! Reading a scenario's text, one line at a time, with `winnow`.
//!
//! Each line is one statement (or blank, or a `#` comment). A line's grammar is small
//! and keyword-led, so an error names the line, the column and what was expected there.
//! After a line parses, it is checked against what came before it (names resolve, the
//! header comes before the steps, limits hold), with the same position rules.

use super::*;
use crate::zkcli;
use winnow::ascii::{digit1, hex_digit1};
use winnow::combinator::{alt, cut_err, delimited, fail, not, opt, peek, preceded, repeat, terminated};
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::stream::Stream;
use winnow::token::{literal, none_of, one_of, take_while};

mod migrate;

/// Why a text is not a scenario, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What was expected and what was found, or what is wrong.
    pub message: String,
}

type PResult<T> = ModalResult<T>;

fn desc(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ws(i: &mut &str) -> PResult<()> {
    take_while(0.., [' ', '\t']).void().parse_next(i)
}

/// A keyword: the word itself, not followed by more word characters.
///
/// `kw` and `sym` call one out-of-line function each: winnow's combinators are
/// `#[inline(always)]`, so a parser built in place was copied into each of the grammar's
/// ~120 call sites (BENCHMARKS.md, Bundle, session 5).
fn kw<'a>(w: &'static str) -> impl Parser<&'a str, (), ErrMode<ContextError>> {
    move |i: &mut &'a str| keyword(w, i)
}

#[inline(never)]
fn keyword(w: &'static str, i: &mut &str) -> PResult<()> {
    preceded(ws, (literal(w), not(one_of(word_char))))
        .void()
        .context(StrContext::Expected(StrContextValue::StringLiteral(w)))
        .parse_next(i)
}

fn sym<'a>(s: &'static str) -> impl Parser<&'a str, (), ErrMode<ContextError>> {
    move |i: &mut &'a str| symbol(s, i)
}

#[inline(never)]
fn symbol(s: &'static str, i: &mut &str) -> PResult<()> {
    preceded(ws, literal(s))
        .void()
        .context(StrContext::Expected(StrContextValue::StringLiteral(s)))
        .parse_next(i)
}

/// Runs `p`; on failure, puts the input back where `p` started, so that an error points
/// at the start of a token (`5x`) rather than inside it.
fn atomic<'a, O>(
    mut p: impl Parser<&'a str, O, ErrMode<ContextError>>,
) -> impl FnMut(&mut &'a str) -> PResult<O> {
    move |i: &mut &'a str| {
        let cp = i.checkpoint();
        match p.parse_next(i) {
            Ok(o) => Ok(o),
            Err(e) => {
                i.reset(&cp);
                Err(e)
            }
        }
    }
}

fn ident<'a>(i: &mut &'a str) -> PResult<&'a str> {
    preceded(ws, (one_of(|c: char| c.is_ascii_alphabetic() || c == '_'), take_while(0.., word_char)).take())
        .context(desc("a name"))
        .parse_next(i)
}

fn cluster_name(i: &mut &str) -> PResult<String> {
    preceded(
        ws,
        (take_while(1.., |c: char| c.is_ascii_alphabetic() || c == '_'), not(one_of(word_char))).take(),
    )
    .map(str::to_string)
    .context(desc("a cluster name (letters and _)"))
    .parse_next(i)
}

fn server_name(i: &mut &str) -> PResult<ServerName> {
    atomic(
        preceded(
            ws,
            (take_while(1.., |c: char| c.is_ascii_alphabetic() || c == '_'), digit1, not(one_of(word_char))),
        )
        .try_map(|(cluster, id, _): (&str, &str, ())| {
            id.parse::<u8>().map(|id| ServerName { cluster: cluster.to_string(), id })
        }),
    )
    .context(desc("a server name like a1"))
    .parse_next(i)
}

fn server_ref(i: &mut &str) -> PResult<ServerRef> {
    alt((
        preceded((kw("leader"), kw("of")), cut_err(cluster_name)).map(ServerRef::LeaderOf),
        server_name.map(ServerRef::Named),
    ))
    .context(desc("a server (a1, or leader of a)"))
    .parse_next(i)
}

fn refs(i: &mut &str) -> PResult<Vec<ServerRef>> {
    repeat(1.., server_ref).parse_next(i)
}

fn number<T: std::str::FromStr>(what: &'static str) -> impl FnMut(&mut &str) -> PResult<T> {
    move |i: &mut &str| {
        preceded(ws, digit1).verify_map(|d: &str| d.parse::<T>().ok()).context(desc(what)).parse_next(i)
    }
}

fn millis(i: &mut &str) -> PResult<Millis> {
    atomic(
        preceded(
            ws,
            (digit1, alt((literal("ms").value(1u64), literal("s").value(1000u64))), not(one_of(word_char))),
        )
        .verify_map(|(n, unit, _): (&str, u64, ())| n.parse::<u64>().ok()?.checked_mul(unit).map(Millis)),
    )
    .context(desc("a duration like 500ms or 2s"))
    .parse_next(i)
}

fn percent(i: &mut &str) -> PResult<Percent> {
    atomic(preceded(ws, (digit1, opt(preceded('.', take_while(1..=2, |c: char| c.is_ascii_digit()))), '%')))
        .verify_map(|(whole, frac, _): (&str, Option<&str>, char)| {
            let whole = whole.parse::<u32>().ok()?;
            let frac = match frac {
                None => 0,
                Some(f) if f.len() == 1 => f.parse::<u32>().ok()? * 10,
                Some(f) => f.parse::<u32>().ok()?,
            };
            let bp = whole.checked_mul(100)?.checked_add(frac)?;
            (bp <= 10_000).then_some(Percent(bp as u16))
        })
        .context(desc("a percentage from 0% to 100%, like 5% or 0.5%"))
        .parse_next(i)
}

fn str_char(i: &mut &str) -> PResult<char> {
    alt((
        none_of(['"', '\\']),
        preceded(
            '\\',
            cut_err(alt((
                '"'.value('"'),
                '\\'.value('\\'),
                'n'.value('\n'),
                't'.value('\t'),
                'r'.value('\r'),
                delimited("u{", hex_digit1, '}')
                    .verify_map(|h: &str| u32::from_str_radix(h, 16).ok().and_then(char::from_u32)),
            )))
            .context(desc("an escape: \\\" \\\\ \\n \\t \\r or \\u{hex}")),
        ),
    ))
    .parse_next(i)
}

fn str_lit(i: &mut &str) -> PResult<String> {
    preceded(
        (ws, '"'),
        cut_err(terminated(
            repeat(0.., str_char).fold(String::new, |mut s, c| {
                s.push(c);
                s
            }),
            '"'.context(desc("a closing \"")),
        )),
    )
    .parse_next(i)
}

/// A value: a string literal or a bare word (no whitespace, no quote).
fn value(i: &mut &str) -> PResult<String> {
    alt((
        str_lit,
        preceded(ws, take_while(1.., |c: char| !c.is_whitespace() && c != '"'))
            .map(str::to_string)
            .context(desc("a value (a word, or a \"quoted string\")")),
    ))
    .parse_next(i)
}

fn path(i: &mut &str) -> PResult<String> {
    alt((
        str_lit,
        preceded(ws, ('/', take_while(0.., |c: char| !c.is_whitespace() && c != '"')).take())
            .map(str::to_string)
            .context(desc("a znode path like /a/b")),
    ))
    .parse_next(i)
}

fn net_settings(i: &mut &str) -> PResult<NetSettings> {
    let mut net = NetSettings::default();
    loop {
        let cp = i.checkpoint();
        let Some(word) = opt(ident).parse_next(i)? else { break };
        match word {
            "latency" if net.latency.is_none() => {
                let lo = cut_err(millis).parse_next(i)?;
                let hi = opt(preceded("..", cut_err(millis))).parse_next(i)?.unwrap_or(lo);
                net.latency = Some((lo, hi));
            }
            "loss" if net.loss.is_none() => net.loss = Some(cut_err(percent).parse_next(i)?),
            "duplicate" if net.duplicate.is_none() => net.duplicate = Some(cut_err(percent).parse_next(i)?),
            "client" if net.client_latency.is_none() => {
                cut_err(kw("latency")).parse_next(i)?;
                net.client_latency = Some(cut_err(millis).parse_next(i)?);
            }
            _ => {
                i.reset(&cp);
                break;
            }
        }
    }
    if net.is_empty() {
        return fail
            .context(desc("network settings: latency, loss, duplicate or client latency"))
            .parse_next(i);
    }
    Ok(net)
}

fn cluster_decl(i: &mut &str) -> PResult<Cluster> {
    let name = cut_err(cluster_name).parse_next(i)?;
    cut_err(kw("with")).parse_next(i)?;
    let servers = cut_err(number::<u8>("a number of servers")).parse_next(i)?;
    cut_err(alt((kw("servers"), kw("server")))).parse_next(i)?;
    let (mut observers, mut spares) = (0, 0);
    if opt(kw("and")).parse_next(i)?.is_some() {
        let n = cut_err(number::<u8>("a number of observers or spares")).parse_next(i)?;
        if opt(alt((kw("spares"), kw("spare")))).parse_next(i)?.is_some() {
            spares = n;
        } else {
            observers = n;
            cut_err(
                alt((kw("observers"), kw("observer"), kw("spares"), kw("spare")))
                    .context(desc("observers or spares")),
            )
            .parse_next(i)?;
            if opt(kw("and")).parse_next(i)?.is_some() {
                spares = cut_err(number::<u8>("a number of spares")).parse_next(i)?;
                cut_err(alt((kw("spares"), kw("spare")))).parse_next(i)?;
            }
        }
    }
    let mut settings = ClusterSettings::default();
    while opt(sym(",")).parse_next(i)?.is_some() {
        let cp = i.checkpoint();
        match cut_err(ident.context(desc("tickTime, initLimit, syncLimit, snapCount or commitLogCount")))
            .parse_next(i)?
        {
            "tickTime" if settings.tick_time.is_none() => {
                settings.tick_time = Some(cut_err(millis).parse_next(i)?)
            }
            "initLimit" if settings.init_limit.is_none() => {
                settings.init_limit = Some(cut_err(number("a number of ticks")).parse_next(i)?)
            }
            "syncLimit" if settings.sync_limit.is_none() => {
                settings.sync_limit = Some(cut_err(number("a number of ticks")).parse_next(i)?)
            }
            "snapCount" if settings.snap_count.is_none() => {
                settings.snap_count = Some(cut_err(number("a number of transactions")).parse_next(i)?)
            }
            "commitLogCount" if settings.commit_log_count.is_none() => {
                settings.commit_log_count = Some(cut_err(number("a number of proposals")).parse_next(i)?)
            }
            _ => {
                i.reset(&cp);
                return cut_err(fail.context(desc(
                    "tickTime, initLimit, syncLimit, snapCount or commitLogCount (each at most once)",
                )))
                .parse_next(i);
            }
        }
    }
    Ok(Cluster { name, servers, observers, spares, settings })
}

fn link_decl(i: &mut &str, settings_required: bool) -> PResult<LinkDecl> {
    let a = cut_err(cluster_name).parse_next(i)?;
    cut_err(sym("<->")).parse_next(i)?;
    let b = cut_err(cluster_name).parse_next(i)?;
    let net = if settings_required {
        cut_err(net_settings).parse_next(i)?
    } else {
        opt(net_settings).parse_next(i)?.unwrap_or_default()
    };
    Ok(LinkDecl { a, b, net })
}

fn endpoint(i: &mut &str) -> PResult<Endpoint> {
    alt((server_name.map(Endpoint::Server), cluster_name.map(Endpoint::Cluster)))
        .context(desc("a server like a1 or a cluster like a"))
        .parse_next(i)
}

fn client_decl(i: &mut &str) -> PResult<ClientDecl> {
    let name = cut_err(ident.context(desc("a client name like c1"))).parse_next(i)?.to_string();
    cut_err((kw("connects"), kw("to"))).parse_next(i)?;
    let mut connect = vec![cut_err(endpoint).parse_next(i)?];
    while opt(sym(",")).parse_next(i)?.is_some() {
        connect.push(cut_err(endpoint).parse_next(i)?);
    }
    Ok(ClientDecl { name, connect })
}

/// The subject of a predicate, before its verb says what kind of thing it must be.
enum Subject {
    Leader(String),
    Word(String),
    Op(String, u32),
}

fn subject(i: &mut &str) -> PResult<Subject> {
    alt((
        preceded((kw("leader"), kw("of")), cut_err(cluster_name)).map(Subject::Leader),
        (ident, opt(preceded('#', cut_err(number::<u32>("an operation number like 2"))))).map(
            |(w, n): (&str, Option<u32>)| match n {
                Some(n) => Subject::Op(w.to_string(), n),
                None => Subject::Word(w.to_string()),
            },
        ),
    ))
    .context(desc("a predicate: a has a leader, a1 is leading, a1 has /x, c1 succeeded, invariants hold, …"))
    .parse_next(i)
}

fn fail_at<'a, T>(i: &mut &'a str, cp: &<&'a str as Stream>::Checkpoint, what: &'static str) -> PResult<T> {
    i.reset(cp);
    cut_err(fail.context(desc(what))).parse_next(i)
}

fn split_server(w: &str) -> Option<ServerName> {
    let digits = w.find(|c: char| c.is_ascii_digit())?;
    let (cluster, id) = w.split_at(digits);
    if cluster.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(ServerName { cluster: cluster.to_string(), id: id.parse().ok()? })
}

fn is_cluster_word(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
}

/// How many `not`s may stand in a row (a bound on nesting, so no input can exhaust
/// the stack of the parser, the printer or the executor).
pub const MAX_NOTS: usize = 8;

fn predicate(i: &mut &str) -> PResult<Predicate> {
    let mut nots = 0;
    while opt(kw("not")).parse_next(i)?.is_some() {
        nots += 1;
        if nots > MAX_NOTS {
            return cut_err(fail.context(desc("at most 8 `not` in a row"))).parse_next(i);
        }
    }
    let mut p = cut_err(plain_predicate).parse_next(i)?;
    for _ in 0..nots {
        p = Predicate::Not(Box::new(p));
    }
    Ok(p)
}

/// After `history`: `[of CLUSTER] is linearizable` or `[of CLUSTER] violates RULE`.
fn history_predicate(i: &mut &str) -> PResult<Predicate> {
    let cluster = match opt(kw("of")).parse_next(i)? {
        Some(_) => Some(cut_err(cluster_name).parse_next(i)?),
        None => None,
    };
    if opt(kw("is")).parse_next(i)?.is_some() {
        cut_err(kw("linearizable")).parse_next(i)?;
        return Ok(Predicate::History { cluster, violates: None });
    }
    cut_err(kw("violates").context(desc("`is linearizable` or `violates RULE`"))).parse_next(i)?;
    ws.parse_next(i)?;
    let at = i.checkpoint();
    let word = cut_err(take_while(1.., |c: char| c.is_ascii_alphanumeric() || c == '-')).parse_next(i)?;
    match crate::checker::Rule::from_slug(word) {
        Some(rule) => Ok(Predicate::History { cluster, violates: Some(rule) }),
        None => fail_at(i, &at, RULES_EXPECTED),
    }
}

/// What `violates` expects (every [`crate::checker::Rule`]'s slug; a test keeps it true).
pub(crate) const RULES_EXPECTED: &str = "a rule: writes-linearizable, reads-see-writes, session-fifo, \
session-zxids, no-time-travel, sync-then-read, watch-once or watch-before-change";

#[cfg(test)]
#[test]
fn the_rule_list_names_every_rule() {
    for rule in crate::checker::Rule::ALL {
        assert!(RULES_EXPECTED.contains(rule.slug()), "{rule:?}");
    }
}

fn not_depth(p: &Predicate) -> usize {
    let mut depth = 0;
    let mut p = p;
    while let Predicate::Not(inner) = p {
        depth += 1;
        p = inner;
    }
    depth
}

fn plain_predicate<'a>(i: &mut &'a str) -> PResult<Predicate> {
    if opt(kw("migration")).parse_next(i)?.is_some() {
        return Ok(Predicate::Migration(cut_err(migrate::predicate).parse_next(i)?));
    }
    if opt(kw("invariants")).parse_next(i)?.is_some() {
        cut_err(kw("hold")).parse_next(i)?;
        return Ok(Predicate::InvariantsHold);
    }
    if opt(kw("trace")).parse_next(i)?.is_some() {
        cut_err(kw("contains")).parse_next(i)?;
        return Ok(Predicate::TraceContains(cut_err(value).parse_next(i)?));
    }
    if opt(kw("history")).parse_next(i)?.is_some() {
        return cut_err(history_predicate).parse_next(i);
    }
    ws.parse_next(i)?;
    let at = i.checkpoint();
    let subj = subject.parse_next(i)?;
    let as_server = |i: &mut &'a str, s: &Subject| -> PResult<ServerRef> {
        match s {
            Subject::Leader(c) => Ok(ServerRef::LeaderOf(c.clone())),
            Subject::Word(w) => match split_server(w) {
                Some(n) => Ok(ServerRef::Named(n)),
                None => fail_at(i, &at, "a server like a1 or leader of a"),
            },
            Subject::Op(..) => fail_at(i, &at, "a server like a1 or leader of a"),
        }
    };
    let as_target = |i: &mut &'a str, s: &Subject| -> PResult<Target> {
        match s {
            Subject::Word(w) if is_cluster_word(w) => Ok(Target::Cluster(w.clone())),
            _ => as_server(i, s).map(Target::Server),
        }
    };
    let as_op = |i: &mut &'a str, s: &Subject| -> PResult<OpRef> {
        match s {
            Subject::Word(w) => Ok(OpRef { client: w.clone(), nth: None }),
            Subject::Op(w, n) => Ok(OpRef { client: w.clone(), nth: Some(*n) }),
            Subject::Leader(_) => fail_at(i, &at, "a client like c1 or c1#2"),
        }
    };
    let verb = cut_err(peek(ident).context(desc("has, is, succeeded, failed or returned"))).parse_next(i)?;
    match verb {
        "has" => {
            kw("has").parse_next(i)?;
            let negated = opt(kw("no")).parse_next(i)?.is_some();
            if negated && opt(kw("leader")).parse_next(i)?.is_some() {
                let Subject::Word(c) = &subj else { return fail_at(i, &at, "a cluster like a") };
                if !is_cluster_word(c) {
                    return fail_at(i, &at, "a cluster like a");
                }
                return Ok(Predicate::Not(Box::new(Predicate::HasLeader(c.clone()))));
            }
            if !negated && opt((kw("a"), kw("leader"))).parse_next(i)?.is_some() {
                return match &subj {
                    Subject::Word(c) if is_cluster_word(c) => Ok(Predicate::HasLeader(c.clone())),
                    _ => fail_at(i, &at, "a cluster like a"),
                };
            }
            if !negated && opt(kw("committed")).parse_next(i)?.is_some() {
                let target = as_target(i, &subj)?;
                let zxid = cut_err(
                    atomic(preceded((ws, "0x"), hex_digit1))
                        .try_map(|h: &str| u64::from_str_radix(h, 16))
                        .context(desc("a zxid like 0x100000002")),
                )
                .parse_next(i)?;
                return Ok(Predicate::HasCommitted { target, zxid });
            }
            if !negated && opt(kw("voters")).parse_next(i)?.is_some() {
                let target = as_target(i, &subj)?;
                let mut voters = vec![cut_err(server_name).parse_next(i)?];
                while let Some(v) = opt(server_name).parse_next(i)? {
                    voters.push(v);
                }
                return Ok(Predicate::HasVoters { target, voters });
            }
            if !negated && opt(kw("config")).parse_next(i)?.is_some() {
                let target = as_target(i, &subj)?;
                cut_err(kw("version")).parse_next(i)?;
                let version = cut_err(
                    atomic(preceded((ws, "0x"), hex_digit1))
                        .try_map(|h: &str| u64::from_str_radix(h, 16))
                        .context(desc("a config version like 0x100000003")),
                )
                .parse_next(i)?;
                return Ok(Predicate::HasConfigVersion { target, version });
            }
            let target = as_target(i, &subj)?;
            let what = if negated {
                "leader or a znode path"
            } else {
                "a leader, committed, voters, config, or a znode path"
            };
            let path = cut_err(alt((str_lit, path.context(desc(what))))).parse_next(i)?;
            if negated {
                return Ok(Predicate::Not(Box::new(Predicate::HasNode { target, path, data: None })));
            }
            let data = opt(preceded(sym("="), cut_err(value))).parse_next(i)?;
            Ok(Predicate::HasNode { target, path, data })
        }
        "is" => {
            kw("is").parse_next(i)?;
            if opt(kw("pending")).parse_next(i)?.is_some() {
                return Ok(Predicate::Pending(as_op(i, &subj)?));
            }
            if opt(kw("connected")).parse_next(i)?.is_some() {
                return match &subj {
                    Subject::Word(w) => Ok(Predicate::Connected(w.clone())),
                    _ => fail_at(i, &at, "a client like c1"),
                };
            }
            let state = cut_err(
                preceded(ws, take_while(1.., word_char))
                    .verify_map(|w: &str| ServerState::ALL.into_iter().find(|s| s.word() == w))
                    .context(desc("leading, following, looking, observing, down, paused or pending")),
            )
            .parse_next(i)?;
            let server = as_server(i, &subj)?;
            let epoch = opt(preceded((kw("in"), cut_err(kw("epoch"))), cut_err(number("an epoch number"))))
                .parse_next(i)?;
            Ok(Predicate::Is { server, state, epoch })
        }
        "succeeded" => {
            kw("succeeded").parse_next(i)?;
            Ok(Predicate::Succeeded(as_op(i, &subj)?))
        }
        "failed" => {
            kw("failed").parse_next(i)?;
            let op = as_op(i, &subj)?;
            let code = opt(preceded(
                kw("with"),
                cut_err(
                    preceded(ws, take_while(1.., |c: char| c.is_ascii_uppercase() || c == '_'))
                        .context(desc("an error name like NODEEXISTS")),
                ),
            ))
            .parse_next(i)?;
            Ok(Predicate::Failed { op, code: code.map(str::to_string) })
        }
        "saw" => {
            kw("saw").parse_next(i)?;
            let Subject::Word(client) = &subj else { return fail_at(i, &at, "a client like c1") };
            let event = cut_err(
                preceded(ws, take_while(1.., |c: char| c.is_ascii_alphabetic()))
                    .context(desc("an event like NodeDataChanged or Expired")),
            )
            .parse_next(i)?;
            let path = opt(preceded(ws, path)).parse_next(i)?;
            let times = opt(terminated(number::<u32>("a count"), cut_err(kw("times")))).parse_next(i)?;
            Ok(Predicate::Saw { client: client.clone(), event: event.to_string(), path, times })
        }
        "returned" => {
            kw("returned").parse_next(i)?;
            let op = as_op(i, &subj)?;
            Ok(Predicate::Returned { op, value: cut_err(value).parse_next(i)? })
        }
        _ => cut_err(fail.context(desc("has, is, succeeded, failed or returned"))).parse_next(i),
    }
}

/// One line's statement.
enum Stmt {
    Title(String),
    Seed(u64),
    Network(NetSettings),
    Bug(Bug),
    Cluster(Cluster),
    Link(LinkDecl),
    Client(ClientDecl),
    Step(Action),
    /// `c1: …`: the client and the byte offset where its command starts.
    ClientCommand(String, usize),
}

const STATEMENTS: &str = "a statement: scenario, seed, network, bug, cluster, link, client, NAME: command, \
kill, restart, pause, partition, isolate, heal, change, run, step, deliver, at, expect, disconnect, reconnect, \
migrate, migration";

/// ZooKeeper's packet names, as the trace and `deliver` spell them.
pub const MESSAGE_KINDS: &[&str] = &[
    "NOTIFICATION",
    "FOLLOWERINFO",
    "OBSERVERINFO",
    "LEADERINFO",
    "ACKEPOCH",
    "DIFF",
    "TRUNC",
    "SNAP",
    "PROPOSAL",
    "COMMIT",
    "NEWLEADER",
    "ACK",
    "UPTODATE",
    "INFORM",
    "PING",
    "REQUEST",
];

const MESSAGE_KINDS_EXPECTED: &str = "a message kind: NOTIFICATION, FOLLOWERINFO, OBSERVERINFO, \
LEADERINFO, ACKEPOCH, DIFF, TRUNC, SNAP, PROPOSAL, COMMIT, NEWLEADER, ACK, UPTODATE, INFORM, PING or REQUEST";

fn action(i: &mut &str) -> PResult<Action> {
    ws.parse_next(i)?;
    let word = peek(ident).context(desc(STATEMENTS)).parse_next(i)?;
    let one = |i: &mut &str, w: &'static str| -> PResult<ServerRef> {
        kw(w).parse_next(i)?;
        cut_err(server_ref).parse_next(i)
    };
    Ok(match word {
        "kill" => Action::Kill(one(i, "kill")?),
        "crash" => Action::Kill(one(i, "crash")?),
        "restart" => Action::Restart(one(i, "restart")?),
        "pause" => {
            let s = one(i, "pause")?;
            cut_err(kw("for")).parse_next(i)?;
            Action::Pause(s, cut_err(millis).parse_next(i)?)
        }
        "isolate" => Action::Isolate(one(i, "isolate")?),
        "deliver" => {
            let from = one(i, "deliver")?;
            cut_err(sym("->")).parse_next(i)?;
            let to = cut_err(server_ref).parse_next(i)?;
            ws.parse_next(i)?;
            let at = i.checkpoint();
            let kind = opt(take_while(1.., |c: char| c.is_ascii_uppercase())).parse_next(i)?;
            match kind {
                Some(k) if !MESSAGE_KINDS.contains(&k) => return fail_at(i, &at, MESSAGE_KINDS_EXPECTED),
                _ => Action::Deliver { from, to, kind: kind.map(str::to_string) },
            }
        }
        "migrate" => Action::Migration(migrate::start(i)?),
        "migration" => Action::Migration(migrate::control(i)?),
        "disconnect" => {
            kw("disconnect").parse_next(i)?;
            Action::Disconnect(cut_err(ident).parse_next(i)?.to_string())
        }
        "reconnect" => {
            kw("reconnect").parse_next(i)?;
            Action::Reconnect(cut_err(ident).parse_next(i)?.to_string())
        }
        "heal" => {
            kw("heal").parse_next(i)?;
            Action::Heal(opt(server_ref).parse_next(i)?)
        }
        "partition" => {
            kw("partition").parse_next(i)?;
            let first = cut_err(refs).parse_next(i)?;
            if opt(sym("->")).parse_next(i)?.is_some() {
                Action::Cut { from: first, to: cut_err(refs).parse_next(i)? }
            } else {
                let mut groups = vec![first];
                cut_err(sym("|").context(desc("| between groups, or -> for a one-way cut"))).parse_next(i)?;
                groups.push(cut_err(refs).parse_next(i)?);
                while opt(sym("|")).parse_next(i)?.is_some() {
                    groups.push(cut_err(refs).parse_next(i)?);
                }
                Action::Partition(groups)
            }
        }
        "change" => {
            kw("change").parse_next(i)?;
            let what = cut_err(
                alt((kw("network").value(false), kw("link").value(true))).context(desc("network or link")),
            )
            .parse_next(i)?;
            if what {
                let at = i.checkpoint();
                match opt(server_ref).parse_next(i)? {
                    Some(from) => {
                        let both_ways =
                            cut_err(alt((sym("<->").value(true), sym("->").value(false)))).parse_next(i)?;
                        let to = cut_err(server_ref).parse_next(i)?;
                        let net = if opt(kw("default")).parse_next(i)?.is_some() {
                            None
                        } else {
                            Some(
                                cut_err(net_settings.context(desc("network settings, or default")))
                                    .parse_next(i)?,
                            )
                        };
                        Action::ServerLink { from, to, both_ways, net }
                    }
                    None => {
                        i.reset(&at);
                        Action::Link(link_decl(i, true)?)
                    }
                }
            } else {
                Action::Network(cut_err(net_settings).parse_next(i)?)
            }
        }
        "run" => {
            kw("run").parse_next(i)?;
            if opt(kw("until")).parse_next(i)?.is_some() {
                let condition = cut_err(predicate).parse_next(i)?;
                let within = opt(preceded(kw("within"), cut_err(millis))).parse_next(i)?;
                Action::RunUntil { condition, within }
            } else {
                opt(kw("for")).parse_next(i)?;
                Action::Run(cut_err(millis.context(desc("until, or a duration like 500ms"))).parse_next(i)?)
            }
        }
        "step" => {
            kw("step").parse_next(i)?;
            Action::Step(opt(number::<u64>("a number of events")).parse_next(i)?.unwrap_or(1))
        }
        "at" => {
            kw("at").parse_next(i)?;
            let time = cut_err(millis).parse_next(i)?;
            cut_err(sym(":")).parse_next(i)?;
            ws.parse_next(i)?;
            let at = i.checkpoint();
            if peek(kw("at")).parse_next(i).is_ok() {
                return fail_at(i, &at, "an action (not another at)");
            }
            let inner = cut_err(action).parse_next(i)?;
            Action::At { time, action: Box::new(inner) }
        }
        "expect" => {
            kw("expect").parse_next(i)?;
            Action::Expect(cut_err(predicate).parse_next(i)?)
        }
        _ => return fail.context(desc(STATEMENTS)).parse_next(i),
    })
}

fn statement(i: &mut &str) -> PResult<Stmt> {
    ws.parse_next(i)?;
    let start = i.checkpoint();
    // `NAME: zkCli command` first, so that any name can be a client's.
    if let Ok((name, ())) = (ident, sym(":")).parse_next(i) {
        ws.parse_next(i)?;
        return Ok(Stmt::ClientCommand(name.to_string(), 0));
    }
    i.reset(&start);
    let word = peek(ident).context(desc(STATEMENTS)).parse_next(i)?;
    Ok(match word {
        "scenario" => {
            kw("scenario").parse_next(i)?;
            Stmt::Title(cut_err(str_lit.context(desc("a \"quoted title\""))).parse_next(i)?)
        }
        "seed" => {
            kw("seed").parse_next(i)?;
            Stmt::Seed(cut_err(number::<u64>("a seed (a number)")).parse_next(i)?)
        }
        "network" => {
            kw("network").parse_next(i)?;
            Stmt::Network(cut_err(net_settings).parse_next(i)?)
        }
        "bug" => {
            kw("bug").parse_next(i)?;
            Stmt::Bug(cut_err(bug_name).parse_next(i)?)
        }
        "cluster" => {
            kw("cluster").parse_next(i)?;
            Stmt::Cluster(cluster_decl(i)?)
        }
        "link" => {
            kw("link").parse_next(i)?;
            Stmt::Link(link_decl(i, false)?)
        }
        "client" => {
            kw("client").parse_next(i)?;
            Stmt::Client(client_decl(i)?)
        }
        _ => Stmt::Step(action(i)?),
    })
}

/// A deliberate bug's name.
fn bug_name(i: &mut &str) -> PResult<Bug> {
    alt((
        kw("commit-without-quorum").value(Bug::CommitWithoutQuorum),
        kw("skip-trunc").value(Bug::SkipTrunc),
        kw("elect-by-id").value(Bug::ElectById),
        kw("migration-skips-final-sync").value(Bug::MigrationSkipsFinalSync),
        kw("migration-cuts-over-before-verify").value(Bug::MigrationCutsOverBeforeVerify),
        kw("migration-no-zxid-raise").value(Bug::MigrationNoZxidRaise),
        kw("migration-ephemerals-as-persistent").value(Bug::MigrationEphemeralsAsPersistent),
    ))
    .context(desc(
        "a bug: commit-without-quorum, skip-trunc, elect-by-id, migration-skips-final-sync, \
         migration-cuts-over-before-verify, migration-no-zxid-raise or migration-ephemerals-as-persistent",
    ))
    .parse_next(i)
}

/// The 1-based column (in characters) of a byte offset.
fn column_of(line: &str, byte: usize) -> usize {
    line.char_indices().take_while(|&(b, _)| b < byte).count() + 1
}

fn found_at(rest: &str) -> String {
    let tok: String = rest.trim_start().chars().take_while(|c| !c.is_whitespace()).take(24).collect();
    if tok.is_empty() {
        "end of line".to_string()
    } else {
        format!("`{tok}`")
    }
}

/// What was expected: the outermost description, which says it in the language's terms.
fn describe(e: &ContextError) -> String {
    match e.context().filter(|c| matches!(c, StrContext::Expected(_))).last() {
        Some(c) => c.to_string(),
        None => "unexpected input".to_string(),
    }
}

/// Parses one line; on success returns the statement and, for a client command, where
/// the command starts.
fn parse_line(line: &str) -> Result<Stmt, (usize, String)> {
    let mut input = line;
    match statement.parse_next(&mut input) {
        Ok(Stmt::ClientCommand(name, _)) => Ok(Stmt::ClientCommand(name, line.len() - input.len())),
        Ok(stmt) => {
            let rest = input.trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                Ok(stmt)
            } else {
                let at = line.len() - rest.len();
                Err((at, format!("expected end of line, found {}", found_at(rest))))
            }
        }
        Err(e) => {
            let at = line.len() - input.trim_start_matches([' ', '\t']).len();
            let inner = match &e {
                ErrMode::Backtrack(c) | ErrMode::Cut(c) => describe(c),
                ErrMode::Incomplete(_) => "unexpected end of line".to_string(),
            };
            Err((at, format!("{inner}, found {}", found_at(input))))
        }
    }
}

/// Reads one predicate (an exercise's goal, a console's `expect`), checked against the
/// names of `scenario`. Errors are on line 1.
pub fn parse_predicate(scenario: &Scenario, text: &str) -> Result<Predicate, ParseError> {
    let err = |at: usize, message: String| ParseError { line: 1, column: column_of(text, at), message };
    if text.len() > zkcli::MAX_LINE_BYTES || text.contains('\n') {
        return Err(err(0, "a predicate is one line".into()));
    }
    let mut input = text;
    let p = match predicate.parse_next(&mut input) {
        Ok(p) => p,
        Err(e) => {
            let at = text.len() - input.trim_start_matches([' ', '\t']).len();
            let inner = match &e {
                ErrMode::Backtrack(c) | ErrMode::Cut(c) => describe(c),
                ErrMode::Incomplete(_) => "unexpected end of line".to_string(),
            };
            return Err(err(at, format!("{inner}, found {}", found_at(input))));
        }
    };
    let rest = input.trim_start_matches([' ', '\t']);
    if !rest.is_empty() {
        return Err(err(text.len() - rest.len(), format!("expected end of line, found {}", found_at(rest))));
    }
    check_predicate(scenario, &p).map_err(|m| err(0, m))?;
    Ok(p)
}

/// Reads a scenario's text.
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: format!("longer than {MAX_TEXT_BYTES} bytes"),
        });
    }
    let mut sc = Scenario {
        title: None,
        seed: 0,
        classroom: Default::default(),
        network: NetSettings::default(),
        bugs: Vec::new(),
        clusters: Vec::new(),
        links: Vec::new(),
        clients: Vec::new(),
        steps: Vec::new(),
    };
    let mut seen_seed = false;
    for (n, raw) in text.split('\n').enumerate() {
        let line_no = n + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let err =
            |at: usize, message: String| ParseError { line: line_no, column: column_of(line, at), message };
        if line.len() > zkcli::MAX_LINE_BYTES {
            return Err(err(indent, format!("line longer than {} bytes", zkcli::MAX_LINE_BYTES)));
        }
        let in_header = sc.steps.is_empty();
        let header_only = |what: &str| err(indent, format!("{what} belongs before the first step"));
        if let Some(read) = super::classroom::parse_header_line(line) {
            read_classroom_line(&mut sc, read, in_header).map_err(|(at, m)| match at {
                Some(at) => err(at, m),
                None => header_only(&m),
            })?;
            continue;
        }
        let stmt = parse_line(line).map_err(|(at, m)| err(at, m))?;
        match stmt {
            Stmt::Title(t) => {
                if !in_header || sc.title.is_some() {
                    return Err(header_only("the title (once)"));
                }
                sc.title = Some(t);
            }
            Stmt::Bug(b) => {
                if !in_header || sc.bugs.contains(&b) {
                    return Err(header_only("a bug (once each)"));
                }
                sc.bugs.push(b);
                sc.bugs.sort();
            }
            Stmt::Seed(s) => {
                if !in_header || seen_seed {
                    return Err(header_only("the seed (once)"));
                }
                seen_seed = true;
                sc.seed = s;
            }
            Stmt::Network(net) => {
                if !in_header || !sc.network.is_empty() {
                    return Err(err(
                        indent,
                        "the network is set once, before the first step; later, write `change network …`"
                            .into(),
                    ));
                }
                sc.network = net;
            }
            Stmt::Cluster(c) => {
                if !in_header {
                    return Err(header_only("a cluster"));
                }
                check_cluster(&sc, &c).map_err(|m| err(indent, m))?;
                sc.clusters.push(c);
            }
            Stmt::Link(l) => {
                if !in_header {
                    return Err(err(
                        indent,
                        "links are declared before the first step; later, write `change link …`".into(),
                    ));
                }
                check_link(&sc, &l, false).map_err(|m| err(indent, m))?;
                sc.links.push(l);
            }
            Stmt::Client(c) => {
                if !in_header {
                    return Err(header_only("a client"));
                }
                check_client(&sc, &c).map_err(|m| err(indent, m))?;
                sc.clients.push(c);
            }
            Stmt::ClientCommand(client, at) => {
                let command = zkcli::parse(&line[at..]).map_err(|e| {
                    // zkCli's column counts characters from the command's start.
                    let byte = match e {
                        zkcli::CliError::UnterminatedQuote { column, .. } => {
                            line[at..].char_indices().nth(column - 1).map_or(at, |(b, _)| at + b)
                        }
                        _ => at,
                    };
                    err(byte, e.to_string())
                })?;
                let a = Action::Client { client, command };
                check_action(&sc, &a).map_err(|m| err(indent, m))?;
                push_step(&mut sc, a).map_err(|m| err(indent, m))?;
            }
            Stmt::Step(a) => {
                check_action(&sc, &a).map_err(|m| err(indent, m))?;
                push_step(&mut sc, a).map_err(|m| err(indent, m))?;
            }
        }
    }
    if sc.clusters.is_empty() {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: "a scenario declares at least one cluster".into(),
        });
    }
    Ok(sc)
}

/// Puts a classroom header line (`exercise "…"`, `lock …`) into the scenario; an error
/// at a byte offset, or (`None`) a line out of place, named for "… belongs before the
/// first step".
fn read_classroom_line(
    sc: &mut Scenario,
    read: Result<super::classroom::Line, (usize, String)>,
    in_header: bool,
) -> Result<(), (Option<usize>, String)> {
    use super::classroom::Line;
    let line = read.map_err(|(at, m)| (Some(at), m))?;
    match line {
        Line::Exercise(name) => {
            if !in_header || sc.classroom.exercise.is_some() {
                return Err((None, "the exercise's name (once)".into()));
            }
            sc.classroom.exercise = Some(name);
        }
        Line::Lock(lock) => {
            if !in_header || sc.classroom.lock.is_some() {
                return Err((None, "the lock (once)".into()));
            }
            sc.classroom.lock = Some(lock);
        }
    }
    Ok(())
}

fn push_step(sc: &mut Scenario, a: Action) -> Result<(), String> {
    if sc.clusters.is_empty() {
        return Err("declare a cluster before the first step".into());
    }
    if sc.steps.len() >= MAX_STEPS {
        return Err(format!("more than {MAX_STEPS} steps"));
    }
    sc.steps.push(a);
    Ok(())
}

const RESERVED: &[&str] = &["leader", "not", "invariants", "trace", "history", "migration"];

fn check_cluster(sc: &Scenario, c: &Cluster) -> Result<(), String> {
    if sc.clusters.len() >= MAX_CLUSTERS {
        return Err(format!("at most {MAX_CLUSTERS} clusters"));
    }
    if RESERVED.contains(&c.name.as_str()) {
        return Err(format!("`{}` is a word of the language; name the cluster otherwise", c.name));
    }
    if sc.cluster(&c.name).is_some() {
        return Err(format!("cluster {} is declared twice", c.name));
    }
    let total = u16::from(c.servers) + u16::from(c.observers) + u16::from(c.spares);
    if c.servers == 0 || total > u16::from(MAX_SERVERS_PER_CLUSTER) {
        return Err(format!(
            "a cluster has at least 1 server and at most {MAX_SERVERS_PER_CLUSTER} servers, observers and spares together"
        ));
    }
    if c.settings.tick_time == Some(Millis(0)) {
        return Err("tickTime must be positive".into());
    }
    if c.settings.snap_count == Some(0) {
        return Err("snapCount must be positive".into());
    }
    Ok(())
}

fn check_link(sc: &Scenario, l: &LinkDecl, change: bool) -> Result<(), String> {
    for c in [&l.a, &l.b] {
        if sc.cluster(c).is_none() {
            return Err(format!("no cluster {c}"));
        }
    }
    if l.a == l.b {
        return Err("a link joins two different clusters".into());
    }
    if l.net.client_latency.is_some() {
        return Err("client latency is a setting of the network, not of a link".into());
    }
    let declared = sc.links.iter().any(|x| (x.a == l.a && x.b == l.b) || (x.a == l.b && x.b == l.a));
    if declared && !change {
        return Err(format!("link {} <-> {} is declared twice", l.a, l.b));
    }
    check_net(&l.net)
}

fn check_net(n: &NetSettings) -> Result<(), String> {
    if let Some((lo, hi)) = n.latency {
        if lo > hi {
            return Err("latency range goes from low to high".into());
        }
        if hi > Millis(3_600_000) {
            return Err("latency is at most 1 hour".into());
        }
    }
    if n.client_latency.is_some_and(|l| l > Millis(3_600_000)) {
        return Err("client latency is at most 1 hour".into());
    }
    for p in [n.loss, n.duplicate].into_iter().flatten() {
        if p > Percent::MAX {
            return Err("a percentage is at most 100%".into());
        }
    }
    Ok(())
}

fn check_server(sc: &Scenario, s: &ServerName) -> Result<(), String> {
    let Some(c) = sc.cluster(&s.cluster) else {
        return Err(format!("no cluster {} (for server {s})", s.cluster));
    };
    if s.id == 0 || s.id > c.total() {
        return Err(format!("cluster {} has servers {}1 to {}{}", c.name, c.name, c.name, c.total()));
    }
    Ok(())
}

fn check_ref(sc: &Scenario, r: &ServerRef) -> Result<(), String> {
    match r {
        ServerRef::Named(s) => check_server(sc, s),
        ServerRef::LeaderOf(c) => sc.cluster(c).map(|_| ()).ok_or_else(|| format!("no cluster {c}")),
    }
}

fn check_client(sc: &Scenario, c: &ClientDecl) -> Result<(), String> {
    if sc.clients.len() >= MAX_CLIENTS {
        return Err(format!("at most {MAX_CLIENTS} clients"));
    }
    if RESERVED.contains(&c.name.as_str()) || is_cluster_word(&c.name) && sc.cluster(&c.name).is_some() {
        return Err(format!("`{}` cannot name a client", c.name));
    }
    if let Some(s) = split_server(&c.name) {
        if sc.cluster(&s.cluster).is_some() {
            return Err(format!("client {} would read as server {} of cluster {}", c.name, s.id, s.cluster));
        }
    }
    if sc.client(&c.name).is_some() {
        return Err(format!("client {} is declared twice", c.name));
    }
    if c.connect.is_empty() {
        return Err("a connect string names at least one server".into());
    }
    for e in &c.connect {
        match e {
            Endpoint::Server(s) => check_server(sc, s)?,
            Endpoint::Cluster(name) => {
                sc.cluster(name).ok_or_else(|| format!("no cluster {name}"))?;
            }
        }
    }
    Ok(())
}

fn check_op(sc: &Scenario, op: &OpRef) -> Result<(), String> {
    if sc.client(&op.client).is_none() {
        return Err(format!("no client {}", op.client));
    }
    if op.nth == Some(0) {
        return Err("operations count from 1 (c1#1 is the first)".into());
    }
    Ok(())
}

fn check_target(sc: &Scenario, t: &Target) -> Result<(), String> {
    match t {
        Target::Server(r) => check_ref(sc, r),
        Target::Cluster(c) => sc.cluster(c).map(|_| ()).ok_or_else(|| format!("no cluster {c}")),
    }
}

fn check_predicate(sc: &Scenario, p: &Predicate) -> Result<(), String> {
    // `a has no leader` is one `not` that prints without the word.
    if not_depth(p) > MAX_NOTS + 1 {
        return Err(format!("at most {MAX_NOTS} `not` in a row"));
    }
    match p {
        Predicate::Not(inner) => check_predicate(sc, inner),
        Predicate::HasLeader(c) => sc.cluster(c).map(|_| ()).ok_or_else(|| format!("no cluster {c}")),
        Predicate::Is { server, .. } => check_ref(sc, server),
        Predicate::HasNode { target, path, .. } => {
            check_target(sc, target)?;
            zkcli::validate_path(path, false).map_err(|e| e.to_string())
        }
        Predicate::HasCommitted { target, .. } | Predicate::HasConfigVersion { target, .. } => {
            check_target(sc, target)
        }
        Predicate::HasVoters { target, voters } => {
            check_target(sc, target)?;
            for v in voters {
                check_server(sc, v)?;
            }
            if voters.windows(2).any(|w| w[0] >= w[1]) {
                return Err("list voters once each, in id order (a1 a2 a3)".into());
            }
            Ok(())
        }
        Predicate::Succeeded(op) | Predicate::Pending(op) => check_op(sc, op),
        Predicate::Failed { op, code } => {
            check_op(sc, op)?;
            match code {
                Some(c) if c.is_empty() || !c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                    Err(format!("`{c}` is not an error name like NODEEXISTS"))
                }
                _ => Ok(()),
            }
        }
        Predicate::Returned { op, .. } => check_op(sc, op),
        Predicate::InvariantsHold | Predicate::TraceContains(_) | Predicate::Migration(_) => Ok(()),
        Predicate::History { cluster: None, .. } => Ok(()),
        Predicate::History { cluster: Some(c), .. } => {
            sc.cluster(c).map(|_| ()).ok_or_else(|| format!("no cluster {c}"))
        }
        Predicate::Connected(c) | Predicate::Saw { client: c, .. } => {
            sc.client(c).map(|_| ()).ok_or_else(|| format!("no client {c}"))
        }
    }
}

/// Checks one step against the scenario's topology.
pub(crate) fn check_action(sc: &Scenario, a: &Action) -> Result<(), String> {
    match a {
        Action::Client { client, command } => {
            if sc.client(client).is_none() {
                return Err(format!("no client {client} (declare it: client {client} connects to …)"));
            }
            // The command must read back as itself on one line.
            let text = command.to_string();
            if text.contains(['\n', '\r']) || zkcli::parse(&text).as_ref() != Ok(command) {
                return Err(format!("{client}'s command cannot be written on one zkCli line"));
            }
            Ok(())
        }
        Action::Kill(r) | Action::Restart(r) | Action::Pause(r, _) | Action::Isolate(r) => check_ref(sc, r),
        Action::Disconnect(c) | Action::Reconnect(c) => {
            sc.client(c).map(|_| ()).ok_or_else(|| format!("no client {c}"))
        }
        Action::Migration(m) => super::migrate::check_action(sc, m),
        Action::Heal(r) => r.as_ref().map_or(Ok(()), |r| check_ref(sc, r)),
        Action::Partition(groups) => {
            if groups.len() < 2 || groups.iter().any(Vec::is_empty) {
                return Err("a partition has at least two non-empty groups".into());
            }
            groups.iter().flatten().try_for_each(|r| check_ref(sc, r))
        }
        Action::Cut { from, to } => {
            if from.is_empty() || to.is_empty() {
                return Err("a one-way partition has senders and receivers".into());
            }
            from.iter().chain(to).try_for_each(|r| check_ref(sc, r))
        }
        Action::Network(n) => {
            if n.is_empty() {
                return Err("change network needs a setting".into());
            }
            check_net(n)
        }
        Action::Link(l) => {
            if l.net.is_empty() {
                return Err("change link needs a setting".into());
            }
            check_link(sc, l, true)
        }
        Action::ServerLink { from, to, net, .. } => {
            check_ref(sc, from)?;
            check_ref(sc, to)?;
            let cluster = |r: &ServerRef| match r {
                ServerRef::Named(n) => n.cluster.clone(),
                ServerRef::LeaderOf(c) => c.clone(),
            };
            if cluster(from) != cluster(to) {
                return Err(
                    "a server link joins two servers of one cluster (between clusters, name the clusters)"
                        .into(),
                );
            }
            if from == to {
                return Err("a link joins two different servers".into());
            }
            match net {
                Some(n) if n.is_empty() => Err("change link needs a setting, or default".into()),
                Some(n) if n.client_latency.is_some() => {
                    Err("client latency is a setting of the network, not of a link".into())
                }
                Some(n) => check_net(n),
                None => Ok(()),
            }
        }
        Action::Run(_) | Action::Step(_) => Ok(()),
        Action::Deliver { from, to, .. } => {
            check_ref(sc, from)?;
            check_ref(sc, to)?;
            match (from, to) {
                (ServerRef::Named(a), ServerRef::Named(b)) if a.cluster != b.cluster => {
                    Err(format!("{a} and {b} are in different clusters: no message travels between them"))
                }
                (ServerRef::Named(a), ServerRef::Named(b)) if a == b => {
                    Err(format!("{a} sends nothing to itself"))
                }
                _ => Ok(()),
            }
        }
        Action::RunUntil { condition, .. } => check_predicate(sc, condition),
        Action::At { action, .. } => {
            if matches!(action.as_ref(), Action::At { .. }) {
                return Err("an at holds one action, not another at".into());
            }
            check_action(sc, action)
        }
        Action::Expect(p) => check_predicate(sc, p),
    }
}

impl Scenario {
    /// Checks a scenario built in code (the browser appends the user's actions) with the
    /// rules the parser applies to a text; the message names the offending part.
    pub fn validate(&self) -> Result<(), String> {
        let mut sc = Scenario {
            clusters: Vec::new(),
            links: Vec::new(),
            clients: Vec::new(),
            steps: Vec::new(),
            ..self.clone()
        };
        if self.title.as_deref().is_some_and(|t| t.len() > 1024) {
            return Err("title longer than 1024 bytes".into());
        }
        self.classroom.validate()?;
        if !self.network.is_empty() {
            check_net(&self.network)?;
        }
        if self.clusters.is_empty() {
            return Err("a scenario declares at least one cluster".into());
        }
        for c in &self.clusters {
            if !is_cluster_word(&c.name) {
                return Err(format!("`{}` is not a cluster name (letters and _)", c.name));
            }
            check_cluster(&sc, c)?;
            sc.clusters.push(c.clone());
        }
        for l in &self.links {
            check_link(&sc, l, false)?;
            sc.links.push(l.clone());
        }
        for c in &self.clients {
            let valid = c.name.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                && c.name.chars().all(word_char);
            if !valid {
                return Err(format!("`{}` is not a client name", c.name));
            }
            check_client(&sc, c)?;
            sc.clients.push(c.clone());
        }
        if self.steps.len() > MAX_STEPS {
            return Err(format!("more than {MAX_STEPS} steps"));
        }
        for (n, a) in self.steps.iter().enumerate() {
            check_action(&sc, a).map_err(|m| format!("step {}: {m}", n + 1))?;
        }
        // Finally, the text must read back as this very scenario.
        match parse(&self.to_string()) {
            Ok(back) if back == *self => Ok(()),
            Ok(_) => {
                Err("the scenario does not read back as itself (a name or value cannot be written)".into())
            }
            Err(e) => Err(format!("the scenario's text does not read back: {e}")),
        }
    }
}
