//! What `--write` (emit-env and wizard) and `generate --out-dir` may replace:
//! only a regular file, reached directly or through a symlink, with its owner,
//! group and permission bits kept. Every other kind of target is refused with
//! exit 2 before anything is read or created, and is left exactly as it was.
//!
//! Every device node, FIFO, socket and symlink is made inside the test's own
//! temporary directory; no test touches a system path. The tests run as root
//! on CI (device nodes and other owners need it); a few steps that need root
//! say so and are skipped without it.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::nodes::{char_device, fifo};
use crate::support::prelude::*;

const SECRET: &str = "Xk93-pQ7z-Lm20-Wd55";
/// The uid/gid the unprivileged runs use.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Everything observable about a path without reading a device or FIFO:
/// type, mode, owner, inode, link count, and the bytes of a regular file.
#[derive(Debug, PartialEq)]
struct Snapshot {
    lstat: Option<(u32, u32, u32, u64, u64)>,
    link: Option<PathBuf>,
    bytes: Option<Vec<u8>>,
}

fn snapshot(path: &Path) -> Snapshot {
    let meta = std::fs::symlink_metadata(path).ok();
    Snapshot {
        lstat: meta
            .as_ref()
            .map(|m| (m.mode(), m.uid(), m.gid(), m.ino(), m.nlink())),
        link: std::fs::read_link(path).ok(),
        bytes: meta
            .filter(|m| m.file_type().is_file())
            .and_then(|_| std::fs::read(path).ok()),
    }
}

/// Every entry under `dir` (recursively, symlinks not followed) with its snapshot.
fn tree(dir: &Path) -> Vec<(PathBuf, Snapshot)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                stack.push(p.clone());
            }
            let s = snapshot(&p);
            out.push((p, s));
        }
    }
    out
}

fn write_args(target: &Path) -> Args {
    Args::valid().set("--write", &target.to_string_lossy())
}

/// `emit-env --write`, bounded: a FIFO must not block the run.
fn emit(sb: &Sandbox, args: &Args, extra: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let mut sub = vec!["emit-env"];
    sub.extend_from_slice(extra);
    let r = run(sb, &sub, args, &[]);
    (r, started.elapsed())
}

/// Refused with exit 2 at once, the reason on stderr naming `words`, no
/// secret anywhere, and nothing in the sandbox changed.
#[track_caller]
fn assert_refused(sb: &Sandbox, args: &Args, extra: &[&str], words: &[&str]) -> Run {
    let before = tree(sb.path());
    let (r, took) = emit(sb, args, extra);
    assert_eq!(r.code, 2, "must refuse with exit 2:\n{}", r.show());
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}:\n{}",
        r.show()
    );
    for w in words {
        assert!(
            r.stderr.to_lowercase().contains(&w.to_lowercase()),
            "stderr must say {w:?}:\n{}",
            r.show()
        );
    }
    r.assert_hides(SECRET, "the secret");
    assert_eq!(
        tree(sb.path()),
        before,
        "the sandbox changed:\n{}",
        r.show()
    );
    r
}

#[test]
fn a_character_device_is_refused_and_left_alone() {
    let sb = Sandbox::new();
    let Some(dev) = char_device(sb.path(), "null") else {
        return;
    };
    assert_refused(&sb, &write_args(&dev), &[], &["character device", "null"]);
    assert!(
        std::fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let sb = Sandbox::new();
    let f = fifo(sb.path(), "romm.env");
    assert_refused(&sb, &write_args(&f), &[], &["FIFO"]);
}

#[test]
fn a_unix_socket_is_refused() {
    let sb = Sandbox::new();
    let path = sb.path().join("romm.env");
    let _listener = std::os::unix::net::UnixListener::bind(&path).expect("bind a unix socket");
    assert_refused(&sb, &write_args(&path), &[], &["socket"]);
}

#[test]
fn a_directory_is_refused() {
    let sb = Sandbox::new();
    let d = sb.path().join("env.d");
    std::fs::create_dir(&d).unwrap();
    assert_refused(&sb, &write_args(&d), &[], &["directory"]);
}

#[test]
fn a_symlink_to_a_device_or_fifo_is_refused_and_stays_a_symlink() {
    let sb = Sandbox::new();
    let f = fifo(sb.path(), "pipe");
    let link = sb.path().join("romm.env");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    assert_refused(&sb, &write_args(&link), &[], &["FIFO", "pipe"]);
    if let Some(dev) = char_device(sb.path(), "null") {
        let link = sb.path().join("to-null.env");
        std::os::unix::fs::symlink(&dev, &link).unwrap();
        assert_refused(&sb, &write_args(&link), &[], &["character device"]);
    }
}

#[test]
fn a_dangling_symlink_is_refused_and_its_target_not_created() {
    let sb = Sandbox::new();
    let link = sb.path().join("romm.env");
    std::os::unix::fs::symlink(sb.path().join("missing/romm.env"), &link).unwrap();
    assert_refused(&sb, &write_args(&link), &[], &["does not exist"]);
    let link = sb.path().join("other.env");
    std::os::unix::fs::symlink("elsewhere.env", &link).unwrap();
    assert_refused(&sb, &write_args(&link), &[], &["does not exist"]);
    assert!(!sb.path().join("elsewhere.env").exists());
}

#[test]
fn a_symlink_loop_is_refused() {
    let sb = Sandbox::new();
    let a = sb.path().join("a.env");
    let b = sb.path().join("b.env");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    assert_refused(&sb, &write_args(&a), &[], &["symlink"]);
}

#[test]
fn a_symlink_to_a_regular_file_is_written_through_and_said_so() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("real")).unwrap();
    let real = sb.file("real/romm.env", "DB_HOST=mariadb\n");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = sb.path().join("romm.env");
    std::os::unix::fs::symlink("real/romm.env", &link).unwrap();
    let (r, _) = emit(&sb, &write_args(&link), &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(r.stderr.contains("through the symlink"), "{}", r.show());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("real/romm.env"),
        "the link must stay a link to the same place"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.starts_with("DB_HOST=mariadb\n") && text.contains(SECRET),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().mode() & 0o7777,
        0o640,
        "mode kept"
    );
}

#[test]
fn a_read_only_file_is_refused_unless_write_read_only() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o440)).unwrap();
    assert_refused(
        &sb,
        &write_args(&target),
        &[],
        &["read-only", "--write-read-only"],
    );
    let (r, _) = emit(&sb, &write_args(&target), &["--write-read-only"]);
    assert_eq!(r.code, 0, "{}", r.show());
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o440, "the read-only mode is kept");
    assert!(std::fs::read_to_string(&target).unwrap().contains(SECRET));
}

#[test]
fn a_file_with_other_hard_links_is_refused() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\n");
    std::fs::hard_link(&target, sb.path().join("backup.env")).unwrap();
    assert_refused(&sb, &write_args(&target), &[], &["2 hard links"]);
}

#[test]
fn owner_group_and_mode_are_kept_and_special_bits_dropped() {
    let sb = Sandbox::new();
    let target = sb.file("romm.env", "DB_HOST=mariadb\nOIDC_CLIENT_ID=old\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = if is_root() {
        std::os::unix::fs::chown(&target, Some(1234), Some(5678)).unwrap();
        (1234, 5678)
    } else {
        let m = std::fs::metadata(&target).unwrap();
        (m.uid(), m.gid())
    };
    let ino = std::fs::metadata(&target).unwrap().ino();
    let (r, _) = emit(&sb, &write_args(&target), &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let meta = std::fs::metadata(&target).unwrap();
    assert_ne!(meta.ino(), ino, "replaced by rename");
    assert_eq!((meta.uid(), meta.gid()), owner, "owner and group kept");
    assert_eq!(meta.mode() & 0o7777, 0o640, "mode kept");
    // setuid, setgid and sticky never carry over to a file holding a secret.
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o7640)).unwrap();
    let (r, _) = emit(&sb, &write_args(&target), &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(
        std::fs::metadata(&target).unwrap().mode() & 0o7777,
        0o640,
        "special bits dropped"
    );
}

#[test]
fn a_new_file_is_0600_whatever_the_umask() {
    for umask in ["000", "022", "277"] {
        let sb = Sandbox::new();
        let target = sb.path().join("new.env");
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" emit-env \"$@\""))
            .arg(bin::path())
            .args(write_args(&target).to_vec());
        let r = process::run(process::clean(&mut c).current_dir(sb.path()), RUN_LIMIT);
        assert_eq!(r.code, 0, "umask {umask}: {}", r.show());
        let mode = std::fs::metadata(&target).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600, "umask {umask}: new file mode {mode:o}");
    }
}

/// Runs `emit-env` as the unprivileged user `nobody` (root only).
fn emit_as_nobody(sb: &Sandbox, args: &Args) -> Run {
    let mut c = bin::command(sb.path());
    c.arg("emit-env")
        .args(args.to_vec())
        .uid(NOBODY)
        .gid(NOBODY);
    process::run(&mut c, RUN_LIMIT)
}

/// As `nobody`, `emit-env --write romm.env` in a sandbox of mode
/// `folder_mode` holding romm.env, prepared by `prepare`: refused with `word`
/// on stderr and nothing changed (root only: it makes files of other users).
fn assert_refused_as_nobody(folder_mode: u32, prepare: fn(&Path), word: &str) {
    if !is_root() {
        eprintln!("note: needs root to run as another user; skipped");
        return;
    }
    let sb = Sandbox::new();
    std::fs::set_permissions(sb.path(), std::fs::Permissions::from_mode(folder_mode)).unwrap();
    let target = sb.file("romm.env", "DB_HOST=mariadb\n");
    prepare(&target);
    let before = tree(sb.path());
    let r = emit_as_nobody(&sb, &write_args(&target));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains(word), "{}", r.show());
    assert_eq!(tree(sb.path()), before, "{}", r.show());
}

/// nobody may write the folder and root's file, but cannot give a new file
/// root's ownership.
#[test]
fn a_file_whose_owner_cannot_be_kept_is_refused() {
    assert_refused_as_nobody(
        0o777,
        |f| std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666)).unwrap(),
        "owner",
    );
}

/// nobody owns the file but may not create the new one beside it.
#[test]
fn a_folder_that_cannot_be_written_is_refused_with_the_reason() {
    assert_refused_as_nobody(
        0o755,
        |f| std::os::unix::fs::chown(f, Some(NOBODY), Some(NOBODY)).unwrap(),
        "folder must be writable",
    );
}

#[test]
fn env_file_and_write_may_name_the_same_file() {
    let sb = Sandbox::new();
    let text = "# mine\nDB_HOST=mariadb\nOIDC_CLIENT_ID=romm-client\nOIDC_PROVIDER=authelia\n";
    let target = sb.file("romm.env", text);
    let args = write_args(&target).set("--env-file", &target.to_string_lossy());
    let (r, _) = emit(&sb, &args, &[]);
    assert_eq!(r.code, 0, "{}", r.show());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(
        written.starts_with("# mine\nDB_HOST=mariadb\n"),
        "{written}"
    );
    // A value that already reads the same keeps its bytes.
    assert!(written.contains("\nOIDC_PROVIDER=authelia\n"), "{written}");
    assert!(written.contains(SECRET), "{written}");
}

#[test]
fn the_wizard_refuses_a_device_before_asking_or_reading_anything() {
    let sb = Sandbox::new();
    let f = fifo(sb.path(), "romm.env");
    let before = tree(sb.path());
    let started = Instant::now();
    // An issuer nobody answers: the refusal must come before any network step.
    let r = run(
        &sb,
        &["wizard", "--yes"],
        &write_args(&f).set("--issuer", "http://127.0.0.1:9"),
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("FIFO"), "{}", r.show());
    assert!(
        !r.stderr.contains("127.0.0.1:9"),
        "no network step before the refusal:\n{}",
        r.show()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(tree(sb.path()), before);
    if let Some(dev) = char_device(sb.path(), "null") {
        let before = tree(sb.path());
        let r = run(&sb, &["wizard", "--yes"], &write_args(&dev), &[]);
        assert_eq!(r.code, 2, "{}", r.show());
        assert!(r.stderr.contains("character device"), "{}", r.show());
        assert_eq!(tree(sb.path()), before);
    }
}

fn generate(sb: &Sandbox, out: &Path) -> Run {
    run(
        sb,
        &["generate", "--out-dir", &out.to_string_lossy()],
        &Args::new(),
        &[],
    )
}

#[test]
fn generate_refuses_a_device_or_fifo_among_its_outputs() {
    let sb = Sandbox::new();
    let out = sb.path().join("out");
    std::fs::create_dir_all(out.join("completions")).unwrap();
    std::fs::create_dir_all(out.join("man")).unwrap();
    let f = fifo(&out.join("completions"), "romm-oidc.bash");
    let before = tree(sb.path());
    let started = Instant::now();
    let r = generate(&sb, &out);
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("FIFO"), "{}", r.show());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(tree(sb.path()), before, "nothing may be written");
    std::fs::remove_file(&f).unwrap();
    if char_device(&out.join("man"), "romm-oidc.1").is_some() {
        let before = tree(sb.path());
        let r = generate(&sb, &out);
        assert_eq!(r.code, 2, "{}", r.show());
        assert!(r.stderr.contains("character device"), "{}", r.show());
        assert_eq!(tree(sb.path()), before, "nothing may be written");
    }
}

#[test]
fn generate_writes_new_files_0644_and_keeps_existing_modes() {
    let sb = Sandbox::new();
    let out = sb.path().join("out");
    let r = generate(&sb, &out);
    assert_eq!(r.code, 0, "{}", r.show());
    let bash = out.join("completions/romm-oidc.bash");
    assert_eq!(std::fs::metadata(&bash).unwrap().mode() & 0o7777, 0o644);
    std::fs::set_permissions(&bash, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&bash, "stale").unwrap();
    let r = generate(&sb, &out);
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(std::fs::metadata(&bash).unwrap().mode() & 0o7777, 0o600);
    assert_ne!(std::fs::read_to_string(&bash).unwrap(), "stale");
}
