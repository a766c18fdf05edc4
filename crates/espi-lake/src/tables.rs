//! How each table of a conversion lands in the lake: its key, its
//! partitioning, and the SQL that turns the converted Parquet files into the
//! rows to merge.

use deltalake::arrow::datatypes::{DataType, Schema};

/// The readings table: keyed by (usage point, meter reading, interval
/// start), partitioned by the UTC month of the start.
pub const READINGS: &str = "readings";
/// The ingest log: one row per feed, written after every other table.
pub const INGEST_LOG: &str = "ingest_log";
/// What the conversion read but did not write, and why (appended).
pub const REJECTS: &str = "rejects";
/// The partition column of the readings table (`YYYY-MM`, UTC).
pub const MONTH: &str = "month";

/// How rows of one table are matched against the lake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Keying {
    /// Rows are upserted by these columns; a row replaces the stored one
    /// unless the stored one was updated later (`updated_column`).
    Upsert {
        keys: Vec<String>,
        updated_column: &'static str,
    },
    /// Rows are appended (no key).
    Append,
}

/// The key columns a converted table is upserted by (`None`: appended).
///
/// ```
/// assert_eq!(
///     espi_lake::table_keys("readings"),
///     Some(vec!["usage_point", "meter_reading", "start"])
/// );
/// assert_eq!(espi_lake::table_keys("rejects"), None);
/// ```
pub fn table_keys(table: &str) -> Option<Vec<&'static str>> {
    let keys: &[&'static str] = match table {
        READINGS => &["usage_point", "meter_reading", "start"],
        "usage_points" => &["usage_point"],
        "meter_readings" => &["meter_reading"],
        "reading_types" => &["reading_type"],
        "entries" => &["resource", "entry_id", "self_href"],
        "interval_blocks" => &["meter_reading", "interval_start"],
        "usage_summary_line_items" => &["usage_summary", "period", "item_index"],
        "usage_summaries" => &["usage_summary"],
        "power_quality_summaries" => &["power_quality_summary"],
        "local_time_parameters" => &["local_time_parameters"],
        "customers" => &["customer"],
        "customer_accounts" => &["customer_account"],
        "customer_agreements" => &["customer_agreement"],
        "service_locations" => &["service_location"],
        "meters" => &["meter"],
        "program_enrollments" => &["program_enrollment"],
        "application_information" => &["application_information"],
        "authorizations" => &["authorization"],
        "subscriptions" => &["subscription"],
        "batch_lists" => &["batch_list"],
        _ => return None,
    };
    Some(keys.to_vec())
}

/// The keying of a converted table: upserted by [`table_keys`] when it has
/// them and a column telling deliveries apart by age, appended otherwise.
pub(crate) fn keying(table: &str, schema: &Schema) -> Keying {
    let Some(keys) = table_keys(table) else {
        return Keying::Append;
    };
    let updated_column = if table == READINGS {
        "entry_updated"
    } else {
        "updated"
    };
    if keys.iter().all(|k| schema.column_with_name(k).is_some())
        && schema.column_with_name(updated_column).is_some()
    {
        Keying::Upsert {
            keys: keys.into_iter().map(str::to_owned).collect(),
            updated_column,
        }
    } else {
        Keying::Append
    }
}

/// A column as Delta stores it: dictionaries become their values (strings),
/// unsigned integers the signed type that holds every value.
fn delta_type(data_type: &DataType) -> Option<&'static str> {
    match data_type {
        DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => Some("VARCHAR"),
        DataType::UInt8 => Some("SMALLINT"),
        DataType::UInt16 => Some("INT"),
        DataType::UInt32 | DataType::UInt64 => Some("BIGINT"),
        _ => None,
    }
}

/// A quoted SQL identifier.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SELECT list of `schema` with Delta types.
fn projection(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let name = quoted(f.name());
            match delta_type(f.data_type()) {
                Some(t) => format!("CAST({name} AS {t}) AS {name}"),
                None => name,
            }
        })
        .collect()
}

/// The SQL that reads the rows to merge from the converted table registered
/// as `raw`:
/// - readings: superseded deliveries left out, `month` added;
/// - upserted tables: one row per key, the latest `updated` (then the later
///   entry of the feed);
/// - appended tables: every row.
pub(crate) fn source_sql(table: &str, schema: &Schema, keying: &Keying) -> String {
    let columns = projection(schema).join(", ");
    if table == READINGS {
        let superseded = if schema.column_with_name("superseded").is_some() {
            " WHERE NOT \"superseded\""
        } else {
            ""
        };
        return format!(
            "SELECT {columns}, to_char(\"start\", '%Y-%m') AS {month} FROM raw{superseded}",
            month = quoted(MONTH)
        );
    }
    match keying {
        Keying::Append => format!("SELECT {columns} FROM raw"),
        Keying::Upsert {
            keys,
            updated_column,
        } => {
            let partition = keys
                .iter()
                .map(|k| quoted(k))
                .collect::<Vec<_>>()
                .join(", ");
            let mut order = format!("{} DESC NULLS LAST", quoted(updated_column));
            if schema.column_with_name("entry_index").is_some() {
                order.push_str(", \"entry_index\" DESC NULLS LAST");
            }
            format!(
                "SELECT {columns} FROM (SELECT *, row_number() OVER \
                 (PARTITION BY {partition} ORDER BY {order}) AS espi_rank FROM raw) \
                 WHERE espi_rank = 1"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::datatypes::{Field, TimeUnit};

    fn schema(fields: &[(&str, DataType)]) -> Schema {
        Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn resource_tables_are_keyed_by_their_own_href() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let s = schema(&[("customer", DataType::Utf8), ("updated", ts.clone())]);
        assert_eq!(
            keying("customers", &s),
            Keying::Upsert {
                keys: vec!["customer".into()],
                updated_column: "updated"
            }
        );
        // Without an `updated` column there is nothing to order deliveries by.
        let s = schema(&[("customer", DataType::Utf8)]);
        assert_eq!(keying("customers", &s), Keying::Append);
        assert_eq!(keying(REJECTS, &s), Keying::Append);
    }

    #[test]
    fn source_sql_casts_dictionaries_and_unsigned_columns() {
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let s = schema(&[
            ("usage_point", dict),
            ("meter_reading", DataType::Utf8),
            ("start", ts.clone()),
            ("readings", DataType::UInt64),
            ("superseded", DataType::Boolean),
            ("entry_updated", ts),
        ]);
        let sql = source_sql(READINGS, &s, &keying(READINGS, &s));
        assert!(
            sql.contains("CAST(\"usage_point\" AS VARCHAR) AS \"usage_point\""),
            "{sql}"
        );
        assert!(sql.contains("CAST(\"readings\" AS BIGINT)"), "{sql}");
        assert!(sql.ends_with("WHERE NOT \"superseded\""), "{sql}");
    }
}
