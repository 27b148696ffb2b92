//! zkCli's command language, as Apache ZooKeeper 3.8's `zkCli.sh` accepts it.
//!
//! The browser console, the scenario language (`c1: create -e /lock/n- x`) and the
//! headless runner all read client commands in this syntax, so a line copied from a
//! real zkCli session works here and the other way round.
//!
//! **Tokens.** As `ZooKeeperMain` splits a line: on ASCII whitespace, where a token that
//! starts with `"` runs to the next `"` and one that starts with `'` runs to the next `'`
//! (the quotes are removed; there are no escapes). One deliberate difference: an
//! unterminated quote is an error here, where zkCli silently drops the quote.
//!
//! **Options.** As Apache Commons CLI's POSIX parser reads them: options may stand
//! before, between or after the arguments, boolean options may be bundled (`-es`), an
//! option's value may be glued to it (`-v3`) or follow it (`-v 3`).
//!
//! **Commands.** Those that act on a session's view of the tree (create, set, get, ls,
//! stat, delete, deleteall, sync, addWatch, removewatches, getAcl, setAcl,
//! getAllChildrenNumber, getEphemerals, config, reconfig, addauth, whoami), plus one
//! zoolab extension, `multi`, whose operations are separated by a lone `;`
//! (`multi create /a 1 ; set /b 2 ; check -v 3 /c ; delete /d`). Shell commands that do
//! not touch ZooKeeper (history, redo, quit, connect, printwatches, quotas, …) are not
//! part of the language.
//!
//! [`ZkCommand`]'s `Display` prints the canonical form (options first, in the order of
//! zkCli's usage strings), and `parse(&cmd.to_string()) == Ok(cmd)`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest command line accepted, in bytes (zkCli reads lines of any length; a
/// console line or a scenario line this long is a mistake, not a command).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The largest TTL ZooKeeper accepts, in milliseconds (`EphemeralType.TTL`'s 40 bits).
pub const MAX_TTL_MS: i64 = 0xFF_FFFF_FFFF;

/// How `create` makes its znode: ZooKeeper's `CreateMode`, with the TTL where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateMode {
    /// A plain znode (no flag).
    Persistent,
    /// `-s`: the name gets the parent's cversion as a ten-digit suffix.
    PersistentSequential,
    /// `-e`: deleted when the creating session ends.
    Ephemeral,
    /// `-e -s`.
    EphemeralSequential,
    /// `-c`: deleted by the server once its last child is gone.
    Container,
    /// `-t ttl`: deleted once unmodified and childless for `ttl` milliseconds.
    PersistentWithTtl(i64),
    /// `-s -t ttl`.
    PersistentSequentialWithTtl(i64),
}

impl CreateMode {
    /// The data tree's mode and the TTL (milliseconds) where the mode has one.
    pub fn tree_mode(self) -> (crate::tree::CreateMode, Option<i64>) {
        use crate::tree::CreateMode as T;
        match self {
            CreateMode::Persistent => (T::Persistent, None),
            CreateMode::PersistentSequential => (T::PersistentSequential, None),
            CreateMode::Ephemeral => (T::Ephemeral, None),
            CreateMode::EphemeralSequential => (T::EphemeralSequential, None),
            CreateMode::Container => (T::Container, None),
            CreateMode::PersistentWithTtl(t) => (T::PersistentWithTtl, Some(t)),
            CreateMode::PersistentSequentialWithTtl(t) => (T::PersistentSequentialWithTtl, Some(t)),
        }
    }
}

/// `addWatch -m`: the kind of persistent watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddWatchMode {
    /// Fires on changes to the node and its children list, and stays.
    Persistent,
    /// Fires on changes anywhere below the node, and stays (zkCli's default).
    PersistentRecursive,
}

/// `removewatches`: which watches to remove (`-c`, `-d`, `-p`, `-r`, or `-a`/none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatcherKind {
    /// `-c`: child watches.
    Children,
    /// `-d`: data watches.
    Data,
    /// `-p`: persistent watches.
    Persistent,
    /// `-r`: persistent recursive watches.
    PersistentRecursive,
    /// `-a` or nothing: every kind.
    Any,
}

/// One entry of an ACL as zkCli writes it: `scheme:id:perms`, e.g. `world:anyone:cdrwa`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// `world`, `digest`, `ip`, `auth`, `sasl`, `x509`, …
    pub scheme: String,
    /// The id within the scheme (may itself contain `:`, as digest ids do).
    pub id: String,
    /// The permissions.
    pub perms: Perms,
}

/// ACL permissions, as the letters `c d r w a` (create, delete, read, write, admin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perms {
    /// `c`
    pub create: bool,
    /// `d`
    pub delete: bool,
    /// `r`
    pub read: bool,
    /// `w`
    pub write: bool,
    /// `a`
    pub admin: bool,
}

impl Perms {
    /// ZooKeeper's bit mask (READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16).
    pub fn bits(self) -> i32 {
        i32::from(self.read)
            | i32::from(self.write) << 1
            | i32::from(self.create) << 2
            | i32::from(self.delete) << 3
            | i32::from(self.admin) << 4
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in
            [(self.create, 'c'), (self.delete, 'd'), (self.read, 'r'), (self.write, 'w'), (self.admin, 'a')]
        {
            if on {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme, self.id, self.perms)
    }
}

/// What `reconfig` changes: incremental (`-add`/`-remove`) or a new membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReconfigChange {
    /// `-add` and/or `-remove`: comma-separated server specs and server ids.
    Incremental {
        /// `-add server.4=host:2888:3888;2181,…` (as given, lowercased like zkCli does).
        add: Option<String>,
        /// `-remove 3,5`.
        remove: Option<String>,
    },
    /// `-members …`: the whole new membership.
    Members(String),
    /// `-file path`: the new membership read from a file (zkCli reads it client-side).
    File(String),
}

/// One operation of a `multi` (zoolab's extension; ZooKeeper's `Op` kinds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiOp {
    /// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`
    Create {
        /// The mode.
        mode: CreateMode,
        /// The path.
        path: String,
        /// The data, if any.
        data: Option<String>,
        /// The ACL, if not open.
        acl: Option<Vec<Acl>>,
    },
    /// `set [-v version] path data`
    Set {
        /// Expected version (`-1`: any).
        version: Option<i32>,
        /// The path.
        path: String,
        /// The data.
        data: String,
    },
    /// `delete [-v version] path`
    Delete {
        /// Expected version.
        version: Option<i32>,
        /// The path.
        path: String,
    },
    /// `check -v version path`
    Check {
        /// The version the node must have.
        version: i32,
        /// The path.
        path: String,
    },
}

/// A zkCli command, typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkCommand {
    /// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`
    Create {
        /// The mode (from `-s`, `-e`, `-c`, `-t`).
        mode: CreateMode,
        /// The path (for sequential nodes, the prefix).
        path: String,
        /// The data (zkCli sends none when it is left out).
        data: Option<String>,
        /// The ACL (open when left out).
        acl: Option<Vec<Acl>>,
    },
    /// `set [-s] [-v version] path data`
    Set {
        /// `-s`: print the new Stat.
        stat: bool,
        /// `-v`: expected version.
        version: Option<i32>,
        /// The path.
        path: String,
        /// The new data.
        data: String,
    },
    /// `get [-s] [-w] path`
    Get {
        /// `-s`: print the Stat too.
        stat: bool,
        /// `-w`: leave a data watch.
        watch: bool,
        /// The path.
        path: String,
    },
    /// `ls [-s] [-w] [-R] path`
    Ls {
        /// `-s`: print the Stat too.
        stat: bool,
        /// `-w`: leave a child watch.
        watch: bool,
        /// `-R`: the whole subtree.
        recursive: bool,
        /// The path.
        path: String,
    },
    /// `stat [-w] path`
    Stat {
        /// `-w`: leave an exists watch.
        watch: bool,
        /// The path.
        path: String,
    },
    /// `delete [-v version] path`
    Delete {
        /// `-v`: expected version.
        version: Option<i32>,
        /// The path.
        path: String,
    },
    /// `deleteall path [-b batch size]`
    DeleteAll {
        /// The root of the subtree to delete.
        path: String,
        /// `-b`: deletions per multi (zkCli's default 1000).
        batch: Option<u32>,
    },
    /// `sync path`
    Sync {
        /// The path.
        path: String,
    },
    /// `addWatch [-m mode] path`
    AddWatch {
        /// `-m` (default PERSISTENT_RECURSIVE).
        mode: AddWatchMode,
        /// The path.
        path: String,
    },
    /// `removewatches path [-c|-d|-p|-r|-a] [-l]`
    RemoveWatches {
        /// The path.
        path: String,
        /// Which watches.
        kind: WatcherKind,
        /// `-l`: remove locally even without a server connection.
        local: bool,
    },
    /// `getAcl [-s] path`
    GetAcl {
        /// `-s`: print the Stat too.
        stat: bool,
        /// The path.
        path: String,
    },
    /// `setAcl [-s] [-v version] [-R] path acl`
    SetAcl {
        /// `-s`: print the Stat.
        stat: bool,
        /// `-v`: expected ACL version.
        version: Option<i32>,
        /// `-R`: the whole subtree.
        recursive: bool,
        /// The path.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
    },
    /// `getAllChildrenNumber path`
    GetAllChildrenNumber {
        /// The path.
        path: String,
    },
    /// `getEphemerals [path]`
    GetEphemerals {
        /// The prefix (all of the session's ephemerals when left out).
        path: Option<String>,
    },
    /// `config [-c] [-w] [-s]`
    Config {
        /// `-c`: only the membership and version.
        compact: bool,
        /// `-w`: leave a watch on the config.
        watch: bool,
        /// `-s`: print the Stat too.
        stat: bool,
    },
    /// `reconfig [-s] [-v version] (-add … -remove … | -members … | -file …)`
    Reconfig {
        /// `-s`: print the Stat.
        stat: bool,
        /// `-v`: expected config version (hexadecimal, as zkCli reads it).
        version: Option<u64>,
        /// The change.
        change: ReconfigChange,
    },
    /// `addauth scheme auth`
    AddAuth {
        /// The scheme (`digest`, …).
        scheme: String,
        /// The credentials (`user:password` for digest).
        auth: String,
    },
    /// `whoami`
    WhoAmI,
    /// `multi op ; op ; …` (zoolab extension).
    Multi(Vec<MultiOp>),
}

/// Why a command line is not a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// Nothing but whitespace.
    #[error("empty command")]
    Empty,
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("command longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// A quote opened at this byte offset never closes.
    #[error("unterminated {quote} quote starting at column {column}")]
    UnterminatedQuote {
        /// The quote character.
        quote: char,
        /// 1-based column of the opening quote.
        column: usize,
    },
    /// Not a command of the language.
    #[error("unknown command `{0}`; expected one of: {COMMANDS}")]
    UnknownCommand(String),
    /// An option the command does not have.
    #[error("{command}: unknown option -{option}; usage: {usage}")]
    UnknownOption {
        /// The command.
        command: &'static str,
        /// The option.
        option: String,
        /// The command's usage.
        usage: &'static str,
    },
    /// An option that needs a value came last.
    #[error("{command}: option -{option} needs a value; usage: {usage}")]
    MissingOptionValue {
        /// The command.
        command: &'static str,
        /// The option.
        option: &'static str,
        /// The command's usage.
        usage: &'static str,
    },
    /// Too few or too many arguments.
    #[error("{command}: wrong arguments; usage: {command} {usage}")]
    Usage {
        /// The command.
        command: &'static str,
        /// The command's usage.
        usage: &'static str,
    },
    /// A value that does not fit (a version that is not a number, a TTL out of range, …).
    #[error("{command}: {message}")]
    BadValue {
        /// The command.
        command: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A path that ZooKeeper's `PathUtils.validatePath` refuses.
    #[error("invalid path `{path}`: {reason}")]
    BadPath {
        /// The path.
        path: String,
        /// ZooKeeper's reason.
        reason: &'static str,
    },
    /// An ACL that zkCli's `AclParser` cannot read.
    #[error("invalid ACL `{0}`: expected scheme:id:perms with perms from cdrwa")]
    BadAcl(String),
}

/// The commands of the language, for error messages and completion.
pub const COMMANDS: &str = "addauth, addWatch, config, create, delete, deleteall, get, getAcl, \
getAllChildrenNumber, getEphemerals, ls, multi, reconfig, removewatches, set, setAcl, stat, sync, whoami";

fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Splits a line into arguments as zkCli does (see the module docs).
pub fn tokenize(line: &str) -> Result<Vec<String>, CliError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(CliError::TooLong);
    }
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_java_space(c) {
            chars.next();
            continue;
        }
        if c == '"' || c == '\'' {
            chars.next();
            let mut tok = String::new();
            let mut closed = false;
            for (_, d) in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
                tok.push(d);
            }
            if !closed {
                let column = line[..start].chars().count() + 1;
                return Err(CliError::UnterminatedQuote { quote: c, column });
            }
            out.push(tok);
        } else {
            let mut tok = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if is_java_space(d) {
                    break;
                }
                tok.push(d);
                chars.next();
            }
            out.push(tok);
        }
    }
    Ok(out)
}

/// Quotes an argument so that [`tokenize`] gives it back unchanged, if it can be.
///
/// zkCli has no escapes: an argument holding whitespace (or starting with a quote, or
/// empty) and both kinds of quote cannot be written; it comes back double-quoted, which
/// does not round-trip. [`is_writable`] tells these apart.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty() && !arg.starts_with(['"', '\'']) && !arg.chars().any(is_java_space);
    if plain {
        arg.to_string()
    } else if !arg.contains('"') {
        format!("\"{arg}\"")
    } else {
        format!("'{arg}'")
    }
}

/// Whether [`quote`] can write `arg` so that it reads back unchanged.
pub fn is_writable(arg: &str) -> bool {
    // An argument that starts with `-` reads as an option, quoted or not (in zkCli too).
    if arg.len() > 1 && arg.starts_with('-') {
        return false;
    }
    let plain = !arg.is_empty() && !arg.starts_with(['"', '\'']) && !arg.chars().any(is_java_space);
    plain || !arg.contains('"') || !arg.contains('\'')
}

/// Checks a path as ZooKeeper's `PathUtils.validatePath` does (`sequential`: a create
/// with `-s`, whose path may end in `/`).
pub fn validate_path(path: &str, sequential: bool) -> Result<(), CliError> {
    let bad = |reason| Err(CliError::BadPath { path: path.to_string(), reason });
    if path.is_empty() {
        return bad("path length must be > 0");
    }
    if !path.starts_with('/') {
        return bad("path must start with / character");
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') && !sequential {
        return bad("path must not end with / character");
    }
    let checked = if sequential { format!("{path}1") } else { path.to_string() };
    for segment in checked[1..].split('/') {
        if segment.is_empty() {
            return bad("empty node name specified");
        }
        if segment == "." || segment == ".." {
            return bad("relative paths not allowed");
        }
    }
    for c in checked.chars() {
        let bad_char = c == '\0'
            || ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c);
        if bad_char {
            return bad("invalid character");
        }
    }
    Ok(())
}

/// Parses an ACL list as zkCli's `AclParser` does: `scheme:id:perms[,…]`, where the id
/// is everything between the first and the last `:`.
pub fn parse_acl(text: &str) -> Result<Vec<Acl>, CliError> {
    let mut acls = Vec::new();
    for entry in text.split(',') {
        let bad = || CliError::BadAcl(entry.to_string());
        let first = entry.find(':').ok_or_else(bad)?;
        let last = entry.rfind(':').ok_or_else(bad)?;
        if first == last || first == 0 {
            return Err(bad());
        }
        let mut perms = Perms::default();
        for c in entry[last + 1..].chars() {
            match c {
                'c' => perms.create = true,
                'd' => perms.delete = true,
                'r' => perms.read = true,
                'w' => perms.write = true,
                'a' => perms.admin = true,
                _ => return Err(bad()),
            }
        }
        acls.push(Acl { scheme: entry[..first].to_string(), id: entry[first + 1..last].to_string(), perms });
    }
    Ok(acls)
}

fn acl_text(acl: &[Acl]) -> String {
    acl.iter().map(Acl::to_string).collect::<Vec<_>>().join(",")
}

/// A command's option table: (name, takes a value).
type OptSpec = &'static [(&'static str, bool)];

/// Options and positional arguments of one command, read POSIX-style.
struct Args {
    command: &'static str,
    usage: &'static str,
    opts: Vec<(&'static str, Option<String>)>,
    pos: Vec<String>,
}

impl Args {
    fn read(
        command: &'static str,
        usage: &'static str,
        spec: OptSpec,
        toks: &[String],
    ) -> Result<Args, CliError> {
        let mut args = Args { command, usage, opts: Vec::new(), pos: Vec::new() };
        let mut i = 0;
        while i < toks.len() {
            let tok = &toks[i];
            i += 1;
            let Some(body) = tok.strip_prefix('-').filter(|b| !b.is_empty()) else {
                args.pos.push(tok.clone());
                continue;
            };
            // A whole-word option (reconfig's -members, -add, …) first.
            if let Some(&(name, takes)) = spec.iter().find(|(n, _)| *n == body && n.len() > 1) {
                let value = if takes {
                    let v = toks.get(i).cloned().ok_or(CliError::MissingOptionValue {
                        command,
                        option: name,
                        usage,
                    })?;
                    i += 1;
                    Some(v)
                } else {
                    None
                };
                args.opts.push((name, value));
                continue;
            }
            // Bundled single-letter options; a value may be glued on.
            let mut rest = body;
            while let Some(c) = rest.chars().next() {
                let letter = &rest[..c.len_utf8()];
                rest = &rest[c.len_utf8()..];
                let Some(&(name, takes)) = spec.iter().find(|(n, _)| *n == letter) else {
                    return Err(CliError::UnknownOption { command, option: letter.to_string(), usage });
                };
                if takes {
                    let value = if rest.is_empty() {
                        let v = toks.get(i).cloned().ok_or(CliError::MissingOptionValue {
                            command,
                            option: name,
                            usage,
                        })?;
                        i += 1;
                        v
                    } else {
                        std::mem::take(&mut rest).to_string()
                    };
                    args.opts.push((name, Some(value)));
                    break;
                }
                args.opts.push((name, None));
            }
        }
        Ok(args)
    }

    fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.opts.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_deref())
    }

    fn usage_err(&self) -> CliError {
        CliError::Usage { command: self.command, usage: self.usage }
    }

    fn bad(&self, message: impl Into<String>) -> CliError {
        CliError::BadValue { command: self.command, message: message.into() }
    }

    /// Exactly `min..=max` positional arguments.
    fn positional(&self, min: usize, max: usize) -> Result<&[String], CliError> {
        if self.pos.len() < min || self.pos.len() > max {
            return Err(self.usage_err());
        }
        Ok(&self.pos)
    }

    fn version(&self) -> Result<Option<i32>, CliError> {
        self.value("v")
            .map(|v| v.parse::<i32>().map_err(|_| self.bad(format!("version `{v}` is not an int"))))
            .transpose()
    }
}

fn path_arg(p: &str, sequential: bool) -> Result<String, CliError> {
    validate_path(p, sequential)?;
    Ok(p.to_string())
}

const CREATE_USAGE: &str = "[-s] [-e] [-c] [-t ttl] path [data] [acl]";
const CREATE_OPTS: OptSpec = &[("s", false), ("e", false), ("c", false), ("t", true)];

/// `create`'s mode, path, data and ACL.
type CreateParts = (CreateMode, String, Option<String>, Option<Vec<Acl>>);

fn create_parts(a: &Args) -> Result<CreateParts, CliError> {
    let pos = a.positional(1, 3)?;
    let (e, s, c) = (a.has("e"), a.has("s"), a.has("c"));
    if c && (e || s) {
        return Err(
            a.bad("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
        );
    }
    let ttl = match a.value("t") {
        None => None,
        Some(t) => {
            let ttl = t.parse::<i64>().map_err(|_| a.bad("-t argument must be a long value"))?;
            if e {
                return Err(a.bad("TTLs cannot be used with Ephemeral znodes"));
            }
            if c {
                return Err(a.bad("TTLs cannot be used with Container znodes"));
            }
            if ttl <= 0 || ttl > MAX_TTL_MS {
                return Err(a.bad(format!("ttl must be positive and cannot be larger than: {MAX_TTL_MS}")));
            }
            Some(ttl)
        }
    };
    let mode = match (e, s, c, ttl) {
        (true, true, _, _) => CreateMode::EphemeralSequential,
        (true, false, _, _) => CreateMode::Ephemeral,
        (false, true, _, Some(t)) => CreateMode::PersistentSequentialWithTtl(t),
        (false, true, _, None) => CreateMode::PersistentSequential,
        (false, false, true, _) => CreateMode::Container,
        (false, false, false, Some(t)) => CreateMode::PersistentWithTtl(t),
        (false, false, false, None) => CreateMode::Persistent,
    };
    let path = path_arg(&pos[0], s)?;
    let data = pos.get(1).cloned();
    let acl = pos.get(2).map(|t| parse_acl(t)).transpose()?;
    Ok((mode, path, data, acl))
}

/// Parses one zkCli command line.
pub fn parse(line: &str) -> Result<ZkCommand, CliError> {
    let toks = tokenize(line)?;
    let Some((name, rest)) = toks.split_first() else { return Err(CliError::Empty) };
    parse_tokens(name, rest)
}

fn parse_tokens(name: &str, rest: &[String]) -> Result<ZkCommand, CliError> {
    let read = |command, usage, spec| Args::read(command, usage, spec, rest);
    Ok(match name {
        "create" => {
            let a = read("create", CREATE_USAGE, CREATE_OPTS)?;
            let (mode, path, data, acl) = create_parts(&a)?;
            ZkCommand::Create { mode, path, data, acl }
        }
        "set" => {
            let a = read("set", "[-s] [-v version] path data", &[("s", false), ("v", true)])?;
            let pos = a.positional(2, 2)?;
            ZkCommand::Set {
                stat: a.has("s"),
                version: a.version()?,
                path: path_arg(&pos[0], false)?,
                data: pos[1].clone(),
            }
        }
        "get" => {
            let a = read("get", "[-s] [-w] path", &[("s", false), ("w", false)])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::Get { stat: a.has("s"), watch: a.has("w"), path: path_arg(&pos[0], false)? }
        }
        "ls" => {
            let a = read("ls", "[-s] [-w] [-R] path", &[("s", false), ("w", false), ("R", false)])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::Ls {
                stat: a.has("s"),
                watch: a.has("w"),
                recursive: a.has("R"),
                path: path_arg(&pos[0], false)?,
            }
        }
        "stat" => {
            let a = read("stat", "[-w] path", &[("w", false)])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::Stat { watch: a.has("w"), path: path_arg(&pos[0], false)? }
        }
        "delete" => {
            let a = read("delete", "[-v version] path", &[("v", true)])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::Delete { version: a.version()?, path: path_arg(&pos[0], false)? }
        }
        // `rmr` is zkCli's deprecated name of deleteall.
        "deleteall" | "rmr" => {
            let a = read("deleteall", "path [-b batch size]", &[("b", true)])?;
            let pos = a.positional(1, 1)?;
            let batch = a
                .value("b")
                .map(|b| {
                    b.parse::<u32>()
                        .ok()
                        .filter(|&b| b > 0)
                        .ok_or_else(|| a.bad("-b argument must be a positive int value"))
                })
                .transpose()?;
            ZkCommand::DeleteAll { path: path_arg(&pos[0], false)?, batch }
        }
        "sync" => {
            let a = read("sync", "path", &[])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::Sync { path: path_arg(&pos[0], false)? }
        }
        "addWatch" => {
            let a = read("addWatch", "[-m mode] path", &[("m", true)])?;
            let pos = a.positional(1, 1)?;
            let mode = match a.value("m").map(str::to_ascii_uppercase).as_deref() {
                None | Some("PERSISTENT_RECURSIVE") => AddWatchMode::PersistentRecursive,
                Some("PERSISTENT") => AddWatchMode::Persistent,
                Some(_) => return Err(a.bad("mode must be PERSISTENT or PERSISTENT_RECURSIVE")),
            };
            ZkCommand::AddWatch { mode, path: path_arg(&pos[0], false)? }
        }
        "removewatches" => {
            let spec: OptSpec =
                &[("c", false), ("d", false), ("p", false), ("r", false), ("a", false), ("l", false)];
            let a = read("removewatches", "path [-c|-d|-p|-r|-a] [-l]", spec)?;
            let pos = a.positional(1, 1)?;
            // zkCli's precedence when several are given: -c, -d, -p, -r, -a.
            let kind = if a.has("c") {
                WatcherKind::Children
            } else if a.has("d") {
                WatcherKind::Data
            } else if a.has("p") {
                WatcherKind::Persistent
            } else if a.has("r") {
                WatcherKind::PersistentRecursive
            } else {
                WatcherKind::Any
            };
            ZkCommand::RemoveWatches { path: path_arg(&pos[0], false)?, kind, local: a.has("l") }
        }
        "getAcl" => {
            let a = read("getAcl", "[-s] path", &[("s", false)])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::GetAcl { stat: a.has("s"), path: path_arg(&pos[0], false)? }
        }
        "setAcl" => {
            let a = read(
                "setAcl",
                "[-s] [-v version] [-R] path acl",
                &[("s", false), ("v", true), ("R", false)],
            )?;
            let pos = a.positional(2, 2)?;
            ZkCommand::SetAcl {
                stat: a.has("s"),
                version: a.version()?,
                recursive: a.has("R"),
                path: path_arg(&pos[0], false)?,
                acl: parse_acl(&pos[1])?,
            }
        }
        "getAllChildrenNumber" => {
            let a = read("getAllChildrenNumber", "path", &[])?;
            let pos = a.positional(1, 1)?;
            ZkCommand::GetAllChildrenNumber { path: path_arg(&pos[0], false)? }
        }
        "getEphemerals" => {
            let a = read("getEphemerals", "[path]", &[])?;
            let pos = a.positional(0, 1)?;
            ZkCommand::GetEphemerals { path: pos.first().map(|p| path_arg(p, false)).transpose()? }
        }
        "config" => {
            let a = read("config", "[-c] [-w] [-s]", &[("c", false), ("w", false), ("s", false)])?;
            a.positional(0, 0)?;
            ZkCommand::Config { compact: a.has("c"), watch: a.has("w"), stat: a.has("s") }
        }
        "reconfig" => {
            let usage =
                "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | \
                         [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]";
            let spec: OptSpec = &[
                ("s", false),
                ("v", true),
                ("file", true),
                ("members", true),
                ("add", true),
                ("remove", true),
            ];
            let a = read("reconfig", usage, spec)?;
            a.positional(0, 0)?;
            let version = a
                .value("v")
                .map(|v| {
                    u64::from_str_radix(v, 16)
                        .map_err(|_| a.bad("-v must be followed by a long (configuration version)"))
                })
                .transpose()?;
            let non_incremental = a.has("file") || a.has("members");
            let incremental = a.has("add") || a.has("remove");
            if non_incremental && incremental {
                return Err(a.bad(
                    "Can't use -file or -members together with -add or -remove (mixing incremental and \
                     non-incremental modes is not allowed)",
                ));
            }
            if a.has("file") && a.has("members") {
                return Err(
                    a.bad("Can't use -file and -members together (conflicting non-incremental modes)")
                );
            }
            let change = if let Some(m) = a.value("members") {
                ReconfigChange::Members(m.to_ascii_lowercase())
            } else if let Some(f) = a.value("file") {
                ReconfigChange::File(f.to_string())
            } else if incremental {
                ReconfigChange::Incremental {
                    add: a.value("add").map(str::to_ascii_lowercase),
                    remove: a.value("remove").map(str::to_ascii_lowercase),
                }
            } else {
                return Err(a.usage_err());
            };
            ZkCommand::Reconfig { stat: a.has("s"), version, change }
        }
        "addauth" => {
            let a = read("addauth", "scheme auth", &[])?;
            let pos = a.positional(2, 2)?;
            ZkCommand::AddAuth { scheme: pos[0].clone(), auth: pos[1].clone() }
        }
        "whoami" => {
            read("whoami", "", &[])?.positional(0, 0)?;
            ZkCommand::WhoAmI
        }
        "multi" => {
            let mut ops = Vec::new();
            for chunk in rest.split(|t| t == ";") {
                let Some((op, args)) = chunk.split_first() else {
                    return Err(CliError::Usage { command: "multi", usage: MULTI_USAGE });
                };
                ops.push(parse_multi_op(op, args)?);
            }
            ZkCommand::Multi(ops)
        }
        other => return Err(CliError::UnknownCommand(other.to_string())),
    })
}

const MULTI_USAGE: &str = "op ; op ; … where op is create, set, delete or check -v version path";

fn parse_multi_op(op: &str, rest: &[String]) -> Result<MultiOp, CliError> {
    let read = |command, usage, spec| Args::read(command, usage, spec, rest);
    Ok(match op {
        "create" => {
            let a = read("create", CREATE_USAGE, CREATE_OPTS)?;
            let (mode, path, data, acl) = create_parts(&a)?;
            MultiOp::Create { mode, path, data, acl }
        }
        "set" => {
            let a = read("set", "[-v version] path data", &[("v", true)])?;
            let pos = a.positional(2, 2)?;
            MultiOp::Set { version: a.version()?, path: path_arg(&pos[0], false)?, data: pos[1].clone() }
        }
        "delete" => {
            let a = read("delete", "[-v version] path", &[("v", true)])?;
            let pos = a.positional(1, 1)?;
            MultiOp::Delete { version: a.version()?, path: path_arg(&pos[0], false)? }
        }
        "check" => {
            let a = read("check", "-v version path", &[("v", true)])?;
            let pos = a.positional(1, 1)?;
            let version = a.version()?.ok_or_else(|| a.usage_err())?;
            MultiOp::Check { version, path: path_arg(&pos[0], false)? }
        }
        _ => return Err(CliError::Usage { command: "multi", usage: MULTI_USAGE }),
    })
}

/// Writes `create`'s flags, path, data and ACL.
fn write_create(
    f: &mut fmt::Formatter<'_>,
    mode: &CreateMode,
    path: &str,
    data: &Option<String>,
    acl: &Option<Vec<Acl>>,
) -> fmt::Result {
    f.write_str("create")?;
    match mode {
        CreateMode::Persistent => {}
        CreateMode::PersistentSequential => f.write_str(" -s")?,
        CreateMode::Ephemeral => f.write_str(" -e")?,
        CreateMode::EphemeralSequential => f.write_str(" -s -e")?,
        CreateMode::Container => f.write_str(" -c")?,
        CreateMode::PersistentWithTtl(t) => write!(f, " -t {t}")?,
        CreateMode::PersistentSequentialWithTtl(t) => write!(f, " -s -t {t}")?,
    }
    write!(f, " {}", quote(path))?;
    match (data, acl) {
        (None, None) => Ok(()),
        // zkCli cannot give an ACL without data: an empty data argument stands in.
        (None, Some(acl)) => write!(f, " \"\" {}", quote(&acl_text(acl))),
        (Some(d), None) => write!(f, " {}", quote(d)),
        (Some(d), Some(acl)) => write!(f, " {} {}", quote(d), quote(&acl_text(acl))),
    }
}

fn flag(f: &mut fmt::Formatter<'_>, on: bool, text: &str) -> fmt::Result {
    if on {
        write!(f, " {text}")?;
    }
    Ok(())
}

fn version_flag(f: &mut fmt::Formatter<'_>, v: Option<i32>) -> fmt::Result {
    if let Some(v) = v {
        write!(f, " -v {v}")?;
    }
    Ok(())
}

impl fmt::Display for MultiOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiOp::Create { mode, path, data, acl } => write_create(f, mode, path, data, acl),
            MultiOp::Set { version, path, data } => {
                f.write_str("set")?;
                version_flag(f, *version)?;
                write!(f, " {} {}", quote(path), quote(data))
            }
            MultiOp::Delete { version, path } => {
                f.write_str("delete")?;
                version_flag(f, *version)?;
                write!(f, " {}", quote(path))
            }
            MultiOp::Check { version, path } => write!(f, "check -v {version} {}", quote(path)),
        }
    }
}

impl fmt::Display for ZkCommand {
    /// The canonical zkCli line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkCommand::Create { mode, path, data, acl } => write_create(f, mode, path, data, acl),
            ZkCommand::Set { stat, version, path, data } => {
                f.write_str("set")?;
                flag(f, *stat, "-s")?;
                version_flag(f, *version)?;
                write!(f, " {} {}", quote(path), quote(data))
            }
            ZkCommand::Get { stat, watch, path } => {
                f.write_str("get")?;
                flag(f, *stat, "-s")?;
                flag(f, *watch, "-w")?;
                write!(f, " {}", quote(path))
            }
            ZkCommand::Ls { stat, watch, recursive, path } => {
                f.write_str("ls")?;
                flag(f, *stat, "-s")?;
                flag(f, *watch, "-w")?;
                flag(f, *recursive, "-R")?;
                write!(f, " {}", quote(path))
            }
            ZkCommand::Stat { watch, path } => {
                f.write_str("stat")?;
                flag(f, *watch, "-w")?;
                write!(f, " {}", quote(path))
            }
            ZkCommand::Delete { version, path } => {
                f.write_str("delete")?;
                version_flag(f, *version)?;
                write!(f, " {}", quote(path))
            }
            ZkCommand::DeleteAll { path, batch } => {
                write!(f, "deleteall {}", quote(path))?;
                if let Some(b) = batch {
                    write!(f, " -b {b}")?;
                }
                Ok(())
            }
            ZkCommand::Sync { path } => write!(f, "sync {}", quote(path)),
            ZkCommand::AddWatch { mode, path } => {
                f.write_str("addWatch")?;
                if *mode == AddWatchMode::Persistent {
                    f.write_str(" -m PERSISTENT")?;
                }
                write!(f, " {}", quote(path))
            }
            ZkCommand::RemoveWatches { path, kind, local } => {
                write!(f, "removewatches {}", quote(path))?;
                match kind {
                    WatcherKind::Children => f.write_str(" -c")?,
                    WatcherKind::Data => f.write_str(" -d")?,
                    WatcherKind::Persistent => f.write_str(" -p")?,
                    WatcherKind::PersistentRecursive => f.write_str(" -r")?,
                    WatcherKind::Any => {}
                }
                flag(f, *local, "-l")
            }
            ZkCommand::GetAcl { stat, path } => {
                f.write_str("getAcl")?;
                flag(f, *stat, "-s")?;
                write!(f, " {}", quote(path))
            }
            ZkCommand::SetAcl { stat, version, recursive, path, acl } => {
                f.write_str("setAcl")?;
                flag(f, *stat, "-s")?;
                version_flag(f, *version)?;
                flag(f, *recursive, "-R")?;
                write!(f, " {} {}", quote(path), quote(&acl_text(acl)))
            }
            ZkCommand::GetAllChildrenNumber { path } => write!(f, "getAllChildrenNumber {}", quote(path)),
            ZkCommand::GetEphemerals { path } => {
                f.write_str("getEphemerals")?;
                if let Some(p) = path {
                    write!(f, " {}", quote(p))?;
                }
                Ok(())
            }
            ZkCommand::Config { compact, watch, stat } => {
                f.write_str("config")?;
                flag(f, *compact, "-c")?;
                flag(f, *watch, "-w")?;
                flag(f, *stat, "-s")
            }
            ZkCommand::Reconfig { stat, version, change } => {
                f.write_str("reconfig")?;
                flag(f, *stat, "-s")?;
                if let Some(v) = version {
                    write!(f, " -v {v:x}")?;
                }
                match change {
                    ReconfigChange::Incremental { add, remove } => {
                        if let Some(a) = add {
                            write!(f, " -add {}", quote(a))?;
                        }
                        if let Some(r) = remove {
                            write!(f, " -remove {}", quote(r))?;
                        }
                        Ok(())
                    }
                    ReconfigChange::Members(m) => write!(f, " -members {}", quote(m)),
                    ReconfigChange::File(p) => write!(f, " -file {}", quote(p)),
                }
            }
            ZkCommand::AddAuth { scheme, auth } => write!(f, "addauth {} {}", quote(scheme), quote(auth)),
            ZkCommand::WhoAmI => f.write_str("whoami"),
            ZkCommand::Multi(ops) => {
                f.write_str("multi")?;
                for (i, op) in ops.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ;")?;
                    }
                    write!(f, " {op}")?;
                }
                Ok(())
            }
        }
    }
}

impl ZkCommand {
    /// Whether the command changes the tree (goes through the leader as a transaction).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            ZkCommand::Create { .. }
                | ZkCommand::Set { .. }
                | ZkCommand::Delete { .. }
                | ZkCommand::DeleteAll { .. }
                | ZkCommand::SetAcl { .. }
                | ZkCommand::Reconfig { .. }
                | ZkCommand::Multi(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> ZkCommand {
        parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn tokens_split_like_zkcli() {
        assert_eq!(
            tokenize("  create  /a \"hello world\" 'it\"s'").unwrap(),
            ["create", "/a", "hello world", "it\"s"]
        );
        assert_eq!(tokenize("set /a x\"y").unwrap(), ["set", "/a", "x\"y"]);
        assert_eq!(tokenize("set /a \"\"").unwrap(), ["set", "/a", ""]);
        assert_eq!(
            tokenize("set /a \"open").unwrap_err(),
            CliError::UnterminatedQuote { quote: '"', column: 8 }
        );
    }

    #[test]
    fn create_modes() {
        let mode = |l: &str| match ok(l) {
            ZkCommand::Create { mode, .. } => mode,
            other => panic!("{other:?}"),
        };
        assert_eq!(mode("create /a"), CreateMode::Persistent);
        assert_eq!(mode("create -s /a/"), CreateMode::PersistentSequential);
        assert_eq!(mode("create -e /a x"), CreateMode::Ephemeral);
        assert_eq!(mode("create -es /a x"), CreateMode::EphemeralSequential);
        assert_eq!(mode("create /a x -s -e"), CreateMode::EphemeralSequential);
        assert_eq!(mode("create -c /a"), CreateMode::Container);
        assert_eq!(mode("create -t 500 /a"), CreateMode::PersistentWithTtl(500));
        assert_eq!(mode("create -s -t500 /a"), CreateMode::PersistentSequentialWithTtl(500));
    }

    #[test]
    fn create_refuses_what_zkcli_refuses() {
        for bad in
            ["create -c -e /a", "create -e -t 5 /a", "create -c -t 5 /a", "create -t x /a", "create -t 0 /a"]
        {
            assert!(matches!(parse(bad), Err(CliError::BadValue { command: "create", .. })), "{bad}");
        }
        assert!(matches!(parse("create"), Err(CliError::Usage { .. })));
        assert!(matches!(parse("create -x /a"), Err(CliError::UnknownOption { .. })));
        assert!(matches!(parse("create -t"), Err(CliError::MissingOptionValue { .. })));
        assert!(matches!(parse("create a"), Err(CliError::BadPath { .. })));
        assert!(matches!(parse("create /a/"), Err(CliError::BadPath { .. })));
        assert!(matches!(parse("create /a//b"), Err(CliError::BadPath { .. })));
        assert!(matches!(parse("create /a/../b"), Err(CliError::BadPath { .. })));
        assert!(matches!(parse("frobnicate /a"), Err(CliError::UnknownCommand(_))));
        assert_eq!(parse("   "), Err(CliError::Empty));
    }

    #[test]
    fn acls_read_like_aclparser() {
        let ZkCommand::Create { acl: Some(acl), .. } =
            ok("create /a x digest:bob:hash=:cdrwa,world:anyone:r")
        else {
            panic!()
        };
        assert_eq!(acl[0].scheme, "digest");
        assert_eq!(acl[0].id, "bob:hash=");
        assert_eq!(acl[0].perms.bits(), 31);
        assert_eq!(acl[1].perms.bits(), 1);
        assert!(matches!(parse("setAcl /a world:anyone:x"), Err(CliError::BadAcl(_))));
        assert!(matches!(parse("setAcl /a anyone"), Err(CliError::BadAcl(_))));
    }

    #[test]
    fn every_command_prints_canonically_and_reads_back() {
        let lines = [
            "create /a",
            "create -s -e /lock/n- \"\"",
            "create -t 1000 /ttl data world:anyone:cdrwa",
            "create /acl \"\" ip:10.0.0.1:r",
            "set -s -v 3 /a \"two words\"",
            "get -s -w /a",
            "ls -s -w -R /",
            "stat -w /a",
            "delete -v 0 /a",
            "deleteall /a -b 10",
            "sync /",
            "addWatch /a",
            "addWatch -m PERSISTENT /a",
            "removewatches /a -r -l",
            "getAcl -s /a",
            "setAcl -s -v 1 -R /a world:anyone:cdrwa,auth::r",
            "getAllChildrenNumber /a",
            "getEphemerals",
            "getEphemerals /a",
            "config -c -w -s",
            "reconfig -s -v 1a -add server.4=h:2888:3888;2181 -remove 3",
            "reconfig -members server.1=a:1:2;3,server.2=b:1:2;3",
            "reconfig -file /tmp/new.cfg",
            "addauth digest bob:secret",
            "whoami",
            "multi create /a 1 ; set -v 2 /b 2 ; check -v 3 /c ; delete /d",
        ];
        for line in lines {
            let cmd = ok(line);
            assert_eq!(cmd.to_string(), line, "canonical form");
            assert_eq!(ok(&cmd.to_string()), cmd);
        }
    }

    #[test]
    fn options_anywhere_read_the_same() {
        assert_eq!(ok("set /a x -v 2"), ok("set -v2 /a x"));
        assert_eq!(ok("ls -R -w /a"), ok("ls -wR /a"));
        assert_eq!(ok("addWatch -m persistent /a"), ok("addWatch -m PERSISTENT /a"));
        assert_eq!(ok("rmr /a"), ok("deleteall /a"));
        assert!(matches!(
            parse("multi create /a ; ; set /b x"),
            Err(CliError::Usage { command: "multi", .. })
        ));
        assert!(matches!(parse("reconfig -add x -members y"), Err(CliError::BadValue { .. })));
        assert!(matches!(parse("reconfig -v zz -add x"), Err(CliError::BadValue { .. })));
    }

    #[test]
    fn quoting_round_trips_what_it_can() {
        for s in ["plain", "two words", "", "'", "\"", "say \"hi\"", "it's me", "tab\there", "\"x"] {
            assert!(is_writable(s));
            assert_eq!(tokenize(&quote(s)).unwrap(), [s], "{s:?}");
        }
        assert!(!is_writable("both \" and '"));
    }
}
