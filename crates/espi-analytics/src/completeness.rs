//! Data completeness: expected versus present intervals per series and local
//! day, with duplicates, overlaps, gaps and estimated readings.

use polars::prelude::*;
use polars::series::ops::NullBehavior;

use crate::prepared::by_usage_point_chunks;
use crate::prepared::{flow_name, local_date};
use crate::{AnalyticsError, Dataset};

const US: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US;

/// One row per series (meter reading) and local day, from the series' first
/// day to its last, days without readings included.
///
/// Columns: `usage_point`, `meter_reading`, `flow`, `interval_s` (the
/// series' most common reading duration), `date` (local), `expected`
/// (intervals in the local day: 92 or 100 quarter hours on DST change days),
/// `present` (distinct interval starts), `missing`, `duplicates` (deliveries
/// beyond the first of an interval, superseded corrections included),
/// `superseded`, `overlaps` (starts inside the previous interval), `gaps`
/// (runs of missing intervals), `estimated` and `edited` (latest deliveries
/// with those quality codes), `estimated_share` (of present), and
/// `last_reading` (end of the usage point's last reading, UTC).
///
/// A day's length comes from the local-time offsets of its first and last
/// readings; a day without readings is taken as 24 hours.
pub fn completeness(dataset: &Dataset) -> Result<DataFrame, AnalyticsError> {
    // Gaps and overlaps sort each day's starts: chunks of usage points.
    by_usage_point_chunks(dataset, &["usage_point", "meter_reading", "date"], query)
}

fn query(dataset: &Dataset) -> Result<LazyFrame, AnalyticsError> {
    let start_us = col("start").dt().timestamp(TimeUnit::Microseconds);
    let readings = dataset
        .readings
        .clone()
        .filter(col("duration_s").gt(lit(0)))
        .select([
            col("usage_point"),
            col("meter_reading"),
            col("flow_direction").alias("flow"),
            start_us.clone().alias("start_us"),
            col("duration_s"),
            col("local_start")
                .dt()
                .timestamp(TimeUnit::Microseconds)
                .fill_null(start_us)
                .alias("local_us"),
            col("superseded"),
            col("estimated"),
            col("edited"),
        ])
        .with_column(local_date(col("local_us")).alias("date"));

    let intervals = readings
        .clone()
        .group_by([col("meter_reading"), col("duration_s")])
        .agg([len().alias("n")])
        // The most frequent interval length, the shorter on a tie: chosen
        // inside each group, whatever order the rows arrive in.
        .group_by([col("meter_reading")])
        .agg([col("duration_s")
            .sort_by(
                [col("n"), col("duration_s")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .first()
            .alias("interval_s")]);

    let distinct_starts = col("start_us").unique().sort(SortOptions::default());
    let steps = distinct_starts.diff(lit(1), NullBehavior::Ignore);
    let interval_us = col("interval_s").first() * lit(US);
    let latest = col("superseded").not();
    let days = readings
        .clone()
        .join(
            intervals,
            [col("meter_reading")],
            [col("meter_reading")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("usage_point"), col("meter_reading"), col("date")])
        .agg([
            col("flow").first(),
            col("interval_s").first(),
            len().cast(DataType::Int64).alias("rows"),
            col("start_us")
                .n_unique()
                .cast(DataType::Int64)
                .alias("present"),
            col("superseded")
                .sum()
                .cast(DataType::Int64)
                .alias("superseded"),
            steps
                .clone()
                .gt(interval_us.clone())
                .sum()
                .cast(DataType::Int64)
                .alias("inner_gaps"),
            steps
                .clone()
                .gt(lit(0))
                .and(steps.lt(interval_us))
                .sum()
                .cast(DataType::Int64)
                .alias("overlaps"),
            col("estimated")
                .and(latest.clone())
                .sum()
                .cast(DataType::Int64)
                .alias("estimated"),
            col("edited")
                .and(latest)
                .sum()
                .cast(DataType::Int64)
                .alias("edited"),
            col("start_us").min().alias("first_start_us"),
            (col("start_us") + col("duration_s") * lit(US))
                .max()
                .alias("last_end_us"),
            offset_at(false).alias("first_offset_us"),
            offset_at(true).alias("last_offset_us"),
        ]);

    // Every day from each series' first to its last.
    let calendar = days
        .clone()
        .group_by([col("usage_point"), col("meter_reading")])
        .agg([
            col("date").min().alias("first"),
            col("date").max().alias("last"),
            col("flow").first(),
            col("interval_s").first(),
        ])
        .with_column(
            date_ranges(
                Some(col("first")),
                Some(col("last")),
                Some(Duration::parse("1d")),
                None,
                ClosedWindow::Both,
            )?
            .alias("date"),
        )
        .select([
            col("usage_point"),
            col("meter_reading"),
            col("flow"),
            col("interval_s"),
            col("date"),
        ])
        .explode(
            cols(["date"]),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            },
        );

    let last_reading = readings
        .filter(col("superseded").not())
        .group_by([col("usage_point")])
        .agg([(col("start_us") + col("duration_s") * lit(US))
            .max()
            .alias("last_reading_us")]);

    let date_us = col("date").cast(DataType::Int32).cast(DataType::Int64) * lit(US_PER_DAY);
    let day_start_us = date_us.clone() - col("first_offset_us");
    let day_end_us = date_us + lit(US_PER_DAY) - col("last_offset_us");
    let day_seconds =
        ((day_end_us.clone() - day_start_us.clone()).floor_div(lit(US))).fill_null(lit(86_400i64));
    let expected = (day_seconds.cast(DataType::Float64)
        / col("interval_s").cast(DataType::Float64))
    .round(0, RoundMode::HalfToEven)
    .cast(DataType::Int64)
    .clip_min(lit(1i64));
    let edge = |condition: Expr| when(condition).then(lit(1i64)).otherwise(lit(0i64));
    Ok(calendar
        .join(
            days.select([
                col("usage_point"),
                col("meter_reading"),
                col("date"),
                col("rows"),
                col("present"),
                col("superseded"),
                col("inner_gaps"),
                col("overlaps"),
                col("estimated"),
                col("edited"),
                col("first_start_us"),
                col("last_end_us"),
                col("first_offset_us"),
                col("last_offset_us"),
            ]),
            [col("usage_point"), col("meter_reading"), col("date")],
            [col("usage_point"), col("meter_reading"), col("date")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            last_reading,
            [col("usage_point")],
            [col("usage_point")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(expected.alias("expected"))
        .with_columns([
            col("present").fill_null(lit(0i64)),
            (edge(col("first_start_us").gt(day_start_us))
                + edge(col("last_end_us").lt(day_end_us))
                + col("inner_gaps"))
            .fill_null(lit(1i64))
            .alias("gaps"),
        ])
        .select([
            col("usage_point").cast(DataType::String),
            col("meter_reading").cast(DataType::String),
            flow_name(col("flow")).alias("flow"),
            col("interval_s"),
            col("date"),
            col("expected"),
            col("present"),
            (col("expected") - col("present"))
                .clip_min(lit(0i64))
                .alias("missing"),
            (col("rows") - col("present"))
                .fill_null(lit(0i64))
                .alias("duplicates"),
            col("superseded").fill_null(lit(0i64)),
            col("overlaps").fill_null(lit(0i64)),
            col("gaps"),
            col("estimated").fill_null(lit(0i64)),
            col("edited").fill_null(lit(0i64)),
            when(col("present").gt(lit(0i64)))
                .then(
                    col("estimated").cast(DataType::Float64)
                        / col("present").cast(DataType::Float64),
                )
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("estimated_share"),
            col("last_reading_us")
                .cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .alias("last_reading"),
        ]))
}

/// The local-time offset (µs) of a day's first or last reading.
fn offset_at(last: bool) -> Expr {
    let offset = (col("local_us") - col("start_us"))
        .sort_by([col("start_us")], SortMultipleOptions::default());
    if last {
        offset.last()
    } else {
        offset.first()
    }
}
