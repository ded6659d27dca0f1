//! Reading a log the user names, bounded: the newest `LOG_LIMIT` bytes of a
//! regular file (read from its end), or of a stream (stdin, a FIFO, a
//! device), which is read until it ends, goes quiet for the idle time, or
//! has given `STREAM_LIMIT` bytes.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The most of a log that is judged: its newest 16 MiB (a busy day at
/// DEBUG; one login at INFO is about 1 KB, a traceback 10 KB).
pub const LOG_LIMIT: usize = 16 << 20;
/// The most read from a stream that does not end.
const STREAM_LIMIT: u64 = 256 << 20;
const CHUNK: usize = 64 * 1024;

/// What was read, and what the reading left out.
#[derive(Debug)]
pub struct Input {
    pub bytes: Vec<u8>,
    /// Names what was read, for the findings ("romm.log", "stdin").
    pub label: String,
    /// What the reading left out, for the findings' detail.
    pub notes: Vec<String>,
}

/// Reads `path` (`-`: stdin). A terminal on stdin is refused, as nothing
/// would tell a paste's end; `idle` bounds a stream that goes quiet.
pub fn read(path: &Path, idle: Duration) -> Result<Input> {
    if path == Path::new("-") {
        if io::stdin().is_terminal() {
            bail!(
                "stdin is a terminal: give RomM's log as a file, or pipe it in, e.g. docker logs --since 24h romm 2>&1 | romm-oidc explain"
            );
        }
        return stream(|| Ok(Box::new(io::stdin())), "stdin".into(), idle);
    }
    let shown = path.display().to_string();
    let meta = fs::metadata(path).with_context(|| format!("cannot read {shown}"))?;
    if meta.is_dir() {
        bail!("{shown} is a directory; give RomM's log file");
    }
    if !meta.is_file() {
        // A FIFO (`<(docker logs romm)`) or a device: open it in the reader,
        // where a FIFO without a writer cannot block the run.
        let owned = path.to_path_buf();
        return stream(
            move || Ok(Box::new(File::open(owned)?)),
            shown.clone(),
            idle,
        )
        .with_context(|| format!("cannot read {shown}"));
    }
    let mut file = File::open(path).with_context(|| format!("cannot read {shown}"))?;
    let size = file
        .metadata()
        .with_context(|| format!("cannot read {shown}"))?
        .len();
    let start = size.saturating_sub(LOG_LIMIT as u64);
    file.seek(SeekFrom::Start(start))
        .with_context(|| format!("cannot read {shown}"))?;
    let mut bytes = Vec::new();
    // At most what the file held when opened: a file that grows meanwhile
    // does not keep the read going.
    file.take(size - start)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {shown}"))?;
    let mut notes = Vec::new();
    if start > 0 {
        bytes = from_line_start(bytes);
        notes.push(format!(
            "Only the newest {} of {shown}'s {} were read.",
            mib(LOG_LIMIT as u64),
            mib(size)
        ));
    }
    Ok(Input {
        bytes,
        label: shown,
        notes,
    })
}

/// Reads a stream in a thread of its own, keeping its newest `LOG_LIMIT`
/// bytes; the thread is left blocked when the stream stays open past the
/// bounds (it ends with the process).
fn stream(
    open: impl FnOnce() -> io::Result<Box<dyn Read + Send>> + Send + 'static,
    label: String,
    idle: Duration,
) -> Result<Input> {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let mut reader = match open() {
            Ok(reader) => reader,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        loop {
            let mut chunk = vec![0; CHUNK];
            match reader.read(&mut chunk) {
                Ok(n) => {
                    chunk.truncate(n);
                    if tx.send(Ok(chunk)).is_err() || n == 0 {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    let mut kept: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut notes = Vec::new();
    loop {
        match rx.recv_timeout(idle) {
            Ok(Ok(chunk)) if chunk.is_empty() => break,
            Ok(Ok(chunk)) => {
                total += chunk.len() as u64;
                kept.extend_from_slice(&chunk);
                if kept.len() > 2 * LOG_LIMIT {
                    kept.drain(..kept.len() - LOG_LIMIT);
                }
                if total >= STREAM_LIMIT {
                    notes.push(format!(
                        "{label} had not ended after {}; what came until then was read.",
                        mib(total)
                    ));
                    break;
                }
            }
            Ok(Err(e)) => return Err(e).with_context(|| format!("cannot read {label}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                notes.push(format!(
                    "{label} stayed open without sending anything for {} s; what came until then was read.",
                    idle.as_secs_f64()
                ));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if kept.len() > LOG_LIMIT {
        kept = from_line_start(kept.split_off(kept.len() - LOG_LIMIT));
    }
    if total > kept.len() as u64 {
        notes.push(format!(
            "Only the newest {} of the {} {label} gave were read.",
            mib(kept.len() as u64),
            mib(total)
        ));
    }
    Ok(Input {
        bytes: kept,
        label,
        notes,
    })
}

/// The bytes after the first line break: a tail cut mid-line starts whole.
pub fn from_line_start(mut bytes: Vec<u8>) -> Vec<u8> {
    let cut = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1);
    bytes.drain(..cut);
    bytes
}

pub fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_is_read_from_its_end_starting_at_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("romm.log");
        let line = "INFO:     [RomM][init][2026-12-05 22:03:11] padding padding\n";
        let mut text = "x".repeat(100);
        while text.len() <= LOG_LIMIT + 10 {
            text.push_str(line);
        }
        fs::write(&path, &text).unwrap();
        let input = read(&path, Duration::from_secs(1)).unwrap();
        assert!(input.bytes.len() <= LOG_LIMIT);
        assert!(input.bytes.starts_with(b"INFO:"), "starts whole");
        assert!(text.as_bytes().ends_with(&input.bytes));
        assert_eq!(input.notes.len(), 1, "{:?}", input.notes);
        assert!(
            input.notes[0].contains("newest 16.0 MiB"),
            "{:?}",
            input.notes
        );
        fs::write(&path, "short\n").unwrap();
        let input = read(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(
            (input.bytes.as_slice(), input.notes.len()),
            (&b"short\n"[..], 0)
        );
    }

    #[test]
    fn a_directory_or_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), Duration::from_secs(1)).unwrap_err();
        assert!(format!("{e:#}").contains("is a directory"), "{e:#}");
        let e = read(&dir.path().join("none"), Duration::from_secs(1)).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read"), "{e:#}");
    }

    #[test]
    fn a_stream_that_goes_quiet_ends_at_the_idle_time_with_what_came() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut writer, b"one\ntwo\n").unwrap();
        let started = std::time::Instant::now();
        let input = stream(
            move || Ok(Box::new(reader)),
            "the pipe".into(),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(input.bytes, b"one\ntwo\n");
        assert!(input.notes[0].contains("stayed open"), "{:?}", input.notes);
        drop(writer);
    }

    #[test]
    fn an_endless_stream_is_cut_and_its_newest_bytes_kept() {
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                for b in buf.iter_mut() {
                    self.0 += 1;
                    *b = if self.0.is_multiple_of(50) {
                        b'\n'
                    } else {
                        b'a'
                    };
                }
                Ok(buf.len())
            }
        }
        let input = stream(
            || Ok(Box::new(Endless(0))),
            "zero".into(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(input.bytes.len() <= LOG_LIMIT && input.bytes.len() > LOG_LIMIT - 100);
        assert!(
            input
                .notes
                .iter()
                .any(|n| n.contains("had not ended after 256.0 MiB")),
            "{:?}",
            input.notes
        );
    }
}
