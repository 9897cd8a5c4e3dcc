//! Where external weights come from. The loader asks a [`WeightSource`] for
//! byte ranges named by ONNX `external_data` entries; hosts decide what a
//! location means (a file next to the model, a fetched shard, ...).

use bytes::Bytes;
use runnx_ir::{Error, Result};

pub trait WeightSource: Send + Sync {
    /// Bytes `offset..offset+length` of `location` (to its end when `length` is None).
    fn read(&self, location: &str, offset: u64, length: Option<u64>) -> Result<Bytes>;
}

/// The source for models without external data: every request is an error.
pub struct NoWeights;

impl WeightSource for NoWeights {
    fn read(&self, location: &str, _offset: u64, _length: Option<u64>) -> Result<Bytes> {
        Err(Error::Weights(format!(
            "tensor data is in external file '{location}', but the model was given as bytes with no weight source"
        )))
    }
}

/// Slice `offset..offset+length` out of a whole buffer, checking bounds.
pub fn slice_range(
    whole: &Bytes,
    location: &str,
    offset: u64,
    length: Option<u64>,
) -> Result<Bytes> {
    let size = whole.len() as u64;
    let end = match length {
        Some(len) => offset.checked_add(len),
        None => Some(size),
    };
    match end {
        Some(end) if offset <= end && end <= size => Ok(whole.slice(offset as usize..end as usize)),
        _ => Err(Error::Weights(format!(
            "external data range offset {offset} length {length:?} is outside '{location}' ({size} bytes)"
        ))),
    }
}

#[cfg(feature = "fs")]
pub use fs::DirWeights;

#[cfg(feature = "fs")]
mod fs {
    use super::*;
    use std::collections::HashMap;
    use std::path::{Component, Path, PathBuf};
    use std::sync::Mutex;

    /// External data files in one folder (the model's), memory-mapped once each.
    /// Locations that leave the folder (`..`, absolute paths, symlinks pointing
    /// out) are refused.
    pub struct DirWeights {
        root: PathBuf,
        files: Mutex<HashMap<PathBuf, Bytes>>,
    }

    impl DirWeights {
        pub fn new(root: impl Into<PathBuf>) -> Result<DirWeights> {
            let root = root.into();
            let root = root
                .canonicalize()
                .map_err(|e| Error::Weights(format!("model folder {}: {e}", root.display())))?;
            Ok(DirWeights {
                root,
                files: Mutex::new(HashMap::new()),
            })
        }

        fn resolve(&self, location: &str) -> Result<PathBuf> {
            let rel = Path::new(location);
            let plain = rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if location.is_empty() || !plain {
                return Err(Error::Weights(format!(
                    "external data location '{location}' must be a relative path inside the model folder"
                )));
            }
            let path = self
                .root
                .join(rel)
                .canonicalize()
                .map_err(|e| Error::Weights(format!("external data '{location}': {e}")))?;
            if !path.starts_with(&self.root) {
                return Err(Error::Weights(format!(
                    "external data location '{location}' resolves outside the model folder"
                )));
            }
            Ok(path)
        }

        fn map(&self, path: &Path, location: &str) -> Result<Bytes> {
            let mut files = self
                .files
                .lock()
                .map_err(|_| Error::Weights("weight cache poisoned".into()))?;
            if let Some(b) = files.get(path) {
                return Ok(b.clone());
            }
            let file = std::fs::File::open(path)
                .map_err(|e| Error::Weights(format!("external data '{location}': {e}")))?;
            // SAFETY: the map is read-only; a file truncated under us by another
            // process is outside what any loader can defend against.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .map_err(|e| Error::Weights(format!("external data '{location}': {e}")))?;
            let bytes = Bytes::from_owner(map);
            files.insert(path.to_path_buf(), bytes.clone());
            Ok(bytes)
        }
    }

    impl WeightSource for DirWeights {
        fn read(&self, location: &str, offset: u64, length: Option<u64>) -> Result<Bytes> {
            let path = self.resolve(location)?;
            let whole = self.map(&path, location)?;
            slice_range(&whole, location, offset, length)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn refuses_locations_outside_the_folder() {
            let dir = tempfile::tempdir().unwrap();
            let inner = dir.path().join("model");
            std::fs::create_dir(&inner).unwrap();
            std::fs::write(dir.path().join("secret.bin"), [1u8; 8]).unwrap();
            std::fs::write(inner.join("w.bin"), [7u8; 8]).unwrap();
            #[cfg(unix)]
            std::os::unix::fs::symlink(dir.path().join("secret.bin"), inner.join("link.bin"))
                .unwrap();
            let w = DirWeights::new(&inner).unwrap();
            assert_eq!(&w.read("w.bin", 2, Some(4)).unwrap()[..], &[7u8; 4]);
            for bad in ["../secret.bin", "/etc/passwd", "", "sub/../../secret.bin"] {
                assert!(w.read(bad, 0, None).is_err(), "{bad} accepted");
            }
            #[cfg(unix)]
            assert!(w.read("link.bin", 0, None).is_err());
            assert!(w.read("w.bin", 4, Some(8)).is_err());
            assert!(w.read("w.bin", u64::MAX, Some(2)).is_err());
        }
    }
}
