//! Small file helpers of the node: atomic, owner-only writes (the keystore, the peer list).

use std::path::Path;

/// Writes a file atomically (temporary file, fsync, rename) with owner-only permissions: a crash leaves the
/// old file or the new one, and other users cannot read it.
///
/// # Errors
/// The I/O error.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
