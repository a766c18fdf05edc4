//! The tables of a conversion, as polars lazy frames.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::AnalyticsError;

/// The tables the kernels read: `readings` and, when present,
/// `usage_summaries` (billing periods and billed totals).
#[derive(Clone)]
pub struct Dataset {
    /// The readings table (columns as `espi convert` writes them).
    pub readings: LazyFrame,
    /// The usage_summaries table, if the input had UsageSummary entries.
    pub usage_summaries: Option<LazyFrame>,
    /// Kernels that need every reading of a group at once (percentiles,
    /// gaps, billing periods) run on chunks of whole usage points of about
    /// this many readings, so that memory follows the chunk, not the table.
    pub chunk_readings: u64,
}

/// The default [`Dataset::chunk_readings`]: about 1 GiB of working memory.
pub const CHUNK_READINGS: u64 = 8_000_000;

impl Dataset {
    /// Open the folder written by `espi convert` (`DIR/readings/**.parquet`,
    /// `DIR/usage_summaries/**.parquet`; hive partition folders are read
    /// through, the partition keys are not needed).
    pub fn open(dir: &Path) -> Result<Dataset, AnalyticsError> {
        let readings = parquet_files(&dir.join("readings"))?;
        if readings.is_empty() {
            return Err(AnalyticsError::NoReadings(dir.to_owned()));
        }
        let summaries = parquet_files(&dir.join("usage_summaries"))?;
        Ok(Dataset {
            readings: scan(readings)?,
            usage_summaries: if summaries.is_empty() {
                None
            } else {
                Some(scan(summaries)?)
            },
            chunk_readings: CHUNK_READINGS,
        })
    }

    /// A dataset of frames already in memory (or scanned elsewhere).
    pub fn from_frames(readings: LazyFrame, usage_summaries: Option<LazyFrame>) -> Dataset {
        Dataset {
            readings,
            usage_summaries,
            chunk_readings: CHUNK_READINGS,
        }
    }
}

fn scan(files: Vec<PathBuf>) -> Result<LazyFrame, AnalyticsError> {
    let paths: Vec<PlRefPath> = files
        .into_iter()
        .map(PlRefPath::try_from_pathbuf)
        .collect::<PolarsResult<_>>()?;
    let args = ScanArgsParquet {
        // Files of one table may differ in columns added by later versions.
        allow_missing_columns: true,
        ..ScanArgsParquet::default()
    };
    Ok(LazyFrame::scan_parquet_files(
        paths.into_iter().collect(),
        args,
    )?)
}

/// The `.parquet` files under `dir`, sorted (none when `dir` is missing).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, AnalyticsError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && d == dir => return Ok(out),
            Err(source) => return Err(AnalyticsError::Io { path: d, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| AnalyticsError::Io {
                path: d.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
