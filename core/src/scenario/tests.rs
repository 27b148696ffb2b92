//! The language: every construct, its canonical form, and its errors.

use super::*;

/// Every construct of the language, already in canonical form.
pub(crate) const EVERYTHING: &str = r#"scenario "every construct, once"
seed 42
network latency 1ms..5ms loss 0.5% duplicate 1%
cluster a with 3 servers and 1 observer, tickTime 100ms, initLimit 10, syncLimit 5
cluster b with 1 server
link a <-> b latency 40ms loss 1%
client c1 connects to a1,a2,a3
client c2 connects to b

c1: create -s -e /lock/n- "two words"
c2: get -w /x
kill a3
kill leader of a
restart a3
pause a2 for 3s
partition a1 a2 | a3 | a4
partition a1 -> a2 a3
isolate leader of a
heal a1
heal
change network latency 2ms
change link a <-> b loss 50%
change link a1 -> a2 latency 300ms
change link leader of a <-> a4 default
run 500ms
run 2s
run until a has a leader
run until a has no leader within 10s
step
step 20
at 1500ms: kill a1
expect a3 is leading in epoch 2
expect leader of a is leading
expect a4 is observing
expect a1 has /x = "hello"
expect a has no /y
expect "a1" has "/with space" = ""
expect a1 has committed 0x100000002
expect c1 succeeded
expect c1#1 failed with NODEEXISTS
expect c2 failed
expect c2#1 is pending
expect c1 returned "/lock/n-0000000001"
expect invariants hold
expect trace contains "SNAP \"quoted\"\n"
expect not not a1 is down
expect not a1 has /x = "v"
disconnect c1
reconnect c1
expect c1 is connected
expect c1 saw NodeDataChanged /x
expect c2 saw NodeDeleted /x 1 times
expect c1 saw Expired
"#;

#[test]
fn every_construct_round_trips_in_canonical_form() {
    let text = EVERYTHING.replace("expect \"a1\" has", "expect a1 has");
    let sc = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.to_string(), text);
    assert_eq!(parse(&sc.to_string()).unwrap(), sc);
    assert_eq!(sc.validate(), Ok(()));
    assert_eq!(sc.clusters[0].observers, 1);
    assert_eq!(sc.steps.len(), 44);
}

#[test]
fn printing_a_text_gives_its_canonical_form() {
    let loose = "  # a comment\r\nseed   7\ncluster   x with 1 servers and 1 observers\r\n\n\
                 client q connects to x1 , x\ncrash x1\nrun for 2000ms\nrun 1500ms\nstep 1\n\
                 expect not x has a leader\nexpect x1 has /a = b\nexpect q#3 returned v\n";
    let canonical = "seed 7\ncluster x with 1 server and 1 observer\nclient q connects to x1,x\n\n\
                     kill x1\nrun 2s\nrun 1500ms\nstep\nexpect x has no leader\nexpect x1 has /a = \"b\"\n\
                     expect q#3 returned \"v\"\n";
    let sc = parse(loose).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.to_string(), canonical);
    assert_eq!(parse(canonical).unwrap(), sc);
}

fn err(text: &str) -> (usize, usize, String) {
    let e = parse(text).expect_err(text);
    (e.line, e.column, e.message)
}

#[test]
fn errors_name_line_column_and_what_was_expected() {
    let head = "seed 1\ncluster a with 3 servers\nclient c1 connects to a\n";
    let cases: &[(&str, usize, usize, &str)] = &[
        ("kil a1", 4, 1, "expected a statement"),
        ("kill", 4, 5, "expected a server (a1, or leader of a)"),
        ("kill a9", 4, 1, "cluster a has servers a1 to a3"),
        ("kill b1", 4, 1, "no cluster b"),
        ("run 5x", 4, 5, "expected until, or a duration like 500ms, found `5x`"),
        ("run 5s now", 4, 8, "expected end of line, found `now`"),
        ("expect a1 is lead", 4, 14, "expected leading, following"),
        (
            "expect a has a leeder",
            4,
            14,
            "expected a leader, committed, voters, config, or a znode path, found `a`",
        ),
        ("expect c1 succeeded extra", 4, 21, "expected end of line"),
        ("expect c9 succeeded", 4, 1, "no client c9"),
        ("expect a is leading", 4, 8, "expected a server like a1"),
        ("expect a1 has /x = \"open", 4, 25, "expected a closing \""),
        ("c1: crate /x", 4, 5, "unknown command `crate`"),
        ("c1: create /x \"open", 4, 15, "unterminated \" quote"),
        ("c1: set /𑤉 'open", 4, 12, "unterminated ' quote"),
        ("c9: create /x", 4, 1, "no client c9"),
        ("partition a1 a2", 4, 16, "expected | between groups"),
        ("change network", 4, 15, "expected network settings"),
        ("change network loss 101%", 4, 21, "expected a percentage"),
        ("at 5s: at 6s: heal", 4, 8, "expected an action (not another at)"),
    ];
    for &(line, l, c, want) in cases {
        let (el, ec, msg) = err(&format!("{head}{line}\n"));
        assert!(msg.contains(want), "{line}: got `{msg}`, want `{want}`");
        assert_eq!((el, ec), (l, c), "{line}: {msg}");
    }
}

#[test]
fn null_bare_is_null_data_and_quoted_is_the_word() {
    let head = "seed 0\ncluster a with 1 server\nclient c1 connects to a\n\n";
    let cases: &[(&str, Value, &str)] = &[
        ("expect a1 has /x = null", Value::Null, "expect a1 has /x = null"),
        ("expect a1 has /x = \"null\"", Value::Text("null".into()), "expect a1 has /x = \"null\""),
        ("expect a1 has /x = \"\"", Value::Text(String::new()), "expect a1 has /x = \"\""),
        ("expect a1 has /x = nullx", Value::Text("nullx".into()), "expect a1 has /x = \"nullx\""),
        ("expect a1 has /x = NULL", Value::Text("NULL".into()), "expect a1 has /x = \"NULL\""),
        ("expect c1 returned null", Value::Null, "expect c1 returned null"),
        ("expect c1 returned \"null\"", Value::Text("null".into()), "expect c1 returned \"null\""),
    ];
    for (line, want, canonical) in cases {
        let sc = parse(&format!("{head}{line}\n")).unwrap_or_else(|e| panic!("{line}: {e}"));
        let got = match &sc.steps[0] {
            Action::Expect(Predicate::HasNode { data: Some(v), .. })
            | Action::Expect(Predicate::Returned { value: v, .. }) => v.clone(),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(&got, want, "{line}");
        assert_eq!(sc.to_string(), format!("{head}{canonical}\n"));
        assert_eq!(parse(&sc.to_string()).unwrap(), sc, "{line}");
    }
    for (line, col) in
        [("expect a1 has /x =", 19), ("expect c1 returned", 19), ("expect a1 has /x = \"nul", 24)]
    {
        let (l, c, msg) = err(&format!("{head}{line}\n"));
        assert_eq!((l, c), (5, col), "{line}: {msg}");
        let want =
            if line.ends_with("nul") { "expected a closing \"" } else { "expected data: null, a word" };
        assert!(msg.contains(want), "{line}: {msg}");
    }
}

#[test]
fn spares_and_configuration_predicates_read_and_print() {
    let text = "seed 0\ncluster a with 3 servers and 2 spares\ncluster b with 3 servers and 1 observer and 1 spare\n\n\
                expect a has voters a1 a2 a4\nexpect leader of b has config version 0x100000003\n\
                run until a5 has voters a1 a2 a3 a4 a5 within 5s\n";
    let sc = parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.to_string(), text);
    assert_eq!((sc.clusters[0].spares, sc.clusters[1].observers, sc.clusters[1].spares), (2, 1, 1));
    assert_eq!(sc.clusters[0].total(), 5);
    let voters = |ids: &[u8]| ids.iter().map(|&id| ServerName { cluster: "a".into(), id }).collect();
    assert_eq!(
        sc.steps[0],
        Action::Expect(Predicate::HasVoters {
            target: Target::Cluster("a".into()),
            voters: voters(&[1, 2, 4])
        })
    );
    let head = "cluster a with 3 servers and 2 spares\n";
    for (line, want) in [
        ("expect a has voters a2 a1", "in id order"),
        ("expect a has voters a6", "cluster a has servers a1 to a5"),
        ("expect a has voters", "expected a server name like a1"),
        ("expect a has config 0x1", "expected `version`"),
        ("expect a has config version 12", "expected a config version like 0x100000003"),
    ] {
        let (_, _, msg) = err(&format!("{head}{line}\n"));
        assert!(msg.contains(want), "{line}: got `{msg}`, want `{want}`");
    }
    let (_, _, m) = err("cluster a with 3 servers and 1 spare and 1 observer\n");
    assert!(m.contains("expected end of line"), "observers come before spares: {m}");
    let (_, _, m) = err("cluster a with 5 servers and 2 observers and 3 spares\n");
    assert!(m.contains("at most 9"), "{m}");
}

#[test]
fn header_comes_before_steps() {
    let (l, _, m) = err("cluster a with 1 server\nrun 1s\ncluster b with 1 server\n");
    assert_eq!(l, 3);
    assert!(m.contains("before the first step"), "{m}");
    let (_, _, m) = err("cluster a with 1 server\nrun 1s\nnetwork loss 1%\n");
    assert!(m.contains("change network"), "{m}");
    let (_, _, m) = err("seed 1\n");
    assert!(m.contains("at least one cluster"), "{m}");
    let (_, _, m) = err("cluster a with 9 servers and 1 observer\n");
    assert!(m.contains("at most 9"), "{m}");
    let (_, _, m) = err("cluster a with 1 server\ncluster a with 1 server\n");
    assert!(m.contains("twice"), "{m}");
    let (_, _, m) = err("cluster a with 1 server\nclient a1 connects to a\n");
    assert!(m.contains("would read as server"), "{m}");
}

#[test]
fn validate_catches_what_cannot_be_written() {
    let mut sc = parse("cluster a with 3 servers\nclient c1 connects to a\n").unwrap();
    assert_eq!(sc.validate(), Ok(()));
    sc.steps.push(Action::Kill(ServerRef::Named(ServerName { cluster: "a".into(), id: 4 })));
    assert!(sc.validate().unwrap_err().contains("step 1"));
    sc.steps.clear();
    sc.clusters[0].name = "a1".into();
    assert!(sc.validate().is_err());
}

#[test]
fn nesting_is_bounded_so_no_input_exhausts_the_stack() {
    let head = "cluster a with 1 server\n";
    let deep = format!("{head}expect {}a has a leader\n", "not ".repeat(10_000));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("at most 8"), "{e}");
    let ok = format!("{head}expect {}a has no leader\n", "not ".repeat(8));
    let sc = parse(&ok).unwrap();
    assert_eq!(parse(&sc.to_string()), Ok(sc.clone()));
    assert_eq!(sc.validate(), Ok(()));
    let many = format!("{head}partition {} | a1\n", "a1 ".repeat(10_000));
    assert!(parse(&many).is_ok());
}

#[test]
fn load_reads_a_text_or_a_link() {
    let sc = parse("seed 3\ncluster a with 1 server\n").unwrap();
    let l = link::encode(&sc, 17).unwrap();
    assert_eq!(load(&sc.to_string()), Ok((sc.clone(), None)));
    assert_eq!(load(&l), Ok((sc.clone(), Some(17))));
    assert_eq!(load(&format!("http://127.0.0.1:8080/#{l}\n")), Ok((sc.clone(), Some(17))));
    assert!(matches!(load("z1.AAAA"), Err(LoadError::Link(_))));
    assert!(matches!(load("seed x"), Err(LoadError::Text(_))));
}

#[test]
fn a_predicate_reads_alone_for_exercise_goals() {
    let sc = parse("cluster a with 3 servers\nclient c1 connects to a\n").unwrap();
    assert_eq!(parse_predicate(&sc, "a has a leader"), Ok(Predicate::HasLeader("a".into())));
    assert_eq!(parse_predicate(&sc, "not c1 is pending").unwrap().to_string(), "not c1 is pending");
    let e = parse_predicate(&sc, "a9 is leading").unwrap_err();
    assert!(e.message.contains("a1 to a3"), "{e}");
    let e = parse_predicate(&sc, "a1 is leading now").unwrap_err();
    assert_eq!((e.line, e.column), (1, 15));
}

#[test]
fn client_latency_is_a_network_setting_only() {
    let head = "cluster a with 3 servers\ncluster b with 1 server\n";
    let sc =
        parse(&format!("network loss 1% client latency 2ms\n{head}\nchange network client latency 20ms\n"))
            .unwrap();
    assert_eq!(sc.network.client_latency, Some(Millis(2)));
    let text = sc.to_string();
    assert!(text.contains("network loss 1% client latency 2ms\n"), "{text}");
    assert!(text.contains("change network client latency 20ms\n"), "{text}");
    assert_eq!(parse(&text).unwrap(), sc);
    for bad in [
        format!("{head}link a <-> b client latency 2ms\n"),
        format!("{head}\nchange link a1 -> a2 client latency 2ms\n"),
    ] {
        assert!(parse(&bad).is_err(), "{bad}");
    }
    let too_slow = parse(&format!("network client latency 3601s\n{head}")).unwrap();
    assert!(too_slow.validate().unwrap_err().contains("client latency is at most 1 hour"));
    assert!(parse(&format!("network client 2ms\n{head}")).is_err());
}

/// Every built-in scenario cut short inside each of its lines, and with each of a line's
/// characters dropped or swapped for `x` or a quote, reads or fails with a position on
/// that line: never a panic, never a column past the line's end.
#[test]
fn malformed_lines_fail_cleanly_with_a_position() {
    let mut failures = 0;
    for (name, text) in library::LIBRARY {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let head = lines[..n].join("\n");
            let mut variants: Vec<String> = line.char_indices().map(|(b, _)| line[..b].to_string()).collect();
            for (b, ch) in line.char_indices() {
                for with in ["", "x", "\""] {
                    variants.push(format!("{}{with}{}", &line[..b], &line[b + ch.len_utf8()..]));
                }
            }
            for v in variants {
                let full = format!("{head}\n{v}\n");
                if let Err(e) = parse(&full) {
                    failures += 1;
                    if e.line == n + 1 {
                        assert!(e.column <= v.chars().count() + 1, "{name}: {v:?}: {e}");
                        assert!(!e.message.is_empty(), "{name}: {v:?}");
                    }
                }
            }
        }
    }
    assert!(failures > 0);
}
