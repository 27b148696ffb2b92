//! The `zoolab` command line, run as a user runs it.

use std::process::Command;

fn zoolab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoolab")).args(args).output().expect("run zoolab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scenario_file(name: &str) -> String {
    format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_passes_a_built_in_scenario_and_prints_each_check() {
    let (code, out, err) = zoolab(&["run", &scenario_file("minority-cannot-commit.zk")]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("✓ expect invariants hold"), "{out}");
    assert!(out.contains("0 failed"), "{out}");
}

#[test]
fn run_with_trace_prints_the_simulators_trace() {
    let (code, out, _) = zoolab(&["run", "one-way-partition", "--trace", "--until", "1s"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NOTIFICATION"), "the trace shows election messages:\n{out}");
}

#[test]
fn run_json_is_machine_readable_and_hashes_like_the_text_run() {
    let (code, out, _) = zoolab(&["run", "leader-crash-during-broadcast", "--json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let hash = report["trace_hash"].as_u64().expect("a trace hash");
    let (_, text, _) = zoolab(&["run", "leader-crash-during-broadcast"]);
    assert!(text.contains(&format!("{hash:016x}")), "same run, same hash: {hash:016x} in\n{text}");
}

#[test]
fn a_failing_expectation_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("zoolab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.zk");
    std::fs::write(
        &file,
        "seed 1\ncluster a with 3 servers\nrun until a has a leader\nexpect a1 is leading in epoch 7\n",
    )
    .unwrap();
    let (code, out, _) = zoolab(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✗ expect a1 is leading in epoch 7"), "{out}");
}

#[test]
fn malformed_input_names_the_problem() {
    let dir = std::env::temp_dir().join(format!("zoolab-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.zk");
    std::fs::write(&file, "seed 1\ncluster a with three servers\n").unwrap();
    let (code, _, err) = zoolab(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 2, column"), "{err}");

    let (code, _, err) = zoolab(&["run", "http://127.0.0.1:8080/#z1.AAAA"]);
    assert_eq!(code, 1);
    assert!(err.contains("link"), "{err}");

    let (code, _, err) = zoolab(&["run", "no-such-scenario"]);
    assert_eq!(code, 1);
    assert!(err.contains("built-ins"), "{err}");
}

#[test]
fn fuzz_sweeps_seeds_and_names_each_failing_one_with_its_replay() {
    let (code, out, _) = zoolab(&["fuzz", "--seeds", "6", "--fault-ms", "5000"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 passed, 0 failed"), "{out}");

    let (code, out, _) = zoolab(&["fuzz", "--seeds", "40", "--bug", "commit_without_quorum"]);
    assert_eq!(code, 1, "a protocol that commits without a quorum must fail the sweep:\n{out}");
    assert!(out.contains("replay: zoolab fuzz --from"), "{out}");
    assert!(out.contains("--bug commit_without_quorum"), "{out}");
}

#[test]
fn fuzz_sweeps_random_migrations_and_refuses_bug_flags_there() {
    let (code, out, err) = zoolab(&["fuzz", "--state", "migration", "--seeds", "3", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 passed, 0 failed"), "{out}");
    let (code, _, err) = zoolab(&["fuzz", "--state", "migration", "--bug", "skip_trunc"]);
    assert_ne!(code, 0);
    assert!(err.contains("--state migration"), "{err}");
}

#[test]
fn exercise_check_runs_the_reference_solution_and_the_wrong_attempt() {
    let (code, out, err) = zoolab(&["exercise", "check", "first-write"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: the solution solves it and the wrong attempt does not"), "{out}");
    let (code, out, _) = zoolab(&["exercise", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("first-write") && out.contains("level 1"), "{out}");
}

#[test]
fn grade_writes_one_csv_row_per_submission() {
    use zoolab_core::exercise::{builtin, Exercise};
    use zoolab_core::scenario::link;
    let ex = Exercise::parse(builtin("kill-the-leader").unwrap()).unwrap();
    let good = link::encode(&ex.attempt(&ex.solution).unwrap(), 0).unwrap();
    let wrong = link::encode(&ex.attempt(&ex.wrong).unwrap(), 0).unwrap();
    let other = Exercise::parse(builtin("first-write").unwrap()).unwrap();
    let foreign = link::encode(&other.attempt(&other.solution).unwrap(), 0).unwrap();
    let dir = std::env::temp_dir().join(format!("zoolab-grade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let links = dir.join("links.txt");
    std::fs::write(
        &links,
        format!(
            "# class of 2026\nada http://127.0.0.1:8080/#{good}\nbob {wrong}\ncy {foreign}\ndee http://x/#z1.garbage\n"
        ),
    )
    .unwrap();
    let (code, out, err) = zoolab(&["grade", links.to_str().unwrap(), "--exercise", "kill-the-leader"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(out.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert_eq!((rows[0][0].as_str(), rows[0][1].as_str()), ("ada", "true"));
    assert_eq!(rows[0][3], "", "ada failed no goal");
    assert_eq!((rows[1][0].as_str(), rows[1][1].as_str()), ("bob", "false"));
    assert!(rows[1][3].contains("a5 is down"), "bob's failed goal is named: {:?}", rows[1]);
    assert_eq!(rows[1][4].len(), 16, "a trace hash");
    assert!(rows[2][5].contains("not for this exercise"), "{:?}", rows[2]);
    assert!(rows[3][5].contains("bad link"), "{:?}", rows[3]);
    assert!(err.contains("1 solved"), "{err}");
}

#[test]
fn check_history_accepts_a_good_history_and_explains_a_stale_write() {
    // One setData acknowledged, then a read in a later session that started after it
    // completed and synced, yet returns the old value: a violation.
    let stat = |v: u32, z: u32| format!(r#"{{"czxid":1,"mzxid":{z},"version":{v},"ephemeral_owner":0}}"#);
    let history = |read: &str, version: u32, mzxid: u32| {
        format!(
            r#"{{"initial":{{"/":{{"data":[],"version":0}},"/k":{{"data":[48],"version":0}}}},"events":[],
            "operations":[
             {{"session":1,"op":{{"SetData":{{"path":"/k","data":[49],"version":null}}}},"invoked":{{"time":1,"seq":1}},
               "completed":{{"time":2,"seq":2}},"outcome":{{"Ok":{{"result":{{"DataSet":{{"stat":{}}}}},"zxid":null}}}}}},
             {{"session":2,"op":{{"Sync":{{"path":"/k"}}}},"invoked":{{"time":3,"seq":3}},
               "completed":{{"time":4,"seq":4}},"outcome":{{"Ok":{{"result":"Synced","zxid":null}}}}}},
             {{"session":2,"op":{{"GetData":{{"path":"/k","watch":"No"}}}},"invoked":{{"time":5,"seq":5}},
               "completed":{{"time":6,"seq":6}},"outcome":{{"Ok":{{"result":{{"Data":{{"data":{read},"stat":{}}}}},"zxid":null}}}}}}
            ]}}"#,
            stat(1, 2),
            stat(version, mzxid)
        )
    };
    let dir = std::env::temp_dir().join(format!("zoolab-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, history("[49]", 1, 2)).unwrap();
    let (code, out, err) = zoolab(&["check-history", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": OK"), "{out}");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, history("[48]", 0, 1)).unwrap();
    let (code, out, err) = zoolab(&["check-history", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("violation"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
