//! Daily ESPI feeds merged into Delta Lake tables (delta-rs).
//!
//! Every morning a Bulk feed brings the newest day of every customer plus
//! corrections of earlier intervals. [`Lake::ingest`] merges the tables of a
//! conversion (a folder written by `espi convert`, one sub-folder per table)
//! into one Delta table per table at `ROOT/<table>`:
//!
//! - `readings` is keyed by (`usage_point`, `meter_reading`, `start`) and
//!   partitioned by the UTC month of `start` (`month`, `YYYY-MM`). A MERGE
//!   updates a stored interval when the incoming delivery is at least as new
//!   (its `entry_updated`, null counting as new) and inserts the others; it
//!   carries an explicit `month IN (...)` predicate built from the incoming
//!   rows, so only the touched months are read. Readings a later delivery in
//!   the same run superseded are left out before the MERGE.
//! - the other tables are upserted by their keys ([`table_keys`]), one row
//!   per key (the latest `updated`); `rejects` is appended.
//! - each table changes in one Delta commit (all or nothing), which carries
//!   the feeds (name, size, SHA-256) in its commit metadata and one Delta
//!   application transaction per feed (`espi-feed-<sha256>`); `ingest_log`
//!   gets one row per feed last. A feed is ingested when `ingest_log` has its
//!   transaction ([`Lake::pending`]); an ingest stopped half way is completed
//!   by running it again (the tables that already have the feed are skipped).
//!
//! Timestamps are microseconds in UTC (Delta `timestamp`, Spark's
//! `TimestampType`); `local_start` is wall-clock time (`timestamp_ntz`).
//! Strings are plain (no dictionaries), unsigned integers are stored signed.
//!
//! # Example
//!
//! ```no_run
//! use espi_lake::{Feed, IngestOptions, Lake};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lake = Lake::open("/data/lake")?;
//! let feed = Feed::of_file("feeds/2024-06-02.xml".as_ref(), "2024-06-02.xml")?;
//! if !lake.pending(&[feed.clone()])?.is_empty() {
//!     // `converted/` was written by `espi convert feeds/2024-06-02.xml -o converted`.
//!     let report = lake.ingest("converted".as_ref(), &[feed], &IngestOptions::default())?;
//!     for change in &report.tables {
//!         println!("{}: {:?}", change.table, change.version);
//!     }
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod feed;
mod tables;

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake::arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake::datafusion::common::Column;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::functions_aggregate::expr_fn::count;
use deltalake::datafusion::logical_expr::utils::conjunction;
use deltalake::datafusion::logical_expr::{binary_expr, Operator};
use deltalake::datafusion::prelude::{col, lit, DataFrame, Expr, ParquetReadOptions};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::Transaction;
use deltalake::operations::optimize::OptimizeType;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::parquet::basic::ZstdLevel;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError, FilterOp, FilterValue};
use espi_parquet::WriterOptions;
use futures::TryStreamExt;
use serde_json::{json, Value};

pub use feed::Feed;
use tables::{keying, source_sql, Keying};
pub use tables::{table_keys, INGEST_LOG, MONTH, READINGS, REJECTS};

/// What can go wrong in the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A Delta Lake operation failed (the table keeps its previous version).
    #[error("{table}: {source}")]
    Delta {
        /// The table.
        table: String,
        /// The delta-rs error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Reading the converted tables or running a query failed.
    #[error("{table}: {source}")]
    Query {
        /// The table.
        table: String,
        /// The DataFusion error.
        #[source]
        source: Box<DataFusionError>,
    },
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else (bad arguments, no tables in the lake, ...).
    #[error("{0}")]
    Invalid(String),
}

fn delta(table: &str) -> impl FnOnce(DeltaTableError) -> LakeError + '_ {
    move |source| LakeError::Delta {
        table: table.to_owned(),
        source: Box::new(source),
    }
}

fn query(table: &str) -> impl FnOnce(DataFusionError) -> LakeError + '_ {
    move |source| LakeError::Query {
        table: table.to_owned(),
        source: Box::new(source),
    }
}

/// Settings of an ingest.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// zstd level of the Parquet files written.
    pub zstd_level: i32,
    /// Target size of the data files written, in bytes.
    pub target_file_bytes: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            zstd_level: 3,
            target_file_bytes: 128 << 20,
        }
    }
}

/// What an ingest did to one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableChange {
    /// The table.
    pub table: String,
    /// `create`, `merge`, `append`, `none` (no rows in the feeds) or
    /// `already` (the feeds were applied to this table by an earlier,
    /// interrupted ingest).
    pub operation: String,
    /// The table's version after the change (`None`: no table).
    pub version: Option<u64>,
    /// Rows offered (after leaving out superseded deliveries and duplicates).
    pub source_rows: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Stored rows replaced by a delivery at least as new.
    pub updated: u64,
    /// Files read / skipped thanks to the predicate, added, removed.
    pub files_scanned: u64,
    /// Files the MERGE did not need to read.
    pub files_skipped: u64,
    /// Files written.
    pub files_added: u64,
    /// Files replaced.
    pub files_removed: u64,
    /// Months (partitions) touched, for the readings table.
    pub months: Vec<String>,
}

/// What [`Lake::ingest`] did.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    /// The feeds ingested.
    pub feeds: Vec<Feed>,
    /// One change per table, `ingest_log` last.
    pub tables: Vec<TableChange>,
}

impl IngestReport {
    /// The change of one table.
    pub fn table(&self, name: &str) -> Option<&TableChange> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// One version of a table.
#[derive(Clone, Debug)]
pub struct Commit {
    /// Table version.
    pub version: u64,
    /// Commit time, milliseconds since 1970 (UTC).
    pub timestamp_ms: Option<i64>,
    /// `CREATE TABLE`, `WRITE`, `MERGE`, `OPTIMIZE`, `VACUUM START`, ...
    pub operation: String,
    /// The feeds the version came from (ingests only).
    pub feeds: Vec<Feed>,
    /// delta-rs' operation metrics (rows inserted, updated, files, ...).
    pub metrics: Value,
}

/// The state of one table.
#[derive(Clone, Debug, Default)]
pub struct TableStats {
    /// The table.
    pub table: String,
    /// Its current version.
    pub version: u64,
    /// Live data files.
    pub files: u64,
    /// Rows (from the files' statistics).
    pub rows: u64,
    /// Bytes of the live data files.
    pub bytes: u64,
    /// Distinct partition values (months for readings), sorted.
    pub partitions: Vec<String>,
}

/// What [`Lake::vacuum`] removed (or would remove, in a dry run).
#[derive(Clone, Debug, Default)]
pub struct VacuumReport {
    /// Per table: the files deleted.
    pub tables: Vec<(String, Vec<String>)>,
    /// Whether nothing was deleted.
    pub dry_run: bool,
}

/// Every table name a conversion can give, plus the ingest log.
fn known_tables() -> Vec<String> {
    let mut names: Vec<String> = espi_arrow::Table::ALL
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    names.push(REJECTS.to_owned());
    names.push(INGEST_LOG.to_owned());
    names
}

/// A lake: Delta tables under one root (a local folder, or an `s3://`,
/// `az://`/`abfss://` or `gs://` URI when built with the `s3`, `azure` or
/// `gcs` feature).
pub struct Lake {
    root: String,
    storage_options: HashMap<String, String>,
    runtime: tokio::runtime::Runtime,
}

impl Lake {
    /// A lake at `uri` (created on the first ingest).
    pub fn open(uri: &str) -> Result<Lake, LakeError> {
        let root = uri.trim_end_matches('/');
        if root.is_empty() {
            return Err(LakeError::Invalid("empty lake URI".into()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|source| LakeError::Io {
                path: PathBuf::from(uri),
                source,
            })?;
        Ok(Lake {
            root: root.to_owned(),
            storage_options: HashMap::new(),
            runtime,
        })
    }

    /// Object-store settings passed to delta-rs (credentials, region,
    /// endpoint: `AWS_REGION`, `AZURE_STORAGE_ACCOUNT_NAME`, ...).
    pub fn with_storage_options(mut self, options: HashMap<String, String>) -> Lake {
        self.storage_options = options;
        self
    }

    /// The lake's root URI.
    pub fn uri(&self) -> &str {
        &self.root
    }

    fn table_uri(&self, table: &str) -> String {
        format!("{}/{table}", self.root)
    }

    /// The table, or `None` when it does not exist yet.
    async fn load(&self, table: &str) -> Result<Option<DeltaTable>, LakeError> {
        let url = match deltalake::table::builder::parse_table_uri(self.table_uri(table)) {
            Ok(url) => url,
            // A local folder that does not exist yet.
            Err(DeltaTableError::InvalidTableLocation(_)) => return Ok(None),
            Err(e) => return Err(delta(table)(e)),
        };
        let loaded =
            DeltaTable::try_from_url_with_storage_options(url, self.storage_options.clone()).await;
        match loaded {
            Ok(t) if t.version().is_some() => Ok(Some(t)),
            Ok(_) | Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(DeltaTableError::InvalidTableLocation(_)) => Ok(None),
            Err(e) => Err(delta(table)(e)),
        }
    }

    /// A handle to create the table at.
    async fn create_handle(&self, table: &str) -> Result<DeltaTable, LakeError> {
        let url = deltalake::ensure_table_uri(self.table_uri(table)).map_err(delta(table))?;
        DeltaTable::try_from_url_with_storage_options(url, self.storage_options.clone())
            .await
            .map_err(delta(table))
    }

    /// Whether every feed has its transaction in `table`.
    async fn applied(table: &DeltaTable, name: &str, feeds: &[Feed]) -> Result<bool, LakeError> {
        let snapshot = table.snapshot().map_err(delta(name))?;
        for feed in feeds {
            let seen = snapshot
                .transaction_version(table.log_store().as_ref(), feed.app_id())
                .await
                .map_err(delta(name))?;
            if seen.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The feeds not ingested yet (their transaction is not in `ingest_log`),
    /// each once.
    pub fn pending(&self, feeds: &[Feed]) -> Result<Vec<Feed>, LakeError> {
        self.runtime.block_on(async {
            let log = self.load(INGEST_LOG).await?;
            let mut seen = BTreeSet::new();
            let mut pending = Vec::new();
            for feed in feeds {
                if !seen.insert(feed.sha256.clone()) {
                    continue;
                }
                let done = match &log {
                    Some(t) => Self::applied(t, INGEST_LOG, std::slice::from_ref(feed)).await?,
                    None => false,
                };
                if !done {
                    pending.push(feed.clone());
                }
            }
            Ok(pending)
        })
    }

    /// Merge the tables of a conversion of `feeds` (a folder written by
    /// `espi convert`, one sub-folder of Parquet files per table) into the
    /// lake: the other tables first, then `readings`, then one `ingest_log`
    /// row per feed. Each table changes in one commit or not at all.
    pub fn ingest(
        &self,
        converted: &Path,
        feeds: &[Feed],
        options: &IngestOptions,
    ) -> Result<IngestReport, LakeError> {
        if feeds.is_empty() {
            return Err(LakeError::Invalid("no feeds to ingest".into()));
        }
        self.runtime.block_on(async {
            let mut report = IngestReport {
                feeds: feeds.to_vec(),
                tables: Vec::new(),
            };
            for (name, dir) in converted_tables(converted)? {
                let change = self.ingest_table(&name, &dir, feeds, options).await?;
                report.tables.push(change);
            }
            let change = self.log_feeds(feeds, &report.tables, options).await?;
            report.tables.push(change);
            Ok(report)
        })
    }

    /// The Parquet settings of `table`'s files: those `espi convert` uses
    /// (the readings' numbers without a dictionary, and so on).
    fn writer_properties(
        options: &IngestOptions,
        table: &str,
    ) -> Result<WriterProperties, LakeError> {
        ZstdLevel::try_new(options.zstd_level)
            .map_err(|e| LakeError::Invalid(format!("zstd level: {e}")))?;
        let settings = if table == READINGS {
            WriterOptions::readings()
        } else {
            WriterOptions {
                dictionary: false,
                ..WriterOptions::default()
            }
        };
        Ok(WriterOptions {
            zstd_level: options.zstd_level,
            ..settings
        }
        .writer_properties())
    }

    fn commit_properties(table: &str, feeds: &[Feed]) -> CommitProperties {
        CommitProperties::default()
            .with_metadata([
                (
                    "espi.feeds".to_owned(),
                    Value::Array(feeds.iter().map(Feed::to_json).collect()),
                ),
                ("espi.table".to_owned(), json!(table)),
                ("espi.version".to_owned(), json!(env!("CARGO_PKG_VERSION"))),
            ])
            .with_application_transactions(
                feeds
                    .iter()
                    .map(|f| Transaction::new(f.app_id(), 1))
                    .collect(),
            )
    }

    async fn ingest_table(
        &self,
        name: &str,
        dir: &Path,
        feeds: &[Feed],
        options: &IngestOptions,
    ) -> Result<TableChange, LakeError> {
        let mut change = TableChange {
            table: name.to_owned(),
            ..TableChange::default()
        };
        let existing = self.load(name).await?;
        if let Some(table) = &existing {
            change.version = table.version();
            if Self::applied(table, name, feeds).await? {
                change.operation = "already".into();
                return Ok(change);
            }
        }
        // A session with delta-rs' planner (its MERGE and write nodes).
        let ctx = deltalake::delta_datafusion::create_session().into_inner();
        let dir_text = dir.to_str().ok_or_else(|| {
            LakeError::Invalid(format!("{}: path is not valid UTF-8", dir.display()))
        })?;
        ctx.register_parquet("raw", dir_text, ParquetReadOptions::default())
            .await
            .map_err(query(name))?;
        let raw = ctx.table("raw").await.map_err(query(name))?;
        let schema: Schema = raw.schema().as_arrow().clone();
        let keying = keying(name, &schema);
        let source = ctx
            .sql(&source_sql(name, &schema, &keying))
            .await
            .map_err(query(name))?;
        (change.source_rows, change.months) = rows_and_months(name, &source).await?;
        if change.source_rows == 0 {
            change.operation = "none".into();
            return Ok(change);
        }
        let writer = Self::writer_properties(options, name)?;
        let commit = Self::commit_properties(name, feeds);
        let state = Arc::new(ctx.state());
        let partitions: Vec<&str> = if name == READINGS {
            vec![MONTH]
        } else {
            vec![]
        };

        let table = match (existing, &keying) {
            (existing, Keying::Append) | (existing @ None, _) => {
                let (handle, mode) = match existing {
                    Some(t) => (t, SaveMode::Append),
                    None => (self.create_handle(name).await?, SaveMode::ErrorIfExists),
                };
                change.operation = if mode == SaveMode::Append {
                    "append"
                } else {
                    "create"
                }
                .into();
                change.inserted = change.source_rows;
                handle
                    .write(Vec::<RecordBatch>::new())
                    .with_input_plan(source.logical_plan().clone())
                    .with_session_state(state)
                    .with_save_mode(mode)
                    .with_partition_columns(partitions.iter().copied())
                    .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
                    .with_target_file_size(NonZeroU64::new(options.target_file_bytes))
                    .with_writer_properties(writer)
                    .with_commit_properties(commit)
                    .await
                    .map_err(delta(name))?
            }
            (
                Some(table),
                Keying::Upsert {
                    keys,
                    updated_column,
                },
            ) => {
                change.operation = "merge".into();
                let predicate = merge_predicate(name, keys, &change.months);
                let newer = qualified("source", updated_column)
                    .is_null()
                    .or(qualified("target", updated_column).is_null())
                    .or(qualified("source", updated_column)
                        .gt_eq(qualified("target", updated_column)));
                let columns: Vec<String> = source
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let (table, metrics) = table
                    .merge(source, predicate)
                    .with_source_alias("source")
                    .with_target_alias("target")
                    .with_session_state(state)
                    .with_merge_schema(true)
                    .with_writer_properties(writer)
                    .with_commit_properties(commit)
                    .when_matched_update(|update| {
                        columns.iter().fold(update.predicate(newer), |u, c| {
                            u.update(c.as_str(), qualified("source", c))
                        })
                    })
                    .map_err(delta(name))?
                    .when_not_matched_insert(|insert| {
                        columns
                            .iter()
                            .fold(insert, |i, c| i.set(c.as_str(), qualified("source", c)))
                    })
                    .map_err(delta(name))?
                    .await
                    .map_err(delta(name))?;
                change.inserted = metrics.num_target_rows_inserted as u64;
                change.updated = metrics.num_target_rows_updated as u64;
                change.files_scanned = metrics.num_target_files_scanned as u64;
                change.files_skipped = metrics.num_target_files_skipped_during_scan as u64;
                change.files_added = metrics.num_target_files_added as u64;
                change.files_removed = metrics.num_target_files_removed as u64;
                table
            }
        };
        change.version = table.version();
        Ok(change)
    }

    /// One `ingest_log` row per feed, with its transaction: the mark that
    /// the feed is in the lake.
    async fn log_feeds(
        &self,
        feeds: &[Feed],
        changes: &[TableChange],
        options: &IngestOptions,
    ) -> Result<TableChange, LakeError> {
        let existing = self.load(INGEST_LOG).await?;
        if let Some(table) = &existing {
            if Self::applied(table, INGEST_LOG, feeds).await? {
                return Ok(TableChange {
                    table: INGEST_LOG.into(),
                    operation: "already".into(),
                    version: table.version(),
                    ..TableChange::default()
                });
            }
        }
        let now_us = chrono::Utc::now().timestamp_micros();
        let versions = Value::Object(
            changes
                .iter()
                .filter_map(|c| Some((c.table.clone(), json!(c.version?))))
                .collect(),
        );
        let text = |values: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(values)) };
        let schema = Arc::new(Schema::new(vec![
            Field::new("feed", DataType::Utf8, false),
            Field::new("sha256", DataType::Utf8, false),
            Field::new("bytes", DataType::Int64, false),
            Field::new(
                "ingested_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("table_versions", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                text(feeds.iter().map(|f| f.name.clone()).collect()),
                text(feeds.iter().map(|f| f.sha256.clone()).collect()),
                Arc::new(Int64Array::from_iter_values(
                    feeds.iter().map(|f| f.bytes as i64),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![now_us; feeds.len()]).with_timezone("UTC"),
                ),
                text(vec![versions.to_string(); feeds.len()]),
            ],
        )
        .map_err(|e| LakeError::Invalid(format!("{INGEST_LOG}: {e}")))?;
        let handle = match existing {
            Some(t) => t,
            None => self.create_handle(INGEST_LOG).await?,
        };
        let table = handle
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .with_writer_properties(Self::writer_properties(options, INGEST_LOG)?)
            .with_commit_properties(Self::commit_properties(INGEST_LOG, feeds))
            .await
            .map_err(delta(INGEST_LOG))?;
        Ok(TableChange {
            table: INGEST_LOG.into(),
            operation: "append".into(),
            version: table.version(),
            source_rows: feeds.len() as u64,
            inserted: feeds.len() as u64,
            ..TableChange::default()
        })
    }

    /// Run a SQL query over the lake's tables (each registered under its
    /// name: `readings`, `usage_points`, ..., `ingest_log`), with DataFusion.
    ///
    /// ```no_run
    /// let lake = espi_lake::Lake::open("/data/lake")?;
    /// let batches = lake.sql(
    ///     "SELECT month, count(*) AS readings FROM readings GROUP BY month ORDER BY month",
    /// )?;
    /// # Ok::<(), espi_lake::LakeError>(())
    /// ```
    pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, LakeError> {
        self.runtime.block_on(async {
            // A session with delta-rs' planner (its MERGE and write nodes).
            let ctx = deltalake::delta_datafusion::create_session().into_inner();
            for name in known_tables() {
                let Some(t) = self.load(&name).await? else {
                    continue;
                };
                t.update_datafusion_session(&ctx.state())
                    .map_err(delta(&name))?;
                let provider = t.table_provider().await.map_err(query(&name))?;
                ctx.register_table(name.as_str(), provider)
                    .map_err(query(&name))?;
            }
            ctx.sql(sql)
                .await
                .map_err(query("sql"))?
                .collect()
                .await
                .map_err(query("sql"))
        })
    }

    /// The tables of the lake, in the order of a conversion.
    pub fn tables(&self) -> Result<Vec<String>, LakeError> {
        self.runtime.block_on(async {
            let mut found = Vec::new();
            for name in known_tables() {
                if self.load(&name).await?.is_some() {
                    found.push(name);
                }
            }
            Ok(found)
        })
    }

    /// The versions of `table`, newest first (at most `limit`).
    pub fn history(&self, table: &str, limit: Option<usize>) -> Result<Vec<Commit>, LakeError> {
        self.runtime.block_on(async {
            let Some(t) = self.load(table).await? else {
                return Err(LakeError::Invalid(format!(
                    "{}: no such table",
                    self.table_uri(table)
                )));
            };
            let latest = t.version().unwrap_or(0);
            let infos: Vec<_> = t.history(limit).try_collect().await.map_err(delta(table))?;
            Ok(infos
                .into_iter()
                .enumerate()
                .map(|(i, info)| Commit {
                    version: latest.saturating_sub(i as u64),
                    timestamp_ms: info.timestamp,
                    operation: info.operation.clone().unwrap_or_default(),
                    feeds: info
                        .info
                        .get("espi.feeds")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Feed::from_json).collect())
                        .unwrap_or_default(),
                    metrics: info
                        .info
                        .get("operationMetrics")
                        .cloned()
                        .unwrap_or(Value::Null),
                })
                .collect())
        })
    }

    /// Version, files, rows, bytes and partitions of every table.
    pub fn stats(&self) -> Result<Vec<TableStats>, LakeError> {
        self.runtime.block_on(async {
            let mut all = Vec::new();
            for name in known_tables() {
                let Some(t) = self.load(&name).await? else {
                    continue;
                };
                let snapshot = t.snapshot().map_err(delta(&name))?;
                let mut stats = TableStats {
                    table: name.clone(),
                    version: t.version().unwrap_or(0),
                    ..TableStats::default()
                };
                let mut partitions = BTreeSet::new();
                for file in snapshot.log_data().iter() {
                    stats.files += 1;
                    stats.bytes += file.size().max(0) as u64;
                    stats.rows += file.num_records().unwrap_or(0) as u64;
                    for value in file.partition_values_map().into_values().flatten() {
                        partitions.insert(value);
                    }
                }
                stats.partitions = partitions.into_iter().collect();
                all.push(stats);
            }
            Ok(all)
        })
    }

    /// Compact the tables' small files; the readings of `months` (all when
    /// empty) are rewritten z-ordered by usage point, so a query for some
    /// customers reads few files. Returns (table, files removed, files added).
    pub fn optimize(
        &self,
        months: &[String],
        options: &IngestOptions,
    ) -> Result<Vec<(String, u64, u64)>, LakeError> {
        self.runtime.block_on(async {
            let mut done = Vec::new();
            for name in known_tables() {
                let Some(t) = self.load(&name).await? else {
                    continue;
                };
                let month_values: Vec<&str> = months.iter().map(String::as_str).collect();
                let filters = [(MONTH, FilterOp::In, FilterValue::Set(month_values))];
                let mut builder = t
                    .optimize()
                    .with_writer_properties(Self::writer_properties(options, &name)?)
                    .with_target_size(
                        NonZeroU64::new(options.target_file_bytes)
                            .ok_or_else(|| LakeError::Invalid("target file size 0".into()))?,
                    );
                if name == READINGS {
                    builder = builder.with_type(OptimizeType::ZOrder(vec![
                        "usage_point".into(),
                        "meter_reading".into(),
                    ]));
                    if !months.is_empty() {
                        builder = builder.with_filters(&filters);
                    }
                }
                let (_, metrics) = builder.await.map_err(delta(&name))?;
                done.push((name, metrics.num_files_removed, metrics.num_files_added));
            }
            Ok(done)
        })
    }

    /// Delete the files no version younger than `retention_hours` uses
    /// (`full`: also files no version ever used, as left by a killed
    /// ingest). Below the tables' retention (7 days by default) only with
    /// `force`.
    pub fn vacuum(
        &self,
        retention_hours: u64,
        dry_run: bool,
        full: bool,
        force: bool,
    ) -> Result<VacuumReport, LakeError> {
        self.runtime.block_on(async {
            let mut report = VacuumReport {
                dry_run,
                ..VacuumReport::default()
            };
            let hours = i64::try_from(retention_hours)
                .map_err(|_| LakeError::Invalid("retention too long".into()))?;
            for name in known_tables() {
                let Some(t) = self.load(&name).await? else {
                    continue;
                };
                let (_, metrics) = t
                    .vacuum()
                    .with_retention_period(chrono::Duration::hours(hours))
                    .with_enforce_retention_duration(!force)
                    .with_mode(if full {
                        VacuumMode::Full
                    } else {
                        VacuumMode::Lite
                    })
                    .with_dry_run(dry_run)
                    .await
                    .map_err(delta(&name))?;
                report.tables.push((name, metrics.files_deleted));
            }
            Ok(report)
        })
    }
}

/// Query results as a text table.
pub fn pretty(batches: &[RecordBatch]) -> Result<String, LakeError> {
    deltalake::arrow::util::pretty::pretty_format_batches(batches)
        .map(|table| table.to_string())
        .map_err(|e| LakeError::Invalid(e.to_string()))
}

/// `relation.column` (the MERGE's `source` or `target`).
fn qualified(relation: &str, column: &str) -> Expr {
    Expr::Column(Column::new(Some(relation), column))
}

/// The MERGE condition: the keys equal (null equal to null), and for
/// readings the touched months named, so only their files are read.
fn merge_predicate(table: &str, keys: &[String], months: &[String]) -> Expr {
    let mut terms = Vec::new();
    if table == READINGS {
        terms.push(
            qualified("target", MONTH)
                .in_list(months.iter().map(|m| lit(m.as_str())).collect(), false),
        );
        terms.push(qualified("target", MONTH).eq(qualified("source", MONTH)));
        terms.extend(
            keys.iter()
                .map(|k| qualified("target", k).eq(qualified("source", k))),
        );
    } else {
        terms.extend(keys.iter().map(|k| {
            binary_expr(
                qualified("target", k),
                Operator::IsNotDistinctFrom,
                qualified("source", k),
            )
        }));
    }
    conjunction(terms).unwrap_or_else(|| lit(false))
}

/// The rows of the source and, for readings, the months they touch
/// (sorted): one aggregation over the source.
async fn rows_and_months(table: &str, source: &DataFrame) -> Result<(u64, Vec<String>), LakeError> {
    if table != READINGS {
        let rows = source.clone().count().await.map_err(query(table))?;
        return Ok((rows as u64, Vec::new()));
    }
    let batches = source
        .clone()
        .aggregate(vec![col(MONTH)], vec![count(lit(1)).alias("rows")])
        .map_err(query(table))?
        .collect()
        .await
        .map_err(query(table))?;
    let invalid = |e: &dyn std::fmt::Display| LakeError::Invalid(format!("{table}: {e}"));
    let mut rows = 0u64;
    let mut months = BTreeSet::new();
    for batch in batches {
        let month = cast(batch.column(0), &DataType::Utf8).map_err(|e| invalid(&e))?;
        let month = month
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| invalid(&"month is not a string"))?;
        let counts = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| invalid(&"count is not an Int64"))?;
        for i in 0..batch.num_rows() {
            rows += counts.value(i) as u64;
            if month.is_valid(i) {
                months.insert(month.value(i).to_owned());
            }
        }
    }
    Ok((rows, months.into_iter().collect()))
}

/// The tables of a conversion folder (sub-folders holding Parquet files),
/// `readings` last, `rejects` before it.
fn converted_tables(converted: &Path) -> Result<Vec<(String, PathBuf)>, LakeError> {
    let io = |source| LakeError::Io {
        path: converted.to_owned(),
        source,
    };
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(converted).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if path.is_dir() && holds_parquet(&path) {
            tables.push((name, path));
        }
    }
    let rank = |name: &str| match name {
        READINGS => 2,
        REJECTS => 1,
        _ => 0,
    };
    tables.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    if !tables.iter().any(|(n, _)| n == READINGS) {
        return Err(LakeError::Invalid(format!(
            "{}: no readings table (give a folder written by `espi convert`)",
            converted.display()
        )));
    }
    Ok(tables)
}

fn holds_parquet(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            (p.is_file() && p.extension().is_some_and(|x| x == "parquet"))
                || (p.is_dir() && holds_parquet(&p))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{IngestOptions, Lake, READINGS};
    use deltalake::parquet::basic::{Compression, ZstdLevel};
    use deltalake::parquet::file::properties::EnabledStatistics;
    use deltalake::parquet::schema::types::ColumnPath;

    #[test]
    fn tables_are_written_with_the_settings_of_espi_convert() {
        let options = IngestOptions::default();
        let column = |name: &str| ColumnPath::from(name);
        let readings = Lake::writer_properties(&options, READINGS).unwrap();
        assert!(!readings.dictionary_enabled(&column("value_raw")));
        assert!(!readings.dictionary_enabled(&column("start")));
        assert!(readings.dictionary_enabled(&column("meter_reading")));
        assert_eq!(
            readings.column_dictionary_page_size_limit(&column("meter_reading")),
            8 << 20
        );
        assert_eq!(
            readings.statistics_enabled(&column("unit")),
            EnabledStatistics::None
        );
        assert_ne!(
            readings.statistics_enabled(&column("usage_point")),
            EnabledStatistics::None
        );
        assert_eq!(
            readings.compression(&column("value")),
            Compression::ZSTD(ZstdLevel::try_new(3).unwrap())
        );
        // The small tables' hrefs, ids and JSON are distinct on nearly
        // every row: no dictionaries there.
        let others = Lake::writer_properties(&options, "meter_readings").unwrap();
        assert!(!others.dictionary_enabled(&column("meter_reading")));
        assert!(!others.dictionary_enabled(&column("first_start")));
        let bad = IngestOptions {
            zstd_level: 40,
            ..IngestOptions::default()
        };
        assert!(Lake::writer_properties(&bad, READINGS).is_err());
    }
}
