//! The identity of a delivered feed: its name, size and content hash.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A feed as delivered: the same bytes always give the same `sha256`,
/// whatever the file is called, so a feed delivered twice is recognised.
///
/// ```
/// let feed = espi_lake::Feed::of_bytes("day1.xml", b"<feed/>");
/// assert_eq!(feed.bytes, 7);
/// assert_eq!(feed.sha256.len(), 64);
/// assert_eq!(feed, espi_lake::Feed::of_bytes("copy.xml", b"<feed/>").named("day1.xml"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// The name it was delivered under (file name, or `-` for stdin).
    pub name: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl Feed {
    /// Hash a file, reading it once in 1 MiB blocks.
    pub fn of_file(path: &Path, name: &str) -> io::Result<Feed> {
        let mut file = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        Ok(Feed {
            name: name.to_owned(),
            sha256: hex(&hasher.finalize()),
            bytes,
        })
    }

    /// Hash bytes held in memory.
    pub fn of_bytes(name: &str, content: &[u8]) -> Feed {
        Feed {
            name: name.to_owned(),
            sha256: hex(&Sha256::digest(content)),
            bytes: content.len() as u64,
        }
    }

    /// The same feed under another name.
    pub fn named(mut self, name: &str) -> Feed {
        name.clone_into(&mut self.name);
        self
    }

    /// The Delta application-transaction id that marks this feed as applied
    /// to a table (`espi-feed-<sha256>`).
    pub fn app_id(&self) -> String {
        format!("espi-feed-{}", self.sha256)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({ "name": self.name, "sha256": self.sha256, "bytes": self.bytes })
    }

    pub(crate) fn from_json(value: &Value) -> Option<Feed> {
        Some(Feed {
            name: value.get("name")?.as_str()?.to_owned(),
            sha256: value.get("sha256")?.as_str()?.to_owned(),
            bytes: value.get("bytes")?.as_u64()?,
        })
    }
}

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_text() {
        // FIPS 180-2 test vector.
        assert_eq!(
            Feed::of_bytes("abc", b"abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn file_and_memory_hashes_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        assert_eq!(
            Feed::of_file(&path, "feed.xml").unwrap(),
            Feed::of_bytes("feed.xml", &content)
        );
    }
}
