//! The files that some process holds an `flock` on, read from `/proc/locks`.
//! A running server holds one on its database file and on the `-shm` file
//! beside the path it opened, so a command can tell whether a server has
//! the database open, and under which path.

use std::collections::HashSet;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;

/// The device (major and minor number) and inode of each file that some
/// process holds an `flock` on.
pub struct FlockedFiles(HashSet<(u32, u32, u64)>);

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
                let file = fields.nth(3)?;
                let mut numbers = file.split(':');
                let major = u32::from_str_radix(numbers.next()?, 16).ok()?;
                let minor = u32::from_str_radix(numbers.next()?, 16).ok()?;
                let inode = numbers.next()?.parse().ok()?;
                Some((major, minor, inode))
            })
            .collect();
        FlockedFiles(files)
    }

    /// Returns true when some process holds an `flock` on the file of
    /// `metadata`.
    pub fn contains(&self, metadata: &Metadata) -> bool {
        let device = metadata.dev();
        self.0.contains(&(
            rustix::fs::major(device),
            rustix::fs::minor(device),
            metadata.ino(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_flock_is_read() {
        let files = FlockedFiles::parse("1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF\n");
        assert!(files.0.contains(&(0xfd, 1, 1234)));
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
        assert!(files.contains(&metadata));
    }
}
