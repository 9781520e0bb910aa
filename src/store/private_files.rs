//! The SQLite database file and its directory, created readable by the service user only:
//! they hold candidates' data and sealed Ashby keys.

use std::path::Path;

use sea_orm::DbErr;

/// Creates the file's directory (0700, each level we create) and the empty file (0600)
/// unless they exist; existing ones keep their modes (an operator chose them). SQLite
/// creates the -wal and -shm files with the database file's mode.
///
/// # Errors
/// The directory or the file cannot be created.
pub fn create(path: &Path) -> Result<(), DbErr> {
    let failed = |what: &Path, error: std::io::Error| {
        DbErr::Custom(format!("cannot create {}: {error}", what.display()))
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|error| failed(dir, error))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(failed(path, error)),
    }
}

/// Bytes free for us on the filesystem holding `path`, if the platform can tell.
pub fn free_bytes(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_database_file_and_the_directories_we_make_are_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a/b/ap.db");
        super::create(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        // Creating again changes nothing and does not fail.
        super::create(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
