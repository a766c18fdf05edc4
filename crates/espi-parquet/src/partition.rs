//! Hive-style partitioning of the readings table.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::DataType;
use espi_model::numbers::civil_from_days;

use crate::WriteError;

/// How the readings table is split into folders.
///
/// ```
/// let p = espi_parquet::Partitioning::parse("month,usage-point-bucket", 16).unwrap();
/// assert!(p.by_month);
/// assert_eq!(p.usage_point_buckets, Some(16));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitioning {
    /// `month=YYYY-MM` from the UTC month of `start`.
    pub by_month: bool,
    /// `usage_point_bucket=NN`: [`usage_point_bucket`] of `usage_point` modulo N.
    pub usage_point_buckets: Option<u32>,
}

impl Partitioning {
    /// Parse a comma-separated list of `month` and `usage-point-bucket`
    /// (also `bucket`), with the bucket count to use.
    pub fn parse(spec: &str, buckets: u32) -> Result<Partitioning, String> {
        let mut p = Partitioning {
            by_month: false,
            usage_point_buckets: None,
        };
        for key in spec.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            match key {
                "month" => p.by_month = true,
                "usage-point-bucket" | "usage_point_bucket" | "bucket" => {
                    if buckets == 0 {
                        return Err("the bucket count must be at least 1".into());
                    }
                    p.usage_point_buckets = Some(buckets)
                }
                other => {
                    return Err(format!(
                        "unknown partition key `{other}` (expected month, usage-point-bucket)"
                    ))
                }
            }
        }
        if !p.by_month && p.usage_point_buckets.is_none() {
            return Err("no partition key given".into());
        }
        Ok(p)
    }

    /// Split a readings batch by partition folder (`month=2024-01/usage_point_bucket=03`).
    pub fn split(&self, batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>, WriteError> {
        let n = batch.num_rows();
        let months: Option<Vec<String>> = if self.by_month {
            let start = batch
                .column_by_name("start")
                .ok_or_else(|| WriteError::Partition("no `start` column".into()))?;
            let start = start
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| WriteError::Partition("`start` is not a timestamp".into()))?;
            Some(
                (0..n)
                    .map(|i| {
                        let days = start.value(i).div_euclid(86_400_000_000);
                        let (y, m, _) = civil_from_days(days);
                        format!("{y:04}-{m:02}")
                    })
                    .collect(),
            )
        } else {
            None
        };
        let buckets: Option<Vec<u32>> = match self.usage_point_buckets {
            None => None,
            Some(nb) => {
                let col = batch
                    .column_by_name("usage_point")
                    .ok_or_else(|| WriteError::Partition("no `usage_point` column".into()))?;
                Some(bucket_per_row(col.as_ref(), nb)?)
            }
        };
        let width = self
            .usage_point_buckets
            .map_or(1, |nb| (nb.saturating_sub(1)).to_string().len());
        let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for i in 0..n {
            let mut path = String::new();
            if let Some(m) = &months {
                path.push_str("month=");
                path.push_str(&m[i]);
            }
            if let Some(b) = &buckets {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&format!("usage_point_bucket={:0width$}", b[i]));
            }
            groups.entry(path).or_default().push(i as u32);
        }
        if groups.len() == 1 {
            let (path, _) = groups.into_iter().next().expect("one group");
            return Ok(vec![(path, batch.clone())]);
        }
        groups
            .into_iter()
            .map(|(path, rows)| {
                let indices = UInt32Array::from(rows);
                arrow_select::take::take_record_batch(batch, &indices)
                    .map(|b| (path, b))
                    .map_err(|e| WriteError::Partition(e.to_string()))
            })
            .collect()
    }
}

fn bucket_per_row(col: &dyn Array, buckets: u32) -> Result<Vec<u32>, WriteError> {
    match col.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let dict = col.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            let per_value: Vec<u32> = (0..values.len())
                .map(|i| usage_point_bucket(values.value(i), buckets))
                .collect();
            Ok(dict
                .keys()
                .values()
                .iter()
                .map(|&k| per_value[k as usize])
                .collect())
        }
        DataType::Utf8 => {
            let s = col.as_string::<i32>();
            Ok((0..s.len())
                .map(|i| usage_point_bucket(s.value(i), buckets))
                .collect())
        }
        other => Err(WriteError::Partition(format!(
            "`usage_point` has type {other}, expected a string"
        ))),
    }
}

/// The bucket of a usage point: 64-bit FNV-1a of its UTF-8 bytes, modulo
/// `buckets`. Stable across runs and machines, so a query can compute the
/// folder of a usage point itself.
///
/// ```
/// // FNV-1a("") = 0xcbf29ce484222325
/// assert_eq!(espi_parquet::usage_point_bucket("", 1000), (0xcbf29ce484222325u64 % 1000) as u32);
/// ```
pub fn usage_point_bucket(usage_point: &str, buckets: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in usage_point.as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % buckets.max(1) as u64) as u32
}
