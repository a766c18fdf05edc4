//! Hive-style partitioning of the readings table.

use std::collections::{BTreeMap, HashMap};

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
        // Rows are grouped by number (UTC month since year 0, bucket); the
        // folder names are written once per group.
        let months: Option<Vec<i64>> = if self.by_month {
            let start = batch
                .column_by_name("start")
                .ok_or_else(|| WriteError::Partition("no `start` column".into()))?;
            let start = start
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| WriteError::Partition("`start` is not a timestamp".into()))?;
            Some(
                start
                    .values()
                    .iter()
                    .map(|&us| {
                        let (y, m, _) = civil_from_days(us.div_euclid(86_400_000_000));
                        y * 12 + (m as i64 - 1)
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
        let mut keyed: HashMap<(i64, u32), Vec<u32>> = HashMap::new();
        for i in 0..n {
            let key = (
                months.as_ref().map_or(0, |m| m[i]),
                buckets.as_ref().map_or(0, |b| b[i]),
            );
            keyed.entry(key).or_default().push(i as u32);
        }
        let width = self
            .usage_point_buckets
            .map_or(1, |nb| (nb.saturating_sub(1)).to_string().len());
        let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for ((month, bucket), rows) in keyed {
            let mut path = String::new();
            if self.by_month {
                let (y, m) = (month.div_euclid(12), month.rem_euclid(12) + 1);
                path.push_str(&format!("month={y:04}-{m:02}"));
            }
            if self.usage_point_buckets.is_some() {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&format!("usage_point_bucket={bucket:0width$}"));
            }
            groups.insert(path, rows);
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    #[test]
    fn rows_go_to_the_folder_of_their_month_and_bucket() {
        // Rows out of order, across month and year ends (before 1970 too).
        let day = 86_400_000_000i64;
        let starts: Vec<i64> = (0..500)
            .map(|i: i64| ((i * 7919) % 997 - 400) * day / 3 + (i % 5) * 900_000_000)
            .collect();
        let ups: Vec<String> = (0..500)
            .map(|i| format!("/UsagePoint/{}", (i * 31) % 23))
            .collect();
        let batch = RecordBatch::try_from_iter([
            (
                "start",
                Arc::new(TimestampMicrosecondArray::from(starts.clone()).with_timezone("UTC"))
                    as ArrayRef,
            ),
            (
                "usage_point",
                Arc::new(StringArray::from_iter_values(&ups)) as ArrayRef,
            ),
        ])
        .unwrap();
        for (spec, buckets) in [
            ("month", 1),
            ("usage-point-bucket", 12),
            ("month,bucket", 7),
        ] {
            let p = Partitioning::parse(spec, buckets).unwrap();
            // Each row's folder, named directly.
            let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for (i, start) in starts.iter().enumerate() {
                let mut parts = Vec::new();
                if p.by_month {
                    let (y, m, _) = civil_from_days(start.div_euclid(day));
                    parts.push(format!("month={y:04}-{m:02}"));
                }
                if let Some(nb) = p.usage_point_buckets {
                    let width = (nb - 1).to_string().len();
                    let b = usage_point_bucket(&ups[i], nb);
                    parts.push(format!("usage_point_bucket={b:0width$}"));
                }
                expected.entry(parts.join("/")).or_default().push(*start);
            }
            let got: BTreeMap<String, Vec<i64>> = p
                .split(&batch)
                .unwrap()
                .into_iter()
                .map(|(path, b)| {
                    let s = b.column(0).as_primitive::<TimestampMicrosecondType>();
                    (path, s.values().to_vec())
                })
                .collect();
            assert!(expected.len() > 3, "{spec}: several folders");
            assert_eq!(got, expected, "{spec}");
        }
    }
}
