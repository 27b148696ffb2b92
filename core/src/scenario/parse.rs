//! Reading a scenario's text, one line at a time, with a small hand-written reader.
//!
//! Each line is one statement (or blank, or a `#` comment). A line's grammar is small
//! and keyword-led, so an error names the line, the column and what was expected there.
//! After a line parses, it is checked against what came before it (names resolve, the
//! header comes before the steps, limits hold), with the same position rules.
//!
//! The reader is a cursor over the line's bytes with a few out-of-line helpers (keyword,
//! number, duration, path, quoted string…): no generic combinators, so the grammar
//! compiles to little code (issue 8's bundle; BENCHMARKS.md, Bundle, session 5).

use super::*;
use crate::zkcli;

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

/// Where a line stopped reading (a byte offset) and what was expected there.
struct Fail {
    at: usize,
    what: &'static str,
    /// `what` is a literal word or symbol, shown in backquotes.
    lit: bool,
}

impl Fail {
    /// Says what was expected in the terms of the caller (the outermost description wins).
    fn ctx(self, what: &'static str) -> Fail {
        Fail { what, lit: false, ..self }
    }

    fn message(&self, line: &str) -> String {
        let at = self.at.min(line.len());
        if self.lit {
            format!("expected `{}`, found {}", self.what, found_at(&line[at..]))
        } else {
            format!("expected {}, found {}", self.what, found_at(&line[at..]))
        }
    }
}

type R<T> = Result<T, Fail>;

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn alpha_(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// A cursor over one line.
struct Cur<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Cur { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek_byte(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek_byte(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A failure here (after blanks).
    fn fail<T>(&mut self, what: &'static str) -> R<T> {
        self.ws();
        Err(Fail { at: self.pos, what, lit: false })
    }

    /// A failure at `at`.
    fn fail_at<T>(&mut self, at: usize, what: &'static str) -> R<T> {
        self.pos = at;
        self.fail(what)
    }

    /// Takes the bytes (ASCII predicates) that satisfy `f`, at least `min` of them.
    #[inline(never)]
    fn take(&mut self, f: fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek_byte().is_some_and(f) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// Takes the characters that satisfy `f`.
    #[inline(never)]
    fn take_chars(&mut self, f: fn(char) -> bool) -> &'a str {
        let start = self.pos;
        let n = self.rest().find(|c: char| !f(c)).unwrap_or(self.rest().len());
        self.pos += n;
        &self.s[start..self.pos]
    }

    fn at_word_end(&self) -> bool {
        !self.peek_byte().is_some_and(word_byte)
    }

    /// Reads the keyword `w` (not followed by more word characters), or reads nothing.
    #[inline(never)]
    fn eat_kw(&mut self, w: &str) -> bool {
        let start = self.pos;
        self.ws();
        if self.rest().starts_with(w) {
            self.pos += w.len();
            if self.at_word_end() {
                return true;
            }
        }
        self.pos = start;
        false
    }

    #[inline(never)]
    fn kw(&mut self, w: &'static str) -> R<()> {
        if self.eat_kw(w) {
            return Ok(());
        }
        self.ws();
        Err(Fail { at: self.pos, what: w, lit: true })
    }

    /// Reads the symbol `s`, or reads nothing.
    #[inline(never)]
    fn eat_sym(&mut self, s: &str) -> bool {
        let start = self.pos;
        self.ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            return true;
        }
        self.pos = start;
        false
    }

    #[inline(never)]
    fn sym(&mut self, s: &'static str) -> R<()> {
        if self.eat_sym(s) {
            return Ok(());
        }
        self.ws();
        Err(Fail { at: self.pos, what: s, lit: true })
    }

    /// A name: a letter or `_`, then letters, digits and `_`.
    #[inline(never)]
    fn ident_opt(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.ws();
        let from = self.pos;
        if !self.peek_byte().is_some_and(alpha_) {
            self.pos = start;
            return None;
        }
        self.take(word_byte);
        Some(&self.s[from..self.pos])
    }

    fn ident(&mut self, what: &'static str) -> R<&'a str> {
        match self.ident_opt() {
            Some(w) => Ok(w),
            None => self.fail(what),
        }
    }

    /// The next name, without reading it.
    fn peek_ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let w = self.ident_opt();
        self.pos = start;
        w
    }

    #[inline(never)]
    fn cluster_name_opt(&mut self) -> Option<String> {
        let start = self.pos;
        self.ws();
        let w = self.take(alpha_);
        if w.is_empty() || !self.at_word_end() {
            self.pos = start;
            return None;
        }
        Some(w.to_string())
    }

    fn cluster_name(&mut self) -> R<String> {
        match self.cluster_name_opt() {
            Some(c) => Ok(c),
            None => self.fail("a cluster name (letters and _)"),
        }
    }

    #[inline(never)]
    fn server_name_opt(&mut self) -> Option<ServerName> {
        let start = self.pos;
        self.ws();
        let cluster = self.take(alpha_);
        let id = self.take(|b| b.is_ascii_digit());
        if !cluster.is_empty() && !id.is_empty() && self.at_word_end() {
            if let Ok(id) = id.parse::<u8>() {
                return Some(ServerName { cluster: cluster.to_string(), id });
            }
        }
        self.pos = start;
        None
    }

    fn server_name(&mut self) -> R<ServerName> {
        match self.server_name_opt() {
            Some(s) => Ok(s),
            None => self.fail("a server name like a1"),
        }
    }

    /// `a1` or `leader of a`; `None` if neither starts here.
    #[inline(never)]
    fn server_ref_opt(&mut self) -> R<Option<ServerRef>> {
        let start = self.pos;
        if self.eat_kw("leader") {
            if self.eat_kw("of") {
                let c = self.cluster_name().map_err(|f| f.ctx("a server (a1, or leader of a)"))?;
                return Ok(Some(ServerRef::LeaderOf(c)));
            }
            self.pos = start;
        }
        Ok(self.server_name_opt().map(ServerRef::Named))
    }

    fn server_ref(&mut self) -> R<ServerRef> {
        match self.server_ref_opt()? {
            Some(r) => Ok(r),
            None => self.fail("a server (a1, or leader of a)"),
        }
    }

    fn refs(&mut self) -> R<Vec<ServerRef>> {
        let mut v = vec![self.server_ref()?];
        while let Some(r) = self.server_ref_opt()? {
            v.push(r);
        }
        Ok(v)
    }

    /// A decimal number up to `max`, or nothing.
    #[inline(never)]
    fn number_opt(&mut self, max: u64) -> Option<u64> {
        let start = self.pos;
        self.ws();
        match self.take(|b| b.is_ascii_digit()).parse::<u64>() {
            Ok(n) if n <= max => Some(n),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    fn number(&mut self, max: u64, what: &'static str) -> R<u64> {
        match self.number_opt(max) {
            Some(n) => Ok(n),
            None => self.fail(what),
        }
    }

    fn u8(&mut self, what: &'static str) -> R<u8> {
        self.number(u8::MAX.into(), what).map(|n| n as u8)
    }

    fn u32(&mut self, what: &'static str) -> R<u32> {
        self.number(u32::MAX.into(), what).map(|n| n as u32)
    }

    /// `500ms` or `2s`, or nothing.
    #[inline(never)]
    fn millis_opt(&mut self) -> Option<Millis> {
        let start = self.pos;
        self.ws();
        let n = self.take(|b| b.is_ascii_digit()).parse::<u64>().ok();
        let unit = if self.rest().starts_with("ms") {
            self.pos += 2;
            1
        } else if self.rest().starts_with('s') {
            self.pos += 1;
            1000
        } else {
            0
        };
        match n.and_then(|n| n.checked_mul(unit)) {
            Some(ms) if unit != 0 && self.at_word_end() => Some(Millis(ms)),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    fn millis_or(&mut self, what: &'static str) -> R<Millis> {
        match self.millis_opt() {
            Some(m) => Ok(m),
            None => self.fail(what),
        }
    }

    fn millis(&mut self) -> R<Millis> {
        self.millis_or("a duration like 500ms or 2s")
    }

    #[inline(never)]
    fn percent(&mut self) -> R<Percent> {
        let start = self.pos;
        self.ws();
        let read = |c: &mut Self| -> Option<Percent> {
            let whole = c.take(|b| b.is_ascii_digit());
            if whole.is_empty() {
                return None;
            }
            let mut frac = 0;
            if c.rest().starts_with('.') && c.rest().as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
                c.pos += 1;
                let f = &c.s[c.pos..c.pos + c.rest().bytes().take(2).take_while(u8::is_ascii_digit).count()];
                c.pos += f.len();
                frac = f.parse::<u32>().ok()? * if f.len() == 1 { 10 } else { 1 };
            }
            if !c.rest().starts_with('%') {
                return None;
            }
            c.pos += 1;
            let bp = whole.parse::<u32>().ok()?.checked_mul(100)?.checked_add(frac)?;
            (bp <= 10_000).then_some(Percent(bp as u16))
        };
        match read(self) {
            Some(p) => Ok(p),
            None => self.fail_at(start, "a percentage from 0% to 100%, like 5% or 0.5%"),
        }
    }

    /// `0x` and hex digits, as a u64.
    #[inline(never)]
    fn hex(&mut self, what: &'static str) -> R<u64> {
        self.ws();
        let start = self.pos;
        if self.rest().starts_with("0x") {
            self.pos += 2;
            if let Ok(n) = u64::from_str_radix(self.take(|b| b.is_ascii_hexdigit()), 16) {
                return Ok(n);
            }
        }
        self.fail_at(start, what)
    }

    /// A `"quoted string"` with escapes; `None` (nothing read) if no quote starts here.
    #[inline(never)]
    fn str_lit_opt(&mut self) -> R<Option<String>> {
        let start = self.pos;
        self.ws();
        if self.peek_byte() != Some(b'"') {
            self.pos = start;
            return Ok(None);
        }
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(Fail { at: self.pos, what: "a closing \"", lit: false });
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(Some(s)),
                '\\' => s.push(self.escape()?),
                c => s.push(c),
            }
        }
    }

    /// After a backslash.
    fn escape(&mut self) -> R<char> {
        let at = self.pos;
        let c = match self.peek_byte() {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'n') => Some('\n'),
            Some(b't') => Some('\t'),
            Some(b'r') => Some('\r'),
            _ => None,
        };
        if let Some(c) = c {
            self.pos += 1;
            return Ok(c);
        }
        if self.rest().starts_with("u{") {
            self.pos += 2;
            let h = self.take(|b| b.is_ascii_hexdigit());
            if self.peek_byte() == Some(b'}') {
                if let Some(c) = u32::from_str_radix(h, 16).ok().and_then(char::from_u32) {
                    self.pos += 1;
                    return Ok(c);
                }
            }
        }
        Err(Fail { at, what: "an escape: \\\" \\\\ \\n \\t \\r or \\u{hex}", lit: false })
    }

    /// A value: a string literal or a bare word (no whitespace, no quote).
    fn value(&mut self) -> R<String> {
        if let Some(s) = self.str_lit_opt()? {
            return Ok(s);
        }
        self.ws();
        let w = self.take_chars(|c| !c.is_whitespace() && c != '"');
        if w.is_empty() {
            return self.fail("a value (a word, or a \"quoted string\")");
        }
        Ok(w.to_string())
    }

    /// Data to compare with: the bare word `null` (null data), or a value (bytes:
    /// `"null"` quoted is the four bytes).
    fn data_value(&mut self) -> R<Value> {
        if let Some(s) = self.str_lit_opt()? {
            return Ok(Value::Text(s));
        }
        self.ws();
        let w = self.take_chars(|c| !c.is_whitespace() && c != '"');
        match w {
            "" => self.fail("data: null, a word, or a \"quoted string\""),
            "null" => Ok(Value::Null),
            _ => Ok(Value::Text(w.to_string())),
        }
    }

    /// A znode path (`/a/b`, or quoted); `None` (nothing read) if none starts here.
    #[inline(never)]
    fn path_opt(&mut self) -> R<Option<String>> {
        if let Some(s) = self.str_lit_opt()? {
            return Ok(Some(s));
        }
        let start = self.pos;
        self.ws();
        if self.peek_byte() != Some(b'/') {
            self.pos = start;
            return Ok(None);
        }
        Ok(Some(self.take_chars(|c| !c.is_whitespace() && c != '"').to_string()))
    }

    fn path_or(&mut self, what: &'static str) -> R<String> {
        match self.path_opt()? {
            Some(p) => Ok(p),
            None => self.fail(what),
        }
    }

    fn path(&mut self) -> R<String> {
        self.path_or("a znode path like /a/b")
    }
}

/// Network settings, or `None` (nothing read) if none start here.
fn net_settings_opt(c: &mut Cur) -> R<Option<NetSettings>> {
    let mut net = NetSettings::default();
    loop {
        let cp = c.pos;
        let Some(word) = c.ident_opt() else { break };
        match word {
            "latency" if net.latency.is_none() => {
                let lo = c.millis()?;
                let hi = if c.rest().starts_with("..") {
                    c.pos += 2;
                    c.millis()?
                } else {
                    lo
                };
                net.latency = Some((lo, hi));
            }
            "loss" if net.loss.is_none() => net.loss = Some(c.percent()?),
            "duplicate" if net.duplicate.is_none() => net.duplicate = Some(c.percent()?),
            "client" if net.client_latency.is_none() => {
                c.kw("latency")?;
                net.client_latency = Some(c.millis()?);
            }
            _ => {
                c.pos = cp;
                break;
            }
        }
    }
    Ok((!net.is_empty()).then_some(net))
}

fn net_settings(c: &mut Cur) -> R<NetSettings> {
    match net_settings_opt(c)? {
        Some(n) => Ok(n),
        None => c.fail("network settings: latency, loss, duplicate or client latency"),
    }
}

fn eat_spares(c: &mut Cur) -> bool {
    c.eat_kw("spares") || c.eat_kw("spare")
}

fn cluster_decl(c: &mut Cur) -> R<Cluster> {
    let name = c.cluster_name()?;
    c.kw("with")?;
    let servers = c.u8("a number of servers")?;
    if !c.eat_kw("servers") {
        c.kw("server")?;
    }
    let (mut observers, mut spares) = (0, 0);
    if c.eat_kw("and") {
        let n = c.u8("a number of observers or spares")?;
        if eat_spares(c) {
            spares = n;
        } else {
            observers = n;
            if !(c.eat_kw("observers") || c.eat_kw("observer") || eat_spares(c)) {
                return c.fail("observers or spares");
            }
            if c.eat_kw("and") {
                spares = c.u8("a number of spares")?;
                if !c.eat_kw("spares") {
                    c.kw("spare")?;
                }
            }
        }
    }
    let mut settings = ClusterSettings::default();
    while c.eat_sym(",") {
        let cp = c.pos;
        let s = &mut settings;
        match c.ident("tickTime, initLimit, syncLimit, snapCount or commitLogCount")? {
            "tickTime" if s.tick_time.is_none() => s.tick_time = Some(c.millis()?),
            "initLimit" if s.init_limit.is_none() => s.init_limit = Some(c.u32("a number of ticks")?),
            "syncLimit" if s.sync_limit.is_none() => s.sync_limit = Some(c.u32("a number of ticks")?),
            "snapCount" if s.snap_count.is_none() => s.snap_count = Some(c.u32("a number of transactions")?),
            "commitLogCount" if s.commit_log_count.is_none() => {
                s.commit_log_count = Some(c.u32("a number of proposals")?)
            }
            _ => {
                return c.fail_at(
                    cp,
                    "tickTime, initLimit, syncLimit, snapCount or commitLogCount (each at most once)",
                )
            }
        }
    }
    Ok(Cluster { name, servers, observers, spares, settings })
}

fn link_decl(c: &mut Cur, settings_required: bool) -> R<LinkDecl> {
    let a = c.cluster_name()?;
    c.sym("<->")?;
    let b = c.cluster_name()?;
    let net = if settings_required { net_settings(c)? } else { net_settings_opt(c)?.unwrap_or_default() };
    Ok(LinkDecl { a, b, net })
}

fn endpoint(c: &mut Cur) -> R<Endpoint> {
    if let Some(s) = c.server_name_opt() {
        return Ok(Endpoint::Server(s));
    }
    match c.cluster_name_opt() {
        Some(n) => Ok(Endpoint::Cluster(n)),
        None => c.fail("a server like a1 or a cluster like a"),
    }
}

fn client_decl(c: &mut Cur) -> R<ClientDecl> {
    let name = c.ident("a client name like c1")?.to_string();
    c.kw("connects")?;
    c.kw("to")?;
    let mut connect = vec![endpoint(c)?];
    while c.eat_sym(",") {
        connect.push(endpoint(c)?);
    }
    Ok(ClientDecl { name, connect })
}

/// The subject of a predicate, before its verb says what kind of thing it must be.
enum Subject {
    Leader(String),
    Word(String),
    Op(String, u32),
}

const PREDICATES: &str =
    "a predicate: a has a leader, a1 is leading, a1 has /x, c1 succeeded, invariants hold, …";

fn subject(c: &mut Cur) -> R<Subject> {
    let start = c.pos;
    if c.eat_kw("leader") {
        if c.eat_kw("of") {
            return Ok(Subject::Leader(c.cluster_name().map_err(|f| f.ctx(PREDICATES))?));
        }
        c.pos = start;
    }
    let w = c.ident(PREDICATES)?.to_string();
    if c.peek_byte() == Some(b'#') {
        c.pos += 1;
        let n = c.u32("an operation number like 2").map_err(|f| f.ctx(PREDICATES))?;
        return Ok(Subject::Op(w, n));
    }
    Ok(Subject::Word(w))
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

fn predicate(c: &mut Cur) -> R<Predicate> {
    let mut nots = 0;
    while c.eat_kw("not") {
        nots += 1;
        if nots > MAX_NOTS {
            return c.fail("at most 8 `not` in a row");
        }
    }
    let mut p = plain_predicate(c)?;
    for _ in 0..nots {
        p = Predicate::Not(Box::new(p));
    }
    Ok(p)
}

/// After `history`: `[of CLUSTER] is linearizable` or `[of CLUSTER] violates RULE`.
fn history_predicate(c: &mut Cur) -> R<Predicate> {
    let cluster = if c.eat_kw("of") { Some(c.cluster_name()?) } else { None };
    if c.eat_kw("is") {
        c.kw("linearizable")?;
        return Ok(Predicate::History { cluster, violates: None });
    }
    c.kw("violates").map_err(|f| f.ctx("`is linearizable` or `violates RULE`"))?;
    c.ws();
    let at = c.pos;
    let word = c.take(|b| b.is_ascii_alphanumeric() || b == b'-');
    match crate::checker::Rule::from_slug(word) {
        Some(rule) => Ok(Predicate::History { cluster, violates: Some(rule) }),
        None => c.fail_at(at, RULES_EXPECTED),
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

const A_SERVER: &str = "a server like a1 or leader of a";

fn as_server(c: &mut Cur, at: usize, s: &Subject) -> R<ServerRef> {
    match s {
        Subject::Leader(l) => Ok(ServerRef::LeaderOf(l.clone())),
        Subject::Word(w) => match split_server(w) {
            Some(n) => Ok(ServerRef::Named(n)),
            None => c.fail_at(at, A_SERVER),
        },
        Subject::Op(..) => c.fail_at(at, A_SERVER),
    }
}

fn as_target(c: &mut Cur, at: usize, s: &Subject) -> R<Target> {
    match s {
        Subject::Word(w) if is_cluster_word(w) => Ok(Target::Cluster(w.clone())),
        _ => as_server(c, at, s).map(Target::Server),
    }
}

fn as_op(c: &mut Cur, at: usize, s: &Subject) -> R<OpRef> {
    match s {
        Subject::Word(w) => Ok(OpRef { client: w.clone(), nth: None }),
        Subject::Op(w, n) => Ok(OpRef { client: w.clone(), nth: Some(*n) }),
        Subject::Leader(_) => c.fail_at(at, "a client like c1 or c1#2"),
    }
}

const VERBS: &str = "has, is, succeeded, failed or returned";

fn plain_predicate(c: &mut Cur) -> R<Predicate> {
    if c.eat_kw("migration") {
        return Ok(Predicate::Migration(migrate::predicate(c)?));
    }
    if c.eat_kw("invariants") {
        c.kw("hold")?;
        return Ok(Predicate::InvariantsHold);
    }
    if c.eat_kw("trace") {
        c.kw("contains")?;
        return Ok(Predicate::TraceContains(c.value()?));
    }
    if c.eat_kw("history") {
        return history_predicate(c);
    }
    c.ws();
    let at = c.pos;
    let subj = subject(c)?;
    let Some(verb) = c.ident_opt() else { return c.fail(VERBS) };
    match verb {
        "has" => has_predicate(c, at, &subj),
        "is" => {
            if c.eat_kw("pending") {
                return Ok(Predicate::Pending(as_op(c, at, &subj)?));
            }
            if c.eat_kw("connected") {
                return match &subj {
                    Subject::Word(w) => Ok(Predicate::Connected(w.clone())),
                    _ => c.fail_at(at, "a client like c1"),
                };
            }
            c.ws();
            let state_at = c.pos;
            let w = c.take(word_byte);
            let Some(state) = ServerState::ALL.into_iter().find(|s| s.word() == w) else {
                return c
                    .fail_at(state_at, "leading, following, looking, observing, down, paused or pending");
            };
            let server = as_server(c, at, &subj)?;
            let epoch = if c.eat_kw("in") {
                c.kw("epoch")?;
                Some(c.u32("an epoch number")?)
            } else {
                None
            };
            Ok(Predicate::Is { server, state, epoch })
        }
        "succeeded" => Ok(Predicate::Succeeded(as_op(c, at, &subj)?)),
        "failed" => {
            let op = as_op(c, at, &subj)?;
            let code = if c.eat_kw("with") {
                c.ws();
                let code = c.take(|b| b.is_ascii_uppercase() || b == b'_');
                if code.is_empty() {
                    return c.fail("an error name like NODEEXISTS");
                }
                Some(code.to_string())
            } else {
                None
            };
            Ok(Predicate::Failed { op, code })
        }
        "saw" => {
            let Subject::Word(client) = &subj else { return c.fail_at(at, "a client like c1") };
            c.ws();
            let event = c.take(|b| b.is_ascii_alphabetic());
            if event.is_empty() {
                return c.fail("an event like NodeDataChanged or Expired");
            }
            let path = c.path_opt()?;
            let times = match c.number_opt(u32::MAX.into()) {
                Some(n) => {
                    c.kw("times")?;
                    Some(n as u32)
                }
                None => None,
            };
            Ok(Predicate::Saw { client: client.clone(), event: event.to_string(), path, times })
        }
        "returned" => {
            let op = as_op(c, at, &subj)?;
            Ok(Predicate::Returned { op, value: c.data_value()? })
        }
        _ => {
            c.pos -= verb.len();
            c.fail(VERBS)
        }
    }
}

/// After `has`.
fn has_predicate(c: &mut Cur, at: usize, subj: &Subject) -> R<Predicate> {
    let negated = c.eat_kw("no");
    if negated && c.eat_kw("leader") {
        return match subj {
            Subject::Word(w) if is_cluster_word(w) => {
                Ok(Predicate::Not(Box::new(Predicate::HasLeader(w.clone()))))
            }
            _ => c.fail_at(at, "a cluster like a"),
        };
    }
    if !negated {
        let cp = c.pos;
        if c.eat_kw("a") {
            if c.eat_kw("leader") {
                return match subj {
                    Subject::Word(w) if is_cluster_word(w) => Ok(Predicate::HasLeader(w.clone())),
                    _ => c.fail_at(at, "a cluster like a"),
                };
            }
            c.pos = cp;
        }
        if c.eat_kw("committed") {
            let target = as_target(c, at, subj)?;
            let zxid = c.hex("a zxid like 0x100000002")?;
            return Ok(Predicate::HasCommitted { target, zxid });
        }
        if c.eat_kw("voters") {
            let target = as_target(c, at, subj)?;
            let mut voters = vec![c.server_name()?];
            while let Some(v) = c.server_name_opt() {
                voters.push(v);
            }
            return Ok(Predicate::HasVoters { target, voters });
        }
        if c.eat_kw("config") {
            let target = as_target(c, at, subj)?;
            c.kw("version")?;
            let version = c.hex("a config version like 0x100000003")?;
            return Ok(Predicate::HasConfigVersion { target, version });
        }
    }
    let target = as_target(c, at, subj)?;
    let what = if negated {
        "leader or a znode path"
    } else {
        "a leader, committed, voters, config, or a znode path"
    };
    let path = c.path_or(what)?;
    if negated {
        return Ok(Predicate::Not(Box::new(Predicate::HasNode { target, path, data: None })));
    }
    let data = if c.eat_sym("=") { Some(c.data_value()?) } else { None };
    Ok(Predicate::HasNode { target, path, data })
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

fn one(c: &mut Cur, w: &'static str) -> R<ServerRef> {
    c.kw(w)?;
    c.server_ref()
}

fn action(c: &mut Cur) -> R<Action> {
    c.ws();
    let Some(word) = c.peek_ident() else { return c.fail(STATEMENTS) };
    Ok(match word {
        "kill" => Action::Kill(one(c, "kill")?),
        "crash" => Action::Kill(one(c, "crash")?),
        "restart" => Action::Restart(one(c, "restart")?),
        "pause" => {
            let s = one(c, "pause")?;
            c.kw("for")?;
            Action::Pause(s, c.millis()?)
        }
        "isolate" => Action::Isolate(one(c, "isolate")?),
        "deliver" => {
            let from = one(c, "deliver")?;
            c.sym("->")?;
            let to = c.server_ref()?;
            c.ws();
            let at = c.pos;
            let kind = c.take(|b| b.is_ascii_uppercase());
            if kind.is_empty() {
                Action::Deliver { from, to, kind: None }
            } else if MESSAGE_KINDS.contains(&kind) {
                Action::Deliver { from, to, kind: Some(kind.to_string()) }
            } else {
                return c.fail_at(at, MESSAGE_KINDS_EXPECTED);
            }
        }
        "migrate" => Action::Migration(migrate::start(c)?),
        "migration" => Action::Migration(migrate::control(c)?),
        "disconnect" => {
            c.kw("disconnect")?;
            Action::Disconnect(c.ident("a name")?.to_string())
        }
        "reconnect" => {
            c.kw("reconnect")?;
            Action::Reconnect(c.ident("a name")?.to_string())
        }
        "heal" => {
            c.kw("heal")?;
            Action::Heal(c.server_ref_opt()?)
        }
        "partition" => {
            c.kw("partition")?;
            let first = c.refs()?;
            if c.eat_sym("->") {
                Action::Cut { from: first, to: c.refs()? }
            } else {
                let mut groups = vec![first];
                c.sym("|").map_err(|f| f.ctx("| between groups, or -> for a one-way cut"))?;
                groups.push(c.refs()?);
                while c.eat_sym("|") {
                    groups.push(c.refs()?);
                }
                Action::Partition(groups)
            }
        }
        "change" => {
            c.kw("change")?;
            if c.eat_kw("network") {
                Action::Network(net_settings(c)?)
            } else if c.eat_kw("link") {
                let at = c.pos;
                match c.server_ref_opt()? {
                    Some(from) => {
                        let both_ways = if c.eat_sym("<->") {
                            true
                        } else {
                            c.sym("->")?;
                            false
                        };
                        let to = c.server_ref()?;
                        let net = if c.eat_kw("default") {
                            None
                        } else {
                            Some(net_settings(c).map_err(|f| f.ctx("network settings, or default"))?)
                        };
                        Action::ServerLink { from, to, both_ways, net }
                    }
                    None => {
                        c.pos = at;
                        Action::Link(link_decl(c, true)?)
                    }
                }
            } else {
                return c.fail("network or link");
            }
        }
        "run" => {
            c.kw("run")?;
            if c.eat_kw("until") {
                let condition = predicate(c)?;
                let within = if c.eat_kw("within") { Some(c.millis()?) } else { None };
                Action::RunUntil { condition, within }
            } else {
                c.eat_kw("for");
                Action::Run(c.millis_or("until, or a duration like 500ms")?)
            }
        }
        "step" => {
            c.kw("step")?;
            Action::Step(c.number_opt(u64::MAX).unwrap_or(1))
        }
        "at" => {
            c.kw("at")?;
            let time = c.millis()?;
            c.sym(":")?;
            c.ws();
            let at = c.pos;
            if c.eat_kw("at") {
                return c.fail_at(at, "an action (not another at)");
            }
            let inner = action(c)?;
            Action::At { time, action: Box::new(inner) }
        }
        "expect" => {
            c.kw("expect")?;
            Action::Expect(predicate(c)?)
        }
        _ => return c.fail(STATEMENTS),
    })
}

fn statement(c: &mut Cur) -> R<Stmt> {
    c.ws();
    let start = c.pos;
    // `NAME: zkCli command` first, so that any name can be a client's.
    if let Some(name) = c.ident_opt() {
        if c.eat_sym(":") {
            c.ws();
            return Ok(Stmt::ClientCommand(name.to_string(), c.pos));
        }
    }
    c.pos = start;
    let Some(word) = c.peek_ident() else { return c.fail(STATEMENTS) };
    Ok(match word {
        "scenario" => {
            c.kw("scenario")?;
            match c.str_lit_opt() {
                Ok(Some(t)) => Stmt::Title(t),
                Ok(None) => return c.fail("a \"quoted title\""),
                Err(f) => return Err(f.ctx("a \"quoted title\"")),
            }
        }
        "seed" => {
            c.kw("seed")?;
            Stmt::Seed(c.number(u64::MAX, "a seed (a number)")?)
        }
        "network" => {
            c.kw("network")?;
            Stmt::Network(net_settings(c)?)
        }
        "bug" => {
            c.kw("bug")?;
            Stmt::Bug(bug_name(c)?)
        }
        "cluster" => {
            c.kw("cluster")?;
            Stmt::Cluster(cluster_decl(c)?)
        }
        "link" => {
            c.kw("link")?;
            Stmt::Link(link_decl(c, false)?)
        }
        "client" => {
            c.kw("client")?;
            Stmt::Client(client_decl(c)?)
        }
        _ => Stmt::Step(action(c)?),
    })
}

/// The deliberate bugs' names.
const BUGS: [(&str, Bug); 7] = [
    ("commit-without-quorum", Bug::CommitWithoutQuorum),
    ("skip-trunc", Bug::SkipTrunc),
    ("elect-by-id", Bug::ElectById),
    ("migration-skips-final-sync", Bug::MigrationSkipsFinalSync),
    ("migration-cuts-over-before-verify", Bug::MigrationCutsOverBeforeVerify),
    ("migration-no-zxid-raise", Bug::MigrationNoZxidRaise),
    ("migration-ephemerals-as-persistent", Bug::MigrationEphemeralsAsPersistent),
];

/// A deliberate bug's name.
fn bug_name(c: &mut Cur) -> R<Bug> {
    match BUGS.iter().find(|(w, _)| c.eat_kw(w)) {
        Some(&(_, b)) => Ok(b),
        None => c.fail(
            "a bug: commit-without-quorum, skip-trunc, elect-by-id, migration-skips-final-sync, \
             migration-cuts-over-before-verify, migration-no-zxid-raise or migration-ephemerals-as-persistent",
        ),
    }
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

/// Parses one line; on success returns the statement and, for a client command, where
/// the command starts.
fn parse_line(line: &str) -> Result<Stmt, (usize, String)> {
    let mut c = Cur::new(line);
    match statement(&mut c) {
        Ok(stmt @ Stmt::ClientCommand(..)) => Ok(stmt),
        Ok(stmt) => end_of_line(&mut c).map(|()| stmt),
        Err(f) => Err(failure(line, f)),
    }
}

/// Where a failure is reported (after blanks) and its message.
fn failure(line: &str, mut f: Fail) -> (usize, String) {
    let mut c = Cur { s: line, pos: f.at.min(line.len()) };
    c.ws();
    f.at = c.pos;
    (f.at, f.message(line))
}

fn end_of_line(c: &mut Cur) -> Result<(), (usize, String)> {
    c.ws();
    if c.pos == c.s.len() {
        Ok(())
    } else {
        Err((c.pos, format!("expected end of line, found {}", found_at(c.rest()))))
    }
}

/// Reads one predicate (an exercise's goal, a console's `expect`), checked against the
/// names of `scenario`. Errors are on line 1.
pub fn parse_predicate(scenario: &Scenario, text: &str) -> Result<Predicate, ParseError> {
    let err = |at: usize, message: String| ParseError { line: 1, column: column_of(text, at), message };
    if text.len() > zkcli::MAX_LINE_BYTES || text.contains('\n') {
        return Err(err(0, "a predicate is one line".into()));
    }
    let mut c = Cur::new(text);
    let p = predicate(&mut c).map_err(|f| failure(text, f)).and_then(|p| end_of_line(&mut c).map(|()| p));
    let p = p.map_err(|(at, m)| err(at, m))?;
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
