//! `completions/` and `man/` must be exactly what `generate` writes now.

use crate::support::prelude::*;
use std::fs;
use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).expect("readable generated file"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let fresh = Sandbox::new();
    let mut c = bin::command(fresh.path());
    c.args(["generate", "--out-dir"]).arg(fresh.path());
    let run = process::run(&mut c, RUN_LIMIT);
    assert_eq!(run.code, 0, "{}", run.show());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["completions", "man"] {
        let committed = files(&root.join(dir));
        let generated = files(&fresh.path().join(dir));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&generated),
            "{dir}/ has other files than `generate` writes; regenerate with: cargo run -- generate"
        );
        for ((name, old), (_, new)) in committed.iter().zip(&generated) {
            assert!(
                old == new,
                "{dir}/{name} is stale; regenerate with: cargo run -- generate"
            );
        }
    }
}

#[test]
fn man_pages_cover_every_visible_subcommand() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for page in [
        "romm-oidc.1",
        "romm-oidc-doctor.1",
        "romm-oidc-wizard.1",
        "romm-oidc-emit-env.1",
    ] {
        assert!(
            root.join("man").join(page).is_file(),
            "man/{page} is missing"
        );
    }
    assert!(
        !root.join("man/romm-oidc-generate.1").exists(),
        "the hidden generate command must not get a man page"
    );
}
