//! The files that some process has locked with `flock`, read from
//! `/proc/locks`. A running server locks its database file and the `-shm`
//! file beside the path it opened, so a command can tell whether a server has
//! the database open, and under which path.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

/// The device (major and minor number) and inode of each file that some
/// process has locked with `flock`, with the id of that process.
pub struct FlockedFiles(HashMap<(u32, u32, u64), u32>);

impl FlockedFiles {
    /// Reads `/proc/locks`. Returns `None` when it cannot be read, as
    /// without a mounted `/proc`.
    pub fn read() -> Option<FlockedFiles> {
        std::fs::read_to_string("/proc/locks")
            .ok()
            .map(|text| FlockedFiles::parse(&text))
    }

    /// Reads the held `FLOCK` lines of `text`, in the format of
    /// `/proc/locks`, such as `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`.
    /// A line of a process that waits for a lock starts with `->` and is
    /// skipped.
    fn parse(text: &str) -> FlockedFiles {
        let files = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace().skip(1);
                if fields.next() != Some("FLOCK") {
                    return None;
                }
                // The lock mode, its access, the process id, then the file.
                let pid = fields.nth(2)?.parse().ok()?;
                let file = fields.next()?;
                let mut numbers = file.split(':');
                let major = u32::from_str_radix(numbers.next()?, 16).ok()?;
                let minor = u32::from_str_radix(numbers.next()?, 16).ok()?;
                let inode = numbers.next()?.parse().ok()?;
                Some(((major, minor, inode), pid))
            })
            .collect();
        FlockedFiles(files)
    }

    /// Returns the id of the process that has locked the file of `metadata`
    /// with `flock`, or `None` when no process has.
    pub fn holder(&self, metadata: &Metadata) -> Option<u32> {
        let device = metadata.dev();
        let key = (
            rustix::fs::major(device),
            rustix::fs::minor(device),
            metadata.ino(),
        );
        self.0.get(&key).copied()
    }
}

/// Returns the path under which process `pid` has the file of `metadata`
/// open, as `/proc/PID/fd` shows it, or `None` when this user may not read
/// that process's files or it has no such file open.
pub fn open_path(pid: u32, metadata: &Metadata) -> Option<PathBuf> {
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    descriptors.flatten().find_map(|descriptor| {
        let target = std::fs::metadata(descriptor.path()).ok()?;
        let same = target.dev() == metadata.dev() && target.ino() == metadata.ino();
        same.then(|| std::fs::read_link(descriptor.path()).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_flock_is_read() {
        let files = FlockedFiles::parse("1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF\n");
        assert_eq!(files.0.get(&(0xfd, 1, 1234)), Some(&4242));
    }

    #[test]
    fn waiting_flock_is_skipped() {
        let files = FlockedFiles::parse("1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234 0 EOF\n");
        assert!(files.0.is_empty());
    }

    #[test]
    fn posix_lock_is_skipped() {
        let files = FlockedFiles::parse("2: POSIX  ADVISORY  READ 4244 fd:01:99 128 128\n");
        assert!(files.0.is_empty());
    }

    #[test]
    fn own_flock_is_found() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("locked");
        let file = std::fs::File::create(&path).expect("create the file");
        file.try_lock().expect("lock the file");
        let files = FlockedFiles::read().expect("read /proc/locks");
        let metadata = std::fs::metadata(&path).expect("metadata");
        assert_eq!(files.holder(&metadata), Some(std::process::id()));
    }

    #[test]
    fn open_path_names_own_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("open");
        let _file = std::fs::File::create(&path).expect("create the file");
        let metadata = std::fs::metadata(&path).expect("metadata");
        assert_eq!(open_path(std::process::id(), &metadata), Some(path));
    }
}
