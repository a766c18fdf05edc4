//! Writing result tables as CSV or Parquet.

use std::path::Path;

use polars::prelude::*;

use crate::AnalyticsError;

/// A result table's file format, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// Parquet, zstd-compressed.
    Parquet,
}

impl OutputFormat {
    /// The format of a file name: `.csv` or `.parquet` (also `.pq`).
    ///
    /// ```
    /// use espi_analytics::OutputFormat;
    /// assert_eq!(OutputFormat::of("out/net.CSV".as_ref()), Some(OutputFormat::Csv));
    /// assert_eq!(OutputFormat::of("out/net.json".as_ref()), None);
    /// ```
    pub fn of(path: &Path) -> Option<OutputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(OutputFormat::Csv),
            "parquet" | "pq" => Some(OutputFormat::Parquet),
            _ => None,
        }
    }
}

/// Write `table` to `path` in the format of its extension (the file is
/// written next to its final name and renamed into place).
pub fn write_table(table: &mut DataFrame, path: &Path) -> Result<(), AnalyticsError> {
    let format =
        OutputFormat::of(path).ok_or_else(|| AnalyticsError::UnknownFormat(path.into()))?;
    let io = |source| AnalyticsError::Io {
        path: path.to_owned(),
        source,
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = path.with_file_name(format!(".{name}.partial"));
    let file = std::fs::File::create(&partial).map_err(io)?;
    let mut buffered = std::io::BufWriter::new(file);
    let written = match format {
        OutputFormat::Csv => CsvWriter::new(&mut buffered).finish(table),
        OutputFormat::Parquet => ParquetWriter::new(&mut buffered)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(table)
            .map(|_| ()),
    };
    if let Err(e) = written {
        drop(buffered);
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}
