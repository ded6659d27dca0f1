//! Special files for the cases that feed the binary something other than a regular
//! file: always made inside the case's own temporary directory, never at a system path.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL in path")
}

/// A character device with the numbers of /dev/null (1, 3), inside the
/// sandbox. `None` without the privilege to make one.
pub fn char_device(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(name);
    // SAFETY: a valid C string; makedev has no preconditions.
    let rc = unsafe {
        libc::mknod(
            c_path(&path).as_ptr(),
            libc::S_IFCHR | 0o666,
            libc::makedev(1, 3),
        )
    };
    if rc != 0 {
        eprintln!(
            "note: cannot mknod in the sandbox ({}); skipping the device case",
            std::io::Error::last_os_error()
        );
        return None;
    }
    Some(path)
}

/// A FIFO `dir/name`.
pub fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    // SAFETY: a valid C string.
    let rc = unsafe { libc::mkfifo(c_path(&path).as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
    path
}
