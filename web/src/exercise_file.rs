//! Reads the built-in exercises' TOML files without a TOML crate.
//!
//! The core reads exercises with the `toml` crate (`Exercise::parse`); in the browser
//! that parser alone cost about 100 KiB of gzipped wasm. The page only opens the
//! built-in files, which use a small subset of TOML: `key = value` lines whose values
//! are basic strings (`"…"` with `\"`, `\\`, `\n`, `\t`, `\uXXXX`), multi-line basic
//! strings (`"""…"""`), integers, and arrays (possibly over several lines) of strings
//! or inline tables of strings; `#` comments. This reader handles exactly that, and a
//! test checks that it reads every built-in exactly as `Exercise::parse` does.

use zoolab_core::exercise::{Exercise, Goal};

/// A value of the subset.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Str(String),
    Int(i64),
    Array(Vec<Value>),
    Table(Vec<(String, Value)>),
}

struct Reader<'a> {
    s: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        let line = self.s[..self.at].matches('\n').count() + 1;
        Err(format!("line {line}: expected {what}"))
    }

    /// Skips spaces, and with `newlines` also line ends and comments.
    fn skip(&mut self, newlines: bool) {
        loop {
            let r = self.rest();
            let c = match r.chars().next() {
                Some(c) => c,
                None => return,
            };
            if c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r')) {
                self.at += 1;
            } else if newlines && c == '#' {
                self.at += r.find('\n').unwrap_or(r.len());
            } else {
                return;
            }
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.at += s.len();
            true
        } else {
            false
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let n = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(self.rest().len());
        if n == 0 {
            return self.err("a key");
        }
        let k = self.rest()[..n].to_string();
        self.at += n;
        Ok(k)
    }

    fn string(&mut self) -> Result<String, String> {
        let multi = self.eat("\"\"\"");
        if !multi && !self.eat("\"") {
            return self.err("a string");
        }
        if multi {
            // A newline right after the opening quotes is not part of the string.
            let _ = self.eat("\r\n") || self.eat("\n");
        }
        let mut out = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else { return self.err("the string's closing quote") };
            if multi && self.eat("\"\"\"") {
                return Ok(out);
            }
            self.at += c.len_utf8();
            match c {
                '"' if !multi => return Ok(out),
                '\n' if !multi => return self.err("the string's closing quote on its line"),
                '\\' => {
                    let Some(e) = self.rest().chars().next() else { return self.err("an escape") };
                    self.at += e.len_utf8();
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'u' => {
                            let hex = self.rest().get(..4).ok_or("line: a \\u escape is 4 hex digits")?;
                            let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            let Some(ch) = ch else { return self.err("4 hex digits of a character") };
                            out.push(ch);
                            self.at += 4;
                        }
                        _ => return self.err("an escape the exercises use (\\\" \\\\ \\n \\t \\r \\uXXXX)"),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.rest().starts_with('"') {
            return self.string().map(Value::Str);
        }
        if self.eat("[") {
            let mut items = Vec::new();
            loop {
                self.skip(true);
                if self.eat("]") {
                    return Ok(Value::Array(items));
                }
                items.push(self.value()?);
                self.skip(true);
                if !self.eat(",") {
                    self.skip(true);
                    if self.eat("]") {
                        return Ok(Value::Array(items));
                    }
                    return self.err("`,` or `]`");
                }
            }
        }
        if self.eat("{") {
            let mut fields = Vec::new();
            loop {
                self.skip(false);
                if self.eat("}") {
                    return Ok(Value::Table(fields));
                }
                let k = self.key()?;
                self.skip(false);
                if !self.eat("=") {
                    return self.err("`=`");
                }
                self.skip(false);
                fields.push((k, self.value()?));
                self.skip(false);
                if !self.eat(",") && !self.rest().starts_with('}') {
                    return self.err("`,` or `}`");
                }
            }
        }
        let r = self.rest();
        let n = r.find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '+')).unwrap_or(r.len());
        match r[..n].parse() {
            Ok(i) if n > 0 => {
                self.at += n;
                Ok(Value::Int(i))
            }
            _ => self.err("a string, a number, an array or an inline table"),
        }
    }

    fn document(&mut self) -> Result<Vec<(String, Value)>, String> {
        let mut out = Vec::new();
        loop {
            self.skip(true);
            if self.rest().is_empty() {
                return Ok(out);
            }
            let k = self.key()?;
            self.skip(false);
            if !self.eat("=") {
                return self.err("`=`");
            }
            self.skip(false);
            let v = self.value()?;
            self.skip(false);
            if self.rest().starts_with('#') {
                self.skip(true);
            } else if !(self.eat("\n") || self.eat("\r\n") || self.rest().is_empty()) {
                return self.err("the end of the line");
            }
            out.push((k, v));
        }
    }
}

fn take(doc: &mut Vec<(String, Value)>, key: &str) -> Option<Value> {
    let i = doc.iter().position(|(k, _)| k == key)?;
    Some(doc.remove(i).1)
}

fn string(doc: &mut Vec<(String, Value)>, key: &str) -> Result<String, String> {
    match take(doc, key) {
        Some(Value::Str(s)) => Ok(s),
        _ => Err(format!("`{key}` is a string")),
    }
}

fn strings(v: Option<Value>, key: &str) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s),
                _ => Err(format!("`{key}` holds strings")),
            })
            .collect(),
        _ => Err(format!("`{key}` is an array")),
    }
}

/// Reads an exercise file of the subset (see the module's documentation).
pub fn read(text: &str) -> Result<Exercise, String> {
    let mut doc = Reader { s: text, at: 0 }.document()?;
    let level = match take(&mut doc, "level") {
        Some(Value::Int(l)) => u8::try_from(l).map_err(|_| "`level` is 1 to 5".to_string())?,
        _ => return Err("`level` is a number".into()),
    };
    let goals = match take(&mut doc, "goals") {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|g| match g {
                Value::Table(mut t) => {
                    Ok(Goal { expect: string(&mut t, "expect")?, why: string(&mut t, "why")? })
                }
                _ => Err("`goals` holds { expect, why } tables".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("`goals` is an array".into()),
    };
    let hints = strings(take(&mut doc, "hints"), "hints")?;
    let ex = Exercise {
        title: string(&mut doc, "title")?,
        level,
        instructions: string(&mut doc, "instructions")?,
        setup: string(&mut doc, "setup")?,
        goals,
        hints,
        solution: string(&mut doc, "solution")?,
        wrong: string(&mut doc, "wrong")?,
        explanation: string(&mut doc, "explanation")?,
        breaks: match take(&mut doc, "breaks") {
            None => None,
            Some(Value::Str(s)) => Some(s),
            Some(_) => return Err("`breaks` is a string".into()),
        },
    };
    if let Some((k, _)) = doc.first() {
        return Err(format!("unknown key `{k}`"));
    }
    Ok(ex)
}

/// A built-in exercise by name, read (in the page, once `library::load` fetched it).
pub fn builtin(name: &str) -> Result<Exercise, String> {
    let text = crate::library::text(crate::library::Kind::Exercise, name)?;
    read(&text).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_exercise_reads_as_the_core_reads_it() {
        for (name, text) in zoolab_core::exercise::LIBRARY {
            let core = Exercise::parse(text).unwrap();
            assert_eq!(read(text).unwrap_or_else(|e| panic!("{name}: {e}")), core, "{name}");
        }
    }

    #[test]
    fn the_subset_reads_escapes_comments_and_arrays() {
        let text = "# a comment\ntitle = \"A \\\"q\\\" \\u00e9\" # trailing\nlevel = 2\ninstructions = \"\"\"\nline 1\n\"quoted\"\n\"\"\"\n\
                    setup = \"s\"\ngoals = [\n  { expect = \"e\", why = \"w\" },\n]\nhints = [\"h1\",\n \"h2\"]\n\
                    solution = \"x\"\nwrong = \"y\"\nexplanation = \"z\"\n";
        let ex = read(text).unwrap();
        assert_eq!(ex.title, "A \"q\" é");
        assert_eq!(ex.instructions, "line 1\n\"quoted\"\n");
        assert_eq!(ex.goals, [Goal { expect: "e".into(), why: "w".into() }]);
        assert_eq!(ex.hints, ["h1", "h2"]);
        assert!(read(&text.replace("level = 2", "level = 2\nsurprise = 1"))
            .unwrap_err()
            .contains("surprise"));
        assert!(read("title = \"open").unwrap_err().contains("closing quote"));
    }
}
