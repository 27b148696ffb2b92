//! A small Markdown renderer for the exercises' texts: headings, paragraphs, fenced
//! code, bullet and numbered lists, and inline `code`, **strong** and *emphasis*.
//!
//! Exercises are written by teachers in the subset docs/exercises.md describes; a full
//! CommonMark parser would cost the bundle more than these texts need. Everything is
//! rendered as text nodes (never as HTML), so an exercise cannot inject markup.

use yew::prelude::*;

/// A block of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// `# …` to `###### …` (level 1–6).
    Heading(u8, String),
    /// Lines joined by spaces.
    Paragraph(String),
    /// A fenced code block's lines.
    Code(String),
    /// `- item` / `* item` lines (`ordered`: `1. item`).
    List {
        /// Numbered.
        ordered: bool,
        /// The items (continuation lines joined).
        items: Vec<String>,
    },
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
        return Some((false, rest));
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 4 {
        if let Some(rest) = t[digits..].strip_prefix(". ") {
            return Some((true, rest));
        }
    }
    None
}

/// Splits a text into blocks.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut lines = text.lines();
    let flush = |para: &mut Vec<&str>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(Block::Paragraph(para.join(" ")));
            para.clear();
        }
    };
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.starts_with("```") {
            flush(&mut para, &mut out);
            let code: Vec<&str> = lines.by_ref().take_while(|l| !l.trim_start().starts_with("```")).collect();
            out.push(Block::Code(code.join("\n")));
        } else if t.is_empty() {
            flush(&mut para, &mut out);
        } else if let Some(level) = (1..=6).find(|&n| t.starts_with(&format!("{} ", "#".repeat(n)))) {
            flush(&mut para, &mut out);
            out.push(Block::Heading(level as u8, t[level + 1..].trim().to_string()));
        } else if let Some((ordered, item)) = list_item(line) {
            flush(&mut para, &mut out);
            match out.last_mut() {
                Some(Block::List { ordered: o, items }) if *o == ordered && para.is_empty() => {
                    items.push(item.to_string())
                }
                _ => out.push(Block::List { ordered, items: vec![item.to_string()] }),
            }
        } else if line.starts_with([' ', '\t'])
            && matches!(out.last(), Some(Block::List { .. }))
            && para.is_empty()
        {
            // A list item's continuation line.
            if let Some(Block::List { items, .. }) = out.last_mut() {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(t);
                }
            }
        } else {
            para.push(t);
        }
    }
    flush(&mut para, &mut out);
    out
}

/// A piece of inline text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// `code`.
    Code(String),
    /// **strong**.
    Strong(String),
    /// *emphasis*.
    Em(String),
}

/// Splits a line into inline pieces; an unclosed marker stays as text.
pub fn inlines(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let (marker, make): (&str, fn(String) -> Inline) = match c {
            '`' => ("`", Inline::Code),
            '*' if rest.starts_with("**") => ("**", Inline::Strong),
            '*' => ("*", Inline::Em),
            _ => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        let after = &rest[marker.len()..];
        match after.find(marker) {
            Some(end) if end > 0 => {
                if !plain.is_empty() {
                    out.push(Inline::Text(std::mem::take(&mut plain)));
                }
                out.push(make(after[..end].to_string()));
                rest = &after[end + marker.len()..];
            }
            _ => {
                plain.push_str(marker);
                rest = after;
            }
        }
    }
    if !plain.is_empty() {
        out.push(Inline::Text(plain));
    }
    out
}

fn render_inline(text: &str) -> Html {
    html! {
        { for inlines(text).into_iter().map(|i| match i {
            Inline::Text(t) => html! { { t } },
            Inline::Code(t) => html! { <code>{ t }</code> },
            Inline::Strong(t) => html! { <strong>{ t }</strong> },
            Inline::Em(t) => html! { <em>{ t }</em> },
        }) }
    }
}

/// The text as HTML (headings start at `<h3>`: the pane has its own title).
pub fn render(text: &str) -> Html {
    html! {
        { for blocks(text).into_iter().map(|b| match b {
            Block::Heading(level, t) => {
                let tag = format!("h{}", (level + 2).min(6));
                html! { <@{tag}>{ render_inline(&t) }</@> }
            }
            Block::Paragraph(t) => html! { <p>{ render_inline(&t) }</p> },
            Block::Code(t) => html! { <pre><code>{ t }</code></pre> },
            Block::List { ordered: true, items } => html! {
                <ol>{ for items.iter().map(|i| html! { <li>{ render_inline(i) }</li> }) }</ol>
            },
            Block::List { ordered: false, items } => html! {
                <ul>{ for items.iter().map(|i| html! { <li>{ render_inline(i) }</li> }) }</ul>
            },
        }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_exercises_subset() {
        let md = "# Title\n\nOne line\nand the next.\n\n1. first\n   still first\n2. second\n\n- a\n- b\n\n```\nc1: get /x\n```\nafter";
        assert_eq!(
            blocks(md),
            vec![
                Block::Heading(1, "Title".into()),
                Block::Paragraph("One line and the next.".into()),
                Block::List { ordered: true, items: vec!["first still first".into(), "second".into()] },
                Block::List { ordered: false, items: vec!["a".into(), "b".into()] },
                Block::Code("c1: get /x".into()),
                Block::Paragraph("after".into()),
            ]
        );
    }

    #[test]
    fn inline_markers_pair_up_or_stay_text() {
        assert_eq!(
            inlines("**writer** sets `/x` to *new*, 2 * 3"),
            vec![
                Inline::Strong("writer".into()),
                Inline::Text(" sets ".into()),
                Inline::Code("/x".into()),
                Inline::Text(" to ".into()),
                Inline::Em("new".into()),
                Inline::Text(", 2 * 3".into()),
            ]
        );
        assert_eq!(inlines("a `b"), vec![Inline::Text("a `b".into())]);
    }

    #[test]
    fn every_built_in_exercise_renders_without_stray_markers() {
        for (name, text) in zoolab_core::exercise::LIBRARY {
            let ex = zoolab_core::exercise::Exercise::parse(text).unwrap();
            for part in [&ex.instructions, &ex.explanation] {
                for b in blocks(part) {
                    if let Block::Paragraph(p) = b {
                        let stray =
                            inlines(&p).iter().any(|i| matches!(i, Inline::Text(t) if t.contains('`')));
                        assert!(!stray, "{name}: {p}");
                    }
                }
            }
        }
    }
}
