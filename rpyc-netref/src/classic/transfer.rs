//! File transfer over a classic connection, as `rpyc.classic.upload` and `download` do it:
//! files go through the server's `open` in chunks of [`STREAM_CHUNK`] bytes (one chunk in
//! memory at a time, whatever the file's size), directories are walked one entry at a time
//! with the server's `os.listdir`, `os.path.isdir`/`isfile`, `os.makedirs` and
//! `os.path.join`.
//!
//! Local files are read and written with `tokio::fs`. Names that come from the server are
//! checked before they touch the local file system: a directory entry that is not one plain
//! path component (`..`, `a/b`, an absolute path) is refused, so a hostile server cannot make
//! `download` write outside the target directory.

use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

use rpyc_core::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ClassicConnection;
use crate::error::{Error, Result};
use crate::netref::NetRef;

/// The chunk size of [`ClassicConnection::upload`] and [`ClassicConnection::download`]: 64 000
/// bytes, RPyC's `STREAM_CHUNK`.
pub const STREAM_CHUNK: usize = 64_000;

type Step<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

impl ClassicConnection {
    /// Uploads a local file or directory tree to `remote` on the server
    /// (`rpyc.classic.upload`). A directory is created there if missing (with its parents) and
    /// filled entry by entry; entries that are neither files nor directories are skipped. A
    /// `local` that is neither is an [`Error::Io`].
    pub async fn upload(&self, local: impl AsRef<Path>, remote: &str) -> Result<()> {
        let local = local.as_ref();
        match tokio::fs::metadata(local).await {
            Ok(m) if m.is_dir() => {
                self.upload_dir(local.to_path_buf(), remote.to_string())
                    .await
            }
            Ok(m) if m.is_file() => self.upload_file(local, remote).await,
            Ok(_) => Err(Error::io(local, not_found("not a file or a directory"))),
            Err(e) => Err(Error::io(local, e)),
        }
    }

    /// Downloads a file or directory tree from `remote` on the server to `local`
    /// (`rpyc.classic.download`). A local directory is created if missing (with its parents);
    /// remote entries that are neither files nor directories are skipped. A `remote` that is
    /// neither is an [`Error::Io`] (`NotFound`).
    pub async fn download(&self, remote: &str, local: impl AsRef<Path>) -> Result<()> {
        let local = local.as_ref();
        match self.remote_kind(remote).await? {
            Kind::Dir => {
                self.download_dir(remote.to_string(), local.to_path_buf())
                    .await
            }
            Kind::File => self.download_file(remote, local).await,
            Kind::Other => Err(Error::io(
                remote,
                not_found("not a file or a directory on the server"),
            )),
        }
    }

    fn upload_dir(&self, local: PathBuf, remote: String) -> Step<'_> {
        Box::pin(async move {
            let os = self.module("os").await?;
            let os_path = self.module("os.path").await?;
            if !os_path
                .call_method("isdir", (remote.as_str(),))
                .await?
                .is_truthy()
            {
                os.call_method("makedirs", (remote.as_str(),)).await?;
            }
            let mut entries = tokio::fs::read_dir(&local)
                .await
                .map_err(|e| Error::io(&local, e))?;
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| Error::io(&local, e))?
            {
                let path = entry.path();
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    return Err(Error::io(
                        &path,
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a file name that is not UTF-8 cannot be sent to Python",
                        ),
                    ));
                };
                let rfn: String = os_path
                    .call_method("join", (remote.as_str(), name))
                    .await?
                    .extract()?;
                // Python's `upload(..., ignore_invalid=True)`: what is neither is skipped.
                match tokio::fs::metadata(&path).await {
                    Ok(m) if m.is_dir() => self.upload_dir(path, rfn).await?,
                    Ok(m) if m.is_file() => self.upload_file(&path, &rfn).await?,
                    _ => {}
                }
            }
            Ok(())
        })
    }

    async fn upload_file(&self, local: &Path, remote: &str) -> Result<()> {
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|e| Error::io(local, e))?;
        let rf = self.open(remote, "wb").await?;
        let copied = async {
            let mut buf = vec![0u8; STREAM_CHUNK];
            loop {
                let n = read_chunk(&mut file, &mut buf)
                    .await
                    .map_err(|e| Error::io(local, e))?;
                if n == 0 {
                    return Ok(());
                }
                rf.call_method("write", (Value::bytes(buf[..n].to_vec()),))
                    .await?;
            }
        }
        .await;
        // Closed whatever happened, as Python's `with` block does.
        let closed = rf.call_method("close", ()).await.map(drop);
        copied.and(closed)
    }

    fn download_dir(&self, remote: String, local: PathBuf) -> Step<'_> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&local)
                .await
                .map_err(|e| Error::io(&local, e))?;
            let os = self.module("os").await?;
            let os_path = self.module("os.path").await?;
            let listing: NetRef = os
                .call_method("listdir", (remote.as_str(),))
                .await?
                .extract()?;
            let names: Vec<String> = listing.fetch().await?;
            for name in names {
                let lfn = local.join(plain_name(&name)?);
                let rfn: String = os_path
                    .call_method("join", (remote.as_str(), name.as_str()))
                    .await?
                    .extract()?;
                // Python's `download(..., ignore_invalid=True)`: what is neither is skipped.
                match self.remote_kind(&rfn).await? {
                    Kind::Dir => self.download_dir(rfn, lfn).await?,
                    Kind::File => self.download_file(&rfn, &lfn).await?,
                    Kind::Other => {}
                }
            }
            Ok(())
        })
    }

    async fn download_file(&self, remote: &str, local: &Path) -> Result<()> {
        let rf = self.open(remote, "rb").await?;
        let copied = async {
            let mut file = tokio::fs::File::create(local)
                .await
                .map_err(|e| Error::io(local, e))?;
            loop {
                let chunk = rf.call_method("read", (STREAM_CHUNK,)).await?;
                let Value::Bytes(bytes) = chunk else {
                    return Err(Error::Protocol(format!(
                        "read() of the remote file {remote:?} returned {}, not bytes",
                        chunk.type_name()
                    )));
                };
                if bytes.is_empty() {
                    break;
                }
                file.write_all(&bytes)
                    .await
                    .map_err(|e| Error::io(local, e))?;
            }
            file.flush().await.map_err(|e| Error::io(local, e))
        }
        .await;
        let closed = rf.call_method("close", ()).await.map(drop);
        copied.and(closed)
    }

    /// The server's `open(path, mode)`.
    async fn open(&self, path: &str, mode: &str) -> Result<NetRef> {
        Ok(self
            .builtins()
            .call_method("open", (path, mode))
            .await?
            .extract()?)
    }

    async fn remote_kind(&self, remote: &str) -> Result<Kind> {
        let os_path = self.module("os.path").await?;
        if os_path.call_method("isdir", (remote,)).await?.is_truthy() {
            Ok(Kind::Dir)
        } else if os_path.call_method("isfile", (remote,)).await?.is_truthy() {
            Ok(Kind::File)
        } else {
            Ok(Kind::Other)
        }
    }
}

/// What a remote path is.
enum Kind {
    Dir,
    File,
    Other,
}

fn not_found(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, what.to_string())
}

/// A directory entry named by the server, as one plain local path component.
fn plain_name(name: &str) -> Result<&Path> {
    let path = Path::new(name);
    let mut parts = path.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Ok(path),
        _ => Err(Error::Protocol(format!(
            "the server listed a directory entry that is not a plain file name: {}",
            rpyc_core::vinegar::echoed_name(name)
        ))),
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file (a Python file's
/// `read(n)`).
async fn read_chunk(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}
