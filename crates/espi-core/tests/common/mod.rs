//! What several test files share.

use std::path::{Path, PathBuf};

/// Every XML sample: the bundled ones (`testdata/`) and, when present, the
/// shared collection (`../shared/espi-samples/public`). At least the bundled
/// seven are always there.
pub fn sample_files() -> Vec<PathBuf> {
    let dirs = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/espi-samples/public"),
    ];
    let mut files = Vec::new();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
            {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 7, "bundled samples missing");
    files
}
