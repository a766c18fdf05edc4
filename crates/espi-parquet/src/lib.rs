//! Parquet datasets from espi's Arrow batches.
//!
//! * [`OutputDir`]: a conversion writes every table under a hidden staging
//!   folder and [`OutputDir::publish`] swaps each finished table into
//!   `OUT/<table>/` with renames, so a reader (or a killed run) never sees a
//!   half-written file under a final name and the previous output stays whole
//!   until the new one replaces it.
//! * [`DatasetWriter`]: writes one table as zstd Parquet files, optionally as a
//!   hive-partitioned dataset (`month=2024-01/usage_point_bucket=07/…`) that
//!   DuckDB, polars, Spark and Trino prune on.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use espi_parquet::{DatasetWriter, OutputDir, WriterOptions};
//!
//! let root = tempfile::tempdir().unwrap();
//! let out = OutputDir::create(root.path()).unwrap();
//! let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
//! let mut w = DatasetWriter::new(out.table_dir("numbers").unwrap(), "part-0", WriterOptions::default());
//! w.write(&batch).unwrap();
//! w.finish().unwrap();
//! out.publish().unwrap();
//! assert!(root.path().join("numbers/part-0-00000.parquet").is_file());
//! ```
#![warn(missing_docs)]

mod partition;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

pub use partition::{usage_point_bucket, Partitioning};

/// Errors writing a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error("{path}: {source}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Partitioning a batch failed.
    #[error("partitioning: {0}")]
    Partition(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How tables are encoded.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// zstd level, 1 to 22 (a level outside is taken as the nearest).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Bytes per row group (estimated, before compression): a row group is
    /// held in memory until it is complete, so this bounds each open file's
    /// memory.
    pub row_group_bytes: usize,
    /// Rows per file before a new file is started.
    pub file_rows: usize,
    /// Hive partitioning of the table, if any.
    pub partitioning: Option<Partitioning>,
    /// Partitioned tables: bytes of rows held, across all partitions,
    /// before they are written. Each partition's rows are held until a row
    /// group's worth has come (or, when the total passes this, the largest
    /// partition's), then written and the row group closed, so only one
    /// row group is open at a time: an open row group costs a zstd context
    /// and buffers for every column (about 12 MiB for the readings), which
    /// would otherwise be paid once per partition.
    pub held_bytes: usize,
    /// Whether columns get a dictionary (those of `plain_columns` never
    /// do). Tables whose text is distinct on nearly every row (hrefs, ids,
    /// JSON: the small tables) are better without: a dictionary hashes
    /// every value, fills its page and falls back to plain values, and the
    /// mix is larger after compression than plain values alone.
    pub dictionary: bool,
    /// Columns written without a dictionary (timestamps, measured values,
    /// codes that zstd packs as well): building one costs a hash lookup per
    /// value.
    pub plain_columns: Vec<String>,
    /// Integer columns written as bit-packed differences
    /// (`DELTA_BINARY_PACKED`, without a dictionary): cheaper to compress
    /// than plain values when neighbours differ little.
    pub delta_columns: Vec<String>,
    /// Columns written without statistics (min/max per page and row group),
    /// whose values readers would not filter on.
    pub unindexed_columns: Vec<String>,
    /// Bytes of one data page (each open column buffers one page): small for
    /// wide tables with few rows, to keep their memory small.
    pub page_bytes: usize,
    /// Bytes a column's dictionary may grow to in a row group; past it the
    /// column falls back to plain values for the rest of the row group
    /// (written in full, then compressed). A dictionary holds each distinct
    /// value once, so this matters only for columns with many distinct
    /// values, such as the readings' MeterReading hrefs.
    pub dictionary_page_bytes: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            zstd_level: 1,
            row_group_rows: 1 << 20,
            row_group_bytes: 32 << 20,
            file_rows: 1 << 25,
            partitioning: None,
            held_bytes: 48 << 20,
            dictionary: true,
            plain_columns: Vec::new(),
            delta_columns: Vec::new(),
            unindexed_columns: Vec::new(),
            page_bytes: 1 << 20,
            dictionary_page_bytes: 1 << 20,
        }
    }
}

impl WriterOptions {
    /// The settings of the readings table: numbers, timestamps and flags
    /// without a dictionary ([`espi_arrow::readings_plain_columns`]), raw
    /// values as packed differences ([`espi_arrow::READINGS_DELTA_COLUMNS`]), the
    /// names of codes without statistics
    /// ([`espi_arrow::READINGS_UNINDEXED_COLUMNS`]), and room in the
    /// dictionary for the distinct MeterReading hrefs of a row group (about
    /// 100 bytes each, a few thousand to tens of thousands per million
    /// readings; past the limit the column would be written as plain text,
    /// 25 times larger before compression and slower to write). Row groups
    /// of 524,288 readings: the dictionaries of `usage_point` and
    /// `meter_reading` are held, and then written out, once per row group,
    /// and with the hrefs of PG&E's length a row group of a million hourly
    /// readings held 5 MB of each and took 22 MB more to write them (files
    /// 0.1% larger than with a million).
    ///
    /// ```
    /// let options = espi_parquet::WriterOptions::readings();
    /// assert!(options.plain_columns.iter().any(|c| c == "value_raw"));
    /// assert!(options.unindexed_columns.iter().any(|c| c == "unit"));
    /// assert!(options.delta_columns.iter().any(|c| c == "value_raw"));
    /// ```
    pub fn readings() -> WriterOptions {
        WriterOptions {
            plain_columns: espi_arrow::readings_plain_columns(),
            delta_columns: owned(espi_arrow::READINGS_DELTA_COLUMNS),
            unindexed_columns: owned(espi_arrow::READINGS_UNINDEXED_COLUMNS),
            dictionary_page_bytes: 8 << 20,
            row_group_rows: 1 << 19,
            ..WriterOptions::default()
        }
    }

    /// These options as parquet-rs writer properties (for writers other than
    /// [`DatasetWriter`], such as a Delta table's).
    pub fn writer_properties(&self) -> WriterProperties {
        let level = ZstdLevel::try_new(self.zstd_level.clamp(1, 22)).unwrap_or_default();
        let mut builder = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1 << 16)))
            .set_created_by(format!("espi {}", env!("CARGO_PKG_VERSION")))
            .set_data_page_size_limit(self.page_bytes.max(4096))
            .set_dictionary_enabled(self.dictionary)
            .set_dictionary_page_size_limit(self.dictionary_page_bytes.max(4096));
        for column in &self.plain_columns {
            builder =
                builder.set_column_dictionary_enabled(ColumnPath::from(column.as_str()), false);
        }
        for column in &self.delta_columns {
            builder = builder
                .set_column_dictionary_enabled(ColumnPath::from(column.as_str()), false)
                .set_column_encoding(
                    ColumnPath::from(column.as_str()),
                    Encoding::DELTA_BINARY_PACKED,
                );
        }
        for column in &self.unindexed_columns {
            builder = builder.set_column_statistics_enabled(
                ColumnPath::from(column.as_str()),
                EnabledStatistics::None,
            );
        }
        builder.build()
    }
}

/// Column names as owned strings.
fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| c.to_string()).collect()
}

/// The output folder of a conversion, with its staging area.
#[derive(Debug)]
pub struct OutputDir {
    root: PathBuf,
    staging: PathBuf,
}

const STAGING_PREFIX: &str = ".espi-staging-";
const REPLACED_PREFIX: &str = ".espi-replaced-";

impl OutputDir {
    /// Prepare `root` (created if missing) and a fresh staging folder in it.
    /// Staging folders left by killed runs are removed.
    pub fn create(root: &Path) -> Result<OutputDir, WriteError> {
        fs::create_dir_all(root).map_err(io_err(root))?;
        for entry in fs::read_dir(root).map_err(io_err(root))?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(STAGING_PREFIX) {
                let _ = fs::remove_dir_all(entry.path());
            } else if let Some(rest) = name.strip_prefix(REPLACED_PREFIX) {
                // A run killed between moving a table aside and moving its
                // new version in: the old version is put back.
                let table = rest.split_once('-').map(|(_, table)| table);
                match table.map(|t| root.join(t)) {
                    Some(target) if !target.exists() => {
                        fs::rename(entry.path(), &target).map_err(io_err(&target))?;
                    }
                    _ => {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let staging = root.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        Ok(OutputDir {
            root: root.to_owned(),
            staging,
        })
    }

    /// The staging folder of `table` (created).
    pub fn table_dir(&self, table: &str) -> Result<PathBuf, WriteError> {
        let dir = self.staging.join(table);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(dir)
    }

    /// Move every staged table to `root/<table>`, replacing the previous
    /// version of that table, then remove the staging folder.
    pub fn publish(self) -> Result<Vec<PathBuf>, WriteError> {
        let mut published = Vec::new();
        let mut tables: Vec<PathBuf> = fs::read_dir(&self.staging)
            .map_err(io_err(&self.staging))?
            .flatten()
            .map(|e| e.path())
            .collect();
        tables.sort();
        for staged in tables {
            let name = staged
                .file_name()
                .expect("staged table has a name")
                .to_owned();
            let target = self.root.join(&name);
            if target.exists() {
                let old = self.root.join(format!(
                    "{REPLACED_PREFIX}{}-{}",
                    std::process::id(),
                    name.to_string_lossy()
                ));
                fs::rename(&target, &old).map_err(io_err(&target))?;
                fs::rename(&staged, &target).map_err(io_err(&target))?;
                fs::remove_dir_all(&old).map_err(io_err(&old))?;
            } else {
                fs::rename(&staged, &target).map_err(io_err(&target))?;
            }
            published.push(target);
        }
        fs::remove_dir_all(&self.staging).map_err(io_err(&self.staging))?;
        Ok(published)
    }

    /// Remove the staging folder without publishing (a failed run).
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(&self.staging);
    }
}

/// Rows held for one partition (see [`WriterOptions::held_bytes`]).
#[derive(Default)]
struct HeldRows {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
}

/// One open Parquet file, written under a temporary name.
struct OpenFile {
    writer: ArrowWriter<BufWriter<File>>,
    temp: PathBuf,
    path: PathBuf,
    rows: usize,
}

impl OpenFile {
    /// Write the open row group out and start a new one.
    fn end_row_group(&mut self) -> Result<(), WriteError> {
        self.writer.flush().map_err(|source| WriteError::Parquet {
            path: self.temp.clone(),
            source,
        })
    }

    fn close(self) -> Result<PathBuf, WriteError> {
        let OpenFile {
            writer, temp, path, ..
        } = self;
        let mut inner = writer.into_inner().map_err(|source| WriteError::Parquet {
            path: temp.clone(),
            source,
        })?;
        use std::io::Write;
        inner.flush().map_err(io_err(&temp))?;
        inner.get_ref().sync_all().map_err(io_err(&temp))?;
        fs::rename(&temp, &path).map_err(io_err(&path))?;
        Ok(path)
    }
}

/// Writes one table as Parquet files under a folder.
///
/// Files are named `<prefix>-<n>.parquet` (n from 00000), written as
/// `.<name>.inprogress` and renamed when complete.
pub struct DatasetWriter {
    dir: PathBuf,
    prefix: String,
    options: WriterOptions,
    properties: WriterProperties,
    /// Open file per partition path ("" when unpartitioned).
    open: BTreeMap<String, OpenFile>,
    /// Rows of a partitioned table not yet written, per partition path.
    held: BTreeMap<String, HeldRows>,
    /// Their bytes, all partitions together.
    held_bytes: usize,
    sequence: BTreeMap<String, usize>,
    written: Vec<PathBuf>,
    rows: u64,
}

impl DatasetWriter {
    /// A writer of files named `<prefix>-NNNNN.parquet` under `dir`.
    pub fn new(dir: PathBuf, prefix: &str, options: WriterOptions) -> Self {
        let properties = options.writer_properties();
        DatasetWriter {
            dir,
            prefix: prefix.to_owned(),
            options,
            properties,
            open: BTreeMap::new(),
            held: BTreeMap::new(),
            held_bytes: 0,
            sequence: BTreeMap::new(),
            written: Vec::new(),
            rows: 0,
        }
    }

    /// Write a batch (split by partition when partitioned).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match self.options.partitioning.clone() {
            None => self.write_to("", batch)?,
            Some(p) => {
                for (path, part) in p.split(batch)? {
                    self.hold(path, part)?;
                }
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Hold `batch` for `partition`, writing a row group out when one is
    /// complete or the rows held take too much memory.
    fn hold(&mut self, partition: String, batch: RecordBatch) -> Result<(), WriteError> {
        let bytes = batch.get_array_memory_size();
        self.held_bytes += bytes;
        let held = self.held.entry(partition.clone()).or_default();
        held.rows += batch.num_rows();
        held.bytes += bytes;
        held.batches.push(batch);
        if held.rows >= self.options.row_group_rows || held.bytes >= self.options.row_group_bytes {
            self.write_held(&partition)?;
        }
        while self.held_bytes > self.options.held_bytes {
            let largest = self
                .held
                .iter()
                .max_by_key(|(_, h)| h.bytes)
                .map(|(path, _)| path.clone())
                .expect("rows are held");
            self.write_held(&largest)?;
        }
        Ok(())
    }

    /// Write the rows held for `partition` as one row group and close it.
    fn write_held(&mut self, partition: &str) -> Result<(), WriteError> {
        let Some(held) = self.held.remove(partition) else {
            return Ok(());
        };
        self.held_bytes -= held.bytes;
        for batch in &held.batches {
            self.write_to(partition, batch)?;
        }
        if let Some(file) = self.open.get_mut(partition) {
            file.end_row_group()?;
        }
        Ok(())
    }

    /// Write every partition's held rows.
    fn write_all_held(&mut self) -> Result<(), WriteError> {
        let partitions: Vec<String> = self.held.keys().cloned().collect();
        for partition in partitions {
            self.write_held(&partition)?;
        }
        Ok(())
    }

    fn write_to(&mut self, partition: &str, batch: &RecordBatch) -> Result<(), WriteError> {
        if !self.open.contains_key(partition) {
            let file = self.open_file(partition, batch)?;
            self.open.insert(partition.to_owned(), file);
        }
        let file = self.open.get_mut(partition).expect("opened above");
        file.writer
            .write(batch)
            .map_err(|source| WriteError::Parquet {
                path: file.temp.clone(),
                source,
            })?;
        file.rows += batch.num_rows();
        if file.rows >= self.options.file_rows {
            let file = self.open.remove(partition).expect("present");
            self.written.push(file.close()?);
        }
        Ok(())
    }

    fn open_file(&mut self, partition: &str, batch: &RecordBatch) -> Result<OpenFile, WriteError> {
        let dir = if partition.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(partition)
        };
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let n = self.sequence.entry(partition.to_owned()).or_insert(0);
        let name = format!("{}-{:05}.parquet", self.prefix, *n);
        *n += 1;
        let path = dir.join(&name);
        let temp = dir.join(format!(".{name}.inprogress"));
        let file = File::create(&temp).map_err(io_err(&temp))?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(64 << 10, file),
            batch.schema(),
            Some(self.properties.clone()),
        )
        .map_err(|source| WriteError::Parquet {
            path: temp.clone(),
            source,
        })?;
        Ok(OpenFile {
            writer,
            temp,
            path,
            rows: 0,
        })
    }

    /// Rows taken so far (written, or held to be written by
    /// [`finish`](Self::finish)).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Remove every file this writer wrote or is writing (its output is void).
    pub fn abort(mut self) {
        for (_, file) in std::mem::take(&mut self.open) {
            let temp = file.temp.clone();
            drop(file);
            let _ = fs::remove_file(temp);
        }
        for path in self.written.drain(..) {
            let _ = fs::remove_file(path);
        }
    }

    /// End the open row group of every open file: the rows written so far
    /// go to the file and the row group's column writers (each with its
    /// compressor, dictionary and page buffer) are freed; later rows start
    /// a new row group of the same file.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use std::sync::Arc;
    /// use arrow_array::{Int64Array, RecordBatch};
    /// let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
    /// let mut writer = espi_parquet::DatasetWriter::new(dir.path().to_owned(), "part", Default::default());
    /// writer.write(&batch).unwrap();
    /// writer.flush_row_groups().unwrap();
    /// writer.write(&batch).unwrap();
    /// let files = writer.finish().unwrap();
    /// let file = std::fs::File::open(&files[0]).unwrap();
    /// let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    /// use parquet::file::reader::FileReader;
    /// assert_eq!(reader.metadata().num_row_groups(), 2);
    /// ```
    pub fn flush_row_groups(&mut self) -> Result<(), WriteError> {
        self.write_all_held()?;
        for file in self.open.values_mut() {
            file.end_row_group()?;
        }
        Ok(())
    }

    /// Close the open files now (their buffers are released); a later
    /// [`write`](Self::write) starts new files, and [`abort`](Self::abort)
    /// still removes every file written.
    pub fn close_files(&mut self) -> Result<(), WriteError> {
        self.write_all_held()?;
        for (_, file) in std::mem::take(&mut self.open) {
            self.written.push(file.close()?);
        }
        Ok(())
    }

    /// Close every open file; returns the files written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, WriteError> {
        self.close_files()?;
        Ok(self.written)
    }
}

/// Write `batch` as a single-file table `<dir>/<prefix>-00000.parquet` (for
/// the small tables).
pub fn write_table(
    dir: PathBuf,
    prefix: &str,
    batches: &[RecordBatch],
    options: &WriterOptions,
) -> Result<Vec<PathBuf>, WriteError> {
    let mut writer = DatasetWriter::new(
        dir,
        prefix,
        WriterOptions {
            partitioning: None,
            ..options.clone()
        },
    );
    for b in batches {
        writer.write(b)?;
    }
    if writer.rows() == 0 {
        // An empty table still gets a file, so that readers see its schema.
        if let Some(first) = batches.first() {
            let file = writer.open_file("", first)?;
            writer.written.push(file.close()?);
        }
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::{DatasetWriter, OutputDir, WriterOptions};
    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::fs;
    use std::sync::Arc;

    #[test]
    fn plain_delta_and_unindexed_columns_are_written_as_asked() {
        let codes: ArrayRef = Arc::new(Int32Array::from_iter_values((0..1000).map(|i| i % 3)));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..1000).map(|i| ["a", "b", "c"][i % 3]),
        ));
        let batch = RecordBatch::try_from_iter([
            ("code", codes.clone()),
            ("plain_code", codes),
            ("name", names.clone()),
            ("unindexed_name", names),
            (
                "delta_value",
                Arc::new(Int64Array::from_iter((0..1000i64).map(|i| {
                    (i % 7 != 0).then_some(1_000_000 + (i * 37) % 101 - 50)
                }))),
            ),
        ])
        .unwrap();
        let options = WriterOptions {
            plain_columns: vec!["plain_code".into()],
            delta_columns: vec!["delta_value".into()],
            unindexed_columns: vec!["unindexed_name".into()],
            ..WriterOptions::default()
        };
        let (_dir, file, reader) = write_one(&batch, options);
        let group = reader.metadata().row_group(0);
        let dictionary = |c: usize| {
            group
                .column(c)
                .encodings()
                .any(|e| e == Encoding::RLE_DICTIONARY)
        };
        let statistics = |c: usize| group.column(c).statistics().is_some();
        assert_eq!((dictionary(0), statistics(0)), (true, true), "code");
        assert_eq!((dictionary(1), statistics(1)), (false, true), "plain_code");
        assert_eq!((dictionary(2), statistics(2)), (true, true), "name");
        assert_eq!(
            (dictionary(3), statistics(3)),
            (true, false),
            "unindexed_name"
        );
        let delta = group.column(4);
        assert!(delta
            .encodings()
            .any(|e| e == Encoding::DELTA_BINARY_PACKED));
        assert!(!dictionary(4), "delta_value");
        // The values read back are the values written.
        assert_eq!(read_file(&file), batch);
    }

    #[test]
    fn tables_without_dictionaries_write_every_column_plain() {
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..1000).map(|i| ["a", "b", "c"][i % 3]),
        ));
        let codes: ArrayRef = Arc::new(Int32Array::from_iter_values((0..1000).map(|i| i % 3)));
        let batch = RecordBatch::try_from_iter([("name", names), ("code", codes)]).unwrap();
        let options = WriterOptions {
            dictionary: false,
            ..WriterOptions::default()
        };
        let (_dir, file, reader) = write_one(&batch, options);
        let group = reader.metadata().row_group(0);
        for c in 0..2 {
            let encodings: Vec<Encoding> = group.column(c).encodings().collect();
            assert!(
                !encodings.contains(&Encoding::RLE_DICTIONARY),
                "{encodings:?}"
            );
            assert!(group.column(c).dictionary_page_offset().is_none());
        }
        assert_eq!(read_file(&file), batch);
    }

    /// `batch` written as one file with `options`: the folder (removed
    /// when dropped), the file and a reader of it.
    fn write_one(
        batch: &RecordBatch,
        options: WriterOptions,
    ) -> (
        tempfile::TempDir,
        std::path::PathBuf,
        SerializedFileReader<fs::File>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = DatasetWriter::new(dir.path().to_owned(), "t", options);
        writer.write(batch).unwrap();
        let file = writer.finish().unwrap().remove(0);
        let reader = SerializedFileReader::new(fs::File::open(&file).unwrap()).unwrap();
        (dir, file, reader)
    }

    /// The rows of a Parquet file, in one batch.
    fn read_file(path: &std::path::Path) -> RecordBatch {
        let file = fs::File::open(path).unwrap();
        let read: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        arrow_select::concat::concat_batches(&read[0].schema(), &read).unwrap()
    }

    /// Whether any data page of the first column of `file` holds plain
    /// values (a dictionary that outgrew its limit falls back to them).
    fn has_plain_data_pages(file: &std::path::Path) -> bool {
        use parquet::file::metadata::{ParquetMetaDataOptions, ParquetMetaDataReader};
        let metadata = ParquetMetaDataReader::new()
            .with_metadata_options(Some(
                ParquetMetaDataOptions::new().with_encoding_stats_as_mask(false),
            ))
            .parse_and_finish(&fs::File::open(file).unwrap())
            .unwrap();
        metadata.row_groups().iter().any(|group| {
            let stats = group.column(0).page_encoding_stats().expect("page stats");
            stats.iter().any(|s| {
                s.page_type == parquet::basic::PageType::DATA_PAGE && s.encoding == Encoding::PLAIN
            })
        })
    }

    #[test]
    fn a_dictionary_grows_to_its_limit_before_falling_back_to_plain_values() {
        // 20,000 distinct hrefs of about 100 bytes (2 MB), each twice.
        let hrefs: ArrayRef = Arc::new(StringArray::from_iter_values((0..40_000).map(|i| {
            format!(
                "https://utility.example.com/DataCustodian/espi/1_1/resource/Subscription/7/UsagePoint/{}/MeterReading/1",
                i / 2
            )
        })));
        let batch = RecordBatch::try_from_iter([("meter_reading", hrefs)]).unwrap();
        let write = |dictionary_page_bytes: usize| {
            let dir = tempfile::tempdir().unwrap();
            let options = WriterOptions {
                dictionary_page_bytes,
                ..WriterOptions::default()
            };
            let mut writer = DatasetWriter::new(dir.path().to_owned(), "t", options);
            writer.write(&batch).unwrap();
            let files = writer.finish().unwrap();
            assert_eq!(read_file(&files[0]), batch);
            has_plain_data_pages(&files[0])
        };
        assert!(write(1 << 20), "1 MiB: falls back to plain values");
        assert!(!write(8 << 20), "8 MiB: one dictionary holds them all");
    }

    /// Every row of every file under `dir` (files in name order), with the
    /// number of row groups of each file.
    fn read_dataset(dir: &std::path::Path) -> (Vec<(String, i64)>, Vec<usize>) {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "parquet") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let (mut rows, mut groups) = (Vec::new(), Vec::new());
        for f in files {
            let reader = SerializedFileReader::new(fs::File::open(&f).unwrap()).unwrap();
            groups.push(reader.metadata().num_row_groups());
            let batch = read_file(&f);
            let up = batch.column(0).as_any().downcast_ref::<StringArray>();
            let n = batch.column(1).as_any().downcast_ref::<Int64Array>();
            let (up, n) = (up.unwrap(), n.unwrap());
            for i in 0..batch.num_rows() {
                rows.push((up.value(i).to_owned(), n.value(i)));
            }
        }
        (rows, groups)
    }

    #[test]
    fn partitions_are_held_within_the_budget_and_every_row_is_written_once() {
        // 40 batches of 1,000 rows, each spread over every usage point.
        let batches: Vec<RecordBatch> = (0..40)
            .map(|b| {
                let rows = (b * 1000)..(b * 1000 + 1000);
                let ups: ArrayRef = Arc::new(StringArray::from_iter_values(
                    rows.clone().map(|i| format!("/UsagePoint/{}", i % 97)),
                ));
                let n: ArrayRef = Arc::new(Int64Array::from_iter_values(rows));
                RecordBatch::try_from_iter([("usage_point", ups), ("n", n)]).unwrap()
            })
            .collect();
        let mut expected: Vec<(String, i64)> = (0..40_000)
            .map(|i| (format!("/UsagePoint/{}", i % 97), i))
            .collect();
        expected.sort();
        let write = |held_bytes: usize| {
            let dir = tempfile::tempdir().unwrap();
            let options = WriterOptions {
                partitioning: Some(super::Partitioning::parse("usage-point-bucket", 8).unwrap()),
                held_bytes,
                ..WriterOptions::default()
            };
            let mut writer = DatasetWriter::new(dir.path().to_owned(), "t", options);
            for b in &batches {
                writer.write(b).unwrap();
                assert!(writer.held_bytes <= held_bytes, "held within the budget");
                assert!(writer
                    .open
                    .values()
                    .all(|f| f.writer.in_progress_rows() == 0));
            }
            assert_eq!(writer.rows(), 40_000);
            let files = writer.finish().unwrap();
            assert_eq!(files.len(), 8, "one file per bucket");
            let (mut rows, groups) = read_dataset(dir.path());
            // Within a partition, rows keep their order.
            let mut last: std::collections::HashMap<String, i64> = Default::default();
            for (up, n) in &rows {
                assert!(last.insert(up.clone(), *n).is_none_or(|prev| prev < *n));
            }
            rows.sort();
            assert_eq!(rows, expected);
            groups
        };
        // A budget for everything: one row group per file.
        assert!(write(64 << 20).iter().all(|&g| g == 1));
        // A small budget: the largest partition is written out again and
        // again, as row groups of its own.
        assert!(write(64 << 10).iter().any(|&g| g > 1));
    }

    #[test]
    fn a_table_moved_aside_by_a_killed_run_is_put_back() {
        let root = tempfile::tempdir().unwrap();
        let aside = root.path().join(".espi-replaced-4242-usage_points");
        fs::create_dir_all(&aside).unwrap();
        fs::write(aside.join("part-00000.parquet"), b"old").unwrap();
        // A table moved aside whose new version was published: dropped.
        let published = root.path().join(".espi-replaced-4242-readings");
        fs::create_dir_all(&published).unwrap();
        fs::create_dir_all(root.path().join("readings")).unwrap();
        let out = OutputDir::create(root.path()).unwrap();
        let restored = root.path().join("usage_points/part-00000.parquet");
        assert_eq!(fs::read(restored).unwrap(), b"old");
        assert!(!published.exists() && !aside.exists());
        out.abandon();
    }
}
