//! Every exercise file in `exercises/` is compiled into the library, and vice versa.

use std::collections::BTreeSet;
use zoolab_core::exercise::LIBRARY;

#[test]
fn the_exercise_library_and_the_folder_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../exercises");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("exercises/ exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "toml" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    let compiled: BTreeSet<String> = LIBRARY.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, compiled, "add new exercises to core/src/exercise.rs LIBRARY");
    for (name, text) in LIBRARY {
        let file = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
        assert_eq!(&file, text, "{name}");
    }
}
