//! The files the user names: input files read with a size cap, and the one
//! file `--write` replaces. The rules, briefly:
//!
//! - Inputs (`--env-file`, the secret and key files, the CA file) must be
//!   regular files of at most 1 MiB: a FIFO would block, a device could be
//!   endless. `-` reads stdin (capped too) where a flag allows it.
//! - `--write` replaces only a regular file (a symlink is followed to one, and
//!   said so). A device, FIFO, socket or directory is refused before anything
//!   is read or created, as are a dangling symlink, a file with other hard
//!   links (replacing it would split them) and, unless `--write-read-only`, a
//!   file without owner write permission. The new file is written 0600, gets
//!   the old file's owner and group (refused if that fails) and then its
//!   permission bits without setuid, setgid or sticky (0600 for a new file), is
//!   flushed and renamed over the old one; it never carries more permission
//!   bits than the old one had. ACLs of the old file are not copied.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The most any input file may hold (env files and secrets are a few KB).
pub const INPUT_LIMIT: u64 = 1024 * 1024;

/// Why a file cannot be used.
#[derive(Debug)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

/// What a file that is not a regular file is, for messages.
fn kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    if t.is_symlink() {
        return Some("a symlink");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Opens without following a final symlink and without blocking on a FIFO
/// that was swapped in after the check.
fn open_checked(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads at most `INPUT_LIMIT` bytes; more is an error that names `shown`.
fn read_capped(reader: impl Read, shown: &str) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    reader
        .take(INPUT_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError(format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > INPUT_LIMIT {
        return Err(FileError(format!(
            "{shown} is larger than {} KiB, which no env, secret or CA file is",
            INPUT_LIMIT / 1024
        )));
    }
    Ok(bytes)
}

/// The bytes of a regular file the user named (a symlink is followed), at
/// most `INPUT_LIMIT`. Anything else is refused without being opened.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, FileError> {
    let shown = path.display().to_string();
    let meta = fs::metadata(path).map_err(|e| FileError(format!("cannot read {shown}: {e}")))?;
    if let Some(what) = kind(&meta) {
        return Err(FileError(format!(
            "{shown} is {what}; only a regular file can be read"
        )));
    }
    let real =
        fs::canonicalize(path).map_err(|e| FileError(format!("cannot read {shown}: {e}")))?;
    let file = open_checked(&real).map_err(|e| FileError(format!("cannot read {shown}: {e}")))?;
    // The path may have been swapped between the check and the open.
    let opened = file
        .metadata()
        .map_err(|e| FileError(format!("cannot read {shown}: {e}")))?;
    if let Some(what) = kind(&opened) {
        return Err(FileError(format!(
            "{shown} is {what}; only a regular file can be read"
        )));
    }
    read_capped(file, &shown)
}

/// Bytes that must be text: NUL bytes or invalid UTF-8 are an error naming `shown`.
fn text_of(bytes: Vec<u8>, shown: &str) -> Result<String, FileError> {
    if bytes.contains(&0) {
        return Err(FileError(format!(
            "{shown} is not a text file (it contains NUL bytes)"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        FileError(format!(
            "{shown} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A text file the user named (see [`read_bytes`]).
pub fn read_text(path: &Path) -> Result<String, FileError> {
    text_of(read_bytes(path)?, &path.display().to_string())
}

/// Stdin as text, capped like a file.
pub fn read_stdin_text() -> Result<String, FileError> {
    text_of(read_capped(io::stdin().lock(), "stdin")?, "stdin")
}

/// How `--write` may replace its target.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// `--write-read-only`: a file without owner write permission may be replaced.
    pub read_only: bool,
    /// Permission bits of a file that did not exist.
    pub new_mode: u32,
}

impl WriteOptions {
    /// A file that holds a secret: new files are 0600.
    pub fn secret(read_only: bool) -> WriteOptions {
        WriteOptions {
            read_only,
            new_mode: 0o600,
        }
    }
}

/// The file a write goes to, checked; see the module comment for the rules.
pub struct Target {
    /// As the user named it.
    named: PathBuf,
    /// Where the bytes go: the symlink's target, or `named`.
    real: PathBuf,
    /// The existing file, opened (never written through) when the check ran.
    existing: Option<(File, Metadata)>,
    options: WriteOptions,
}

impl Target {
    /// Checks `path` for a write. Nothing is read or created here, and a
    /// target that is not a regular file is never opened.
    pub fn open(path: &Path, options: WriteOptions) -> Result<Target, FileError> {
        let shown = path.display();
        let refuse = |why: String| FileError(format!("{shown}: {why}; nothing was written"));
        if path.as_os_str().is_empty() {
            return Err(FileError("--write needs a file name".into()));
        }
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = parent(path);
                return match fs::metadata(&dir) {
                    Ok(m) if m.is_dir() => Ok(Target {
                        named: path.to_path_buf(),
                        real: path.to_path_buf(),
                        existing: None,
                        options,
                    }),
                    Ok(_) => Err(refuse(format!("{} is not a directory", dir.display()))),
                    Err(e) => Err(refuse(format!(
                        "cannot use the folder {}: {e}",
                        dir.display()
                    ))),
                };
            }
            Err(e) => return Err(refuse(format!("cannot check it: {e}"))),
        };
        let real = if meta.file_type().is_symlink() {
            match fs::canonicalize(path) {
                Ok(real) => real,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let to = fs::read_link(path).unwrap_or_default();
                    return Err(refuse(format!(
                        "it is a symlink to {}, which does not exist; --write follows a symlink only to an existing regular file",
                        to.display()
                    )));
                }
                Err(e) => return Err(refuse(format!("the symlink cannot be followed: {e}"))),
            }
        } else {
            path.to_path_buf()
        };
        let meta =
            fs::symlink_metadata(&real).map_err(|e| refuse(format!("cannot check it: {e}")))?;
        if let Some(what) = kind(&meta) {
            let via = if real == path {
                String::new()
            } else {
                format!(" (the symlink points to {})", real.display())
            };
            return Err(refuse(format!(
                "it is {what}{via}; --write replaces only a regular file"
            )));
        }
        check_replaceable(&meta, options).map_err(refuse)?;
        let file = open_checked(&real).map_err(|e| refuse(format!("cannot open it: {e}")))?;
        let opened = file
            .metadata()
            .map_err(|e| refuse(format!("cannot check it: {e}")))?;
        if !same_file(&meta, &opened) {
            return Err(refuse("it changed while being checked".into()));
        }
        Ok(Target {
            named: path.to_path_buf(),
            real,
            existing: Some((file, opened)),
            options,
        })
    }

    /// The file's current text (empty for a new file), read from the file
    /// that was checked.
    pub fn text(&self) -> Result<String, FileError> {
        let shown = self.named.display().to_string();
        match &self.existing {
            None => Ok(String::new()),
            Some((file, _)) => text_of(read_capped(file, &shown)?, &shown),
        }
    }

    /// Where the write went, for the closing message: the file, and the
    /// symlink it was reached through.
    pub fn describe(&self) -> String {
        if self.real == self.named {
            self.named.display().to_string()
        } else {
            format!(
                "{} (through the symlink {})",
                self.real.display(),
                self.named.display()
            )
        }
    }

    /// Replaces the file with `bytes` atomically (see the module comment).
    pub fn replace(self, bytes: &[u8]) -> Result<(), FileError> {
        let shown = self.named.display();
        let fail = |what: &str, e: io::Error| {
            FileError(format!("{shown}: {what}: {e}; nothing was written"))
        };
        let dir = parent(&self.real);
        // tempfile creates it 0600 (narrowed further by the umask, never widened).
        let mut tmp = tempfile::Builder::new()
            .prefix(".romm-oidc-")
            .tempfile_in(&dir)
            .map_err(|e| {
                fail(
                    &format!(
                        "cannot create a file in {} (the folder must be writable: the file is replaced by renaming a new one over it)",
                        dir.display()
                    ),
                    e,
                )
            })?;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| fail("cannot write the new file", e))?;
        let mode = match &self.existing {
            Some((_, meta)) => {
                keep_owner(tmp.as_file(), meta).map_err(|e| {
                    fail("cannot give the new file the old file's owner and group", e)
                })?;
                permission_bits(meta)
            }
            None => self.options.new_mode,
        };
        set_mode(tmp.as_file(), mode).map_err(|e| fail("cannot set the new file's mode", e))?;
        match &self.existing {
            None => {
                // Never replaces something that appeared meanwhile.
                tmp.persist_noclobber(&self.real)
                    .map_err(|e| fail("cannot create it", e.error))?;
            }
            Some((file, before)) => {
                let now = fs::symlink_metadata(&self.real)
                    .map_err(|e| fail("cannot check it again", e))?;
                let content = file
                    .metadata()
                    .map_err(|e| fail("cannot check it again", e))?;
                if !same_file(before, &now) || changed(before, &content) {
                    return Err(FileError(format!(
                        "{shown} changed while romm-oidc was writing; nothing was written, run it again"
                    )));
                }
                tmp.persist(&self.real)
                    .map_err(|e| fail("cannot replace it", e.error))?;
            }
        }
        // The rename itself is durable once the folder is flushed.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// The folder a file lives in (`.` for a bare name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn check_replaceable(meta: &Metadata, options: WriteOptions) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() > 1 {
        return Err(format!(
            "it has {} hard links, and replacing it would leave the other names with the old contents; write to a file with one link",
            meta.nlink()
        ));
    }
    if meta.mode() & 0o200 == 0 && !options.read_only {
        return Err(format!(
            "it is read-only (mode {:04o}); pass --write-read-only to replace it anyway (the new file keeps that mode)",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_replaceable(meta: &Metadata, options: WriteOptions) -> Result<(), String> {
    if meta.permissions().readonly() && !options.read_only {
        return Err("it is read-only; pass --write-read-only to replace it anyway".into());
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// Whether the contents changed since `before` (size or modification time).
fn changed(before: &Metadata, now: &Metadata) -> bool {
    before.len() != now.len() || before.modified().ok() != now.modified().ok()
}

/// The old file's permission bits, without setuid, setgid and sticky.
#[cfg(unix)]
fn permission_bits(meta: &Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    meta.mode() & 0o777
}

#[cfg(not(unix))]
fn permission_bits(_: &Metadata) -> u32 {
    0o600
}

#[cfg(unix)]
fn keep_owner(file: &File, old: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_: &File, _: &Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &Path) -> (PathBuf, Target) {
        let path = dir.join("romm.env");
        fs::write(&path, "A=1\n").unwrap();
        let target = Target::open(&path, WriteOptions::secret(false)).unwrap();
        (path, target)
    }

    #[test]
    fn a_file_changed_after_the_check_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (path, target) = target(dir.path());
        fs::write(&path, "A=1\nB=someone else's edit\n").unwrap();
        let e = target.replace(b"A=2\n").unwrap_err();
        assert!(e.0.contains("changed"), "{e}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "A=1\nB=someone else's edit\n"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left"
        );
    }

    #[test]
    fn a_file_swapped_after_the_check_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (path, target) = target(dir.path());
        let other = dir.path().join("other");
        fs::write(&other, "A=1\n").unwrap();
        fs::rename(&other, &path).unwrap();
        assert!(target.replace(b"A=2\n").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=1\n");
    }

    #[test]
    fn a_file_created_after_the_check_of_a_new_one_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.env");
        let target = Target::open(&path, WriteOptions::secret(false)).unwrap();
        fs::write(&path, "mine\n").unwrap();
        assert!(target.replace(b"A=2\n").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "mine\n");
    }
}
