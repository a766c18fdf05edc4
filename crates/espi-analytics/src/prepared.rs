//! The frames every kernel starts from: interval energy with its local time,
//! and billing periods.

use polars::prelude::*;

use crate::{AnalyticsError, Dataset, Period};

/// Micro-watt-hours per kWh: energy is summed as integer µWh.
pub(crate) const UWH_PER_KWH: f64 = 1e9;
const US_PER_DAY: i64 = 86_400_000_000;
const US_PER_HOUR: i64 = 3_600_000_000;

/// Flow directions (ReadingType `flowDirection`).
pub(crate) const DELIVERED: i32 = 1;
pub(crate) const NET: i32 = 4;
pub(crate) const RECEIVED: i32 = 19;

/// The latest delivery of every energy reading (kWh series with an interval
/// quantity), with columns:
/// `usage_point`, `meter_reading`, `flow` (i32), `start_us`, `duration_s`,
/// `local_us` (wall-clock microseconds; UTC without LocalTimeParameters),
/// `local_date` (Date), `hour` (0-23), `energy_uwh` (i64, exact for values
/// down to 10^-6 Wh; received energy as an absolute value), `cost_raw`,
/// `tou`, `tou_name`, `estimated`, `edited`.
pub(crate) fn energy(dataset: &Dataset) -> LazyFrame {
    let start_us = col("start").dt().timestamp(TimeUnit::Microseconds);
    let local_us = col("local_start")
        .dt()
        .timestamp(TimeUnit::Microseconds)
        .fill_null(start_us.clone());
    let uwh = (col("interval_delta") * lit(UWH_PER_KWH))
        .round(0, RoundMode::HalfToEven)
        .cast(DataType::Int64);
    dataset
        .readings
        .clone()
        .filter(
            col("superseded")
                .not()
                .and(col("unit").eq(lit("kWh")))
                .and(col("interval_delta").is_not_null())
                .and(col("duration_s").gt(lit(0))),
        )
        .select([
            col("usage_point"),
            col("meter_reading"),
            col("flow_direction").alias("flow"),
            start_us.alias("start_us"),
            col("duration_s"),
            local_us.alias("local_us"),
            when(col("flow_direction").eq(lit(RECEIVED)))
                .then(uwh.clone().abs())
                .otherwise(uwh)
                .alias("energy_uwh"),
            col("cost_raw"),
            col("tou"),
            col("tou_name"),
            col("estimated"),
            col("edited"),
        ])
        .with_columns([
            local_date(col("local_us")).alias("local_date"),
            (col("local_us") - col("local_us").floor_div(lit(US_PER_DAY)) * lit(US_PER_DAY))
                .floor_div(lit(US_PER_HOUR))
                .cast(DataType::Int8)
                .alias("hour"),
        ])
}

/// The local calendar date of wall-clock microseconds.
pub(crate) fn local_date(local_us: Expr) -> Expr {
    local_us
        .floor_div(lit(US_PER_DAY))
        .cast(DataType::Int32)
        .cast(DataType::Date)
}

/// The first day of the month of a Date.
pub(crate) fn month_start(date: Expr) -> Expr {
    date.dt().truncate(lit("1mo"))
}

/// One row per (usage point, billing period): `usage_point`, `bp_start_us`,
/// `bp_end_us`, `billed_kwh` (overall consumption of the period when given
/// in kWh), `billed_cost` (the bill amount in currency units). A period
/// delivered more than once keeps its latest `updated`.
pub(crate) fn billing_periods(dataset: &Dataset) -> Result<LazyFrame, AnalyticsError> {
    let Some(summaries) = &dataset.usage_summaries else {
        return Err(AnalyticsError::NoBillingPeriods);
    };
    let kwh = |name: &str| {
        when(
            col(format!("{name}_unit"))
                .cast(DataType::String)
                .eq(lit("kWh")),
        )
        .then(col(format!("{name}_value")))
        .otherwise(lit(NULL).cast(DataType::Float64))
    };
    let latest = |e: Expr| {
        e.sort_by(
            [col("updated")],
            SortMultipleOptions::default().with_nulls_last(false),
        )
        .last()
    };
    let bp_start = col("billing_period_start")
        .dt()
        .timestamp(TimeUnit::Microseconds);
    Ok(summaries
        .clone()
        .filter(
            col("billing_period_start")
                .is_not_null()
                .and(col("billing_period_duration_s").gt(lit(0))),
        )
        .select([
            col("usage_point").cast(DataType::String),
            bp_start.clone().alias("bp_start_us"),
            (bp_start + col("billing_period_duration_s") * lit(1_000_000i64)).alias("bp_end_us"),
            kwh("overall_consumption_last_period")
                .fill_null(kwh("current_billing_period_over_all_consumption"))
                .alias("billed_kwh"),
            col("bill_last_period_amount").alias("billed_cost"),
            col("updated"),
        ])
        .group_by([col("usage_point"), col("bp_start_us")])
        .agg([
            latest(col("bp_end_us")),
            latest(col("billed_kwh")),
            latest(col("billed_cost")),
        ]))
}

/// `frame` (with `usage_point`, `start_us`, `local_us`) with `period_start`
/// (Date) and, for billing periods, `period_end` (Date, exclusive): rows
/// outside every billing period are left out.
pub(crate) fn with_period(
    frame: LazyFrame,
    dataset: &Dataset,
    period: Period,
) -> Result<LazyFrame, AnalyticsError> {
    Ok(match period {
        Period::Day => frame.with_column(col("local_date").alias("period_start")),
        Period::Month => frame.with_column(month_start(col("local_date")).alias("period_start")),
        Period::Billing => {
            let periods = billing_periods(dataset)?;
            // Each reading finds the billing period starting at or before it
            // (per usage point) and is kept when it starts before its end.
            let asof = AsOfOptions {
                strategy: AsofStrategy::Backward,
                left_by: Some(vec!["usage_point".into()]),
                right_by: Some(vec!["usage_point".into()]),
                allow_eq: true,
                check_sortedness: false,
                ..AsOfOptions::default()
            };
            let sorted = SortMultipleOptions::default();
            let periods = periods.sort(["bp_start_us"], sorted.clone());
            // The join keys as strings on both sides: dictionary columns of
            // different files need not share their categories.
            frame
                .with_column(col("usage_point").cast(DataType::String))
                .sort(["start_us"], sorted)
                .join(
                    periods.select([col("usage_point"), col("bp_start_us"), col("bp_end_us")]),
                    [col("start_us")],
                    [col("bp_start_us")],
                    JoinArgs::new(JoinType::AsOf(Box::new(asof))),
                )
                .filter(col("start_us").lt(col("bp_end_us")))
                .with_columns([
                    local_date(col("bp_start_us") + offset_in_period(false)?).alias("period_start"),
                    local_date(col("bp_end_us") + offset_in_period(true)?).alias("period_end"),
                ])
        }
    })
}

/// The local-time offset (µs) of the first or last reading of each billing
/// period: a period's local start and end dates are read with the offset in
/// force at its start and end (DST can change inside a period).
fn offset_in_period(last: bool) -> PolarsResult<Expr> {
    let offset = (col("local_us") - col("start_us"))
        .sort_by([col("start_us")], SortMultipleOptions::default());
    let picked = if last { offset.last() } else { offset.first() };
    picked.over([col("usage_point"), col("bp_start_us")])
}

/// The rows of the finest series of each usage point and flow direction: a
/// usage point with a 15-minute and a daily series of delivered energy keeps
/// the 15-minute one; series of the same finest interval length (several
/// meters) are all kept.
///
/// The kept series are found first (one small aggregation) and the rows then
/// filtered by them, so the query stays streamable.
pub(crate) fn finest_series(frame: LazyFrame) -> Result<LazyFrame, AnalyticsError> {
    let series = run(frame
        .clone()
        .group_by([
            col("usage_point").cast(DataType::String),
            col("flow"),
            col("meter_reading").cast(DataType::String),
        ])
        .agg([col("duration_s").min().alias("series_interval")]))?;
    let kept = series
        .lazy()
        .filter(
            col("series_interval").eq(col("series_interval")
                .min()
                .over([col("usage_point"), col("flow")])?),
        )
        .select([col("meter_reading")])
        .collect()?;
    let ids = kept
        .column("meter_reading")?
        .as_materialized_series()
        .implode()?
        .into_series();
    Ok(frame.filter(col("meter_reading").is_in(lit(ids), false)))
}

/// `table` (with `usage_point` and, for billing periods, `bp_start_us`) with
/// the UsageSummary's `billed_kwh` and `billed_cost` of each billing period;
/// both null for days and months, which are not billed as such.
pub(crate) fn with_billed(
    table: LazyFrame,
    dataset: &Dataset,
    period: Period,
) -> Result<LazyFrame, AnalyticsError> {
    if period != Period::Billing {
        return Ok(table.with_columns([
            lit(NULL).cast(DataType::Float64).alias("billed_kwh"),
            lit(NULL).cast(DataType::Float64).alias("billed_cost"),
        ]));
    }
    let billed = billing_periods(dataset)?.select([
        col("usage_point"),
        col("bp_start_us"),
        col("billed_kwh"),
        col("billed_cost"),
    ]);
    Ok(table.join(
        billed,
        [col("usage_point"), col("bp_start_us")],
        [col("usage_point"), col("bp_start_us")],
        JoinArgs::new(JoinType::Left),
    ))
}

/// The name of a flow direction code.
pub(crate) fn flow_name(flow: Expr) -> Expr {
    when(flow.clone().eq(lit(DELIVERED)))
        .then(lit("delivered"))
        .when(flow.clone().eq(lit(RECEIVED)))
        .then(lit("received"))
        .when(flow.clone().eq(lit(NET)))
        .then(lit("net"))
        .otherwise(concat_str(
            [lit("flow_"), flow.cast(DataType::String)],
            "",
            false,
        ))
}

/// The first day after a period: the next day or month, or the end of the
/// billing period.
pub(crate) fn period_end(period: Period) -> Expr {
    match period {
        Period::Day => col("period_start").dt().offset_by(lit("1d")),
        Period::Month => col("period_start").dt().offset_by(lit("1mo")),
        Period::Billing => col("period_end"),
    }
}

/// The name of a period kind, as written in `period` columns.
pub(crate) fn period_name(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Month => "month",
        Period::Billing => "billing",
    }
}

/// Run a query on the streaming engine: the readings are read in morsels and
/// aggregated as they come, so memory follows the size of the result, not
/// of the table (steps the streaming engine cannot run fall back to memory).
pub(crate) fn run(query: LazyFrame) -> Result<DataFrame, AnalyticsError> {
    Ok(query
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single())
}

/// Run `query` on chunks of whole usage points (each chunk's readings and
/// summaries) and stack the results, sorted by `order`.
pub(crate) fn by_usage_point_chunks(
    dataset: &Dataset,
    order: &[&str],
    query: impl Fn(&Dataset) -> Result<LazyFrame, AnalyticsError>,
) -> Result<DataFrame, AnalyticsError> {
    let mut parts = Vec::new();
    for part in usage_point_chunks(dataset)? {
        parts.push(run(query(&part)?)?.lazy());
    }
    run(concat(parts, UnionArgs::default())?.sort(
        order
            .iter()
            .map(|c| PlSmallStr::from(*c))
            .collect::<Vec<_>>(),
        SortMultipleOptions::default().with_nulls_last(true),
    ))
}

/// The dataset cut into chunks of whole usage points of about
/// [`Dataset::chunk_readings`] readings (one chunk, the dataset itself, when
/// small).
pub(crate) fn usage_point_chunks(dataset: &Dataset) -> Result<Vec<Dataset>, AnalyticsError> {
    let counts = run(dataset
        .readings
        .clone()
        .group_by([col("usage_point").cast(DataType::String)])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort(["usage_point"], SortMultipleOptions::default()))?;
    let ids = counts
        .column("usage_point")?
        .as_materialized_series()
        .clone();
    let sizes: Vec<u64> = counts
        .column("n")?
        .u64()?
        .iter()
        .map(|n| n.unwrap_or(0))
        .collect();
    let limit = dataset.chunk_readings.max(1);
    if sizes.iter().sum::<u64>() <= limit {
        return Ok(vec![dataset.clone()]);
    }
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < sizes.len() {
        let mut last = first;
        let mut readings = 0;
        while last < sizes.len() && (last == first || readings + sizes[last] <= limit) {
            readings += sizes[last];
            last += 1;
        }
        let chunk = lit(ids
            .slice(first as i64, last - first)
            .implode()?
            .into_series());
        let of_chunk = col("usage_point").is_in(chunk, false);
        chunks.push(Dataset {
            readings: dataset.readings.clone().filter(of_chunk.clone()),
            usage_summaries: dataset.usage_summaries.clone().map(|s| s.filter(of_chunk)),
            chunk_readings: dataset.chunk_readings,
        });
        first = last;
    }
    Ok(chunks)
}
