//! TOU and billing roll-ups: energy and cost per TOU period, per month or
//! billing period, against the billed totals.

use polars::prelude::*;

use crate::prepared::{by_usage_point_chunks, run};
use crate::prepared::{
    energy, finest_series, flow_name, period_end, period_name, with_billed, with_period, DELIVERED,
    UWH_PER_KWH,
};
use crate::{AnalyticsError, Dataset, Period};

/// Hundred-thousandths of a currency unit: ESPI costs are written in them.
const COST_UNITS_PER_CURRENCY: f64 = 100_000.0;

/// Options of [`tou_rollup`].
#[derive(Debug, Clone, PartialEq)]
pub struct TouOptions {
    /// The periods to roll up over; the rows of each are stacked, told apart
    /// by the `period` column.
    pub periods: Vec<Period>,
}

impl Default for TouOptions {
    fn default() -> Self {
        TouOptions {
            periods: vec![Period::Month],
        }
    }
}

/// Energy and cost per usage point, period, flow direction and TOU period.
///
/// Columns: `usage_point`, `period` (`day`, `month` or `billing`),
/// `period_start`, `period_end` (local dates, end exclusive), `flow`
/// (`delivered`, `received`, `net`), `tou` (the code, null when the readings
/// carry none), `tou_name` (`unassigned` without a code), `energy_kwh`,
/// `cost` (sum of the readings' costs in currency units; null when they carry
/// none), `readings`, `share` (of the period's energy of that flow),
/// `period_energy_kwh`, `period_cost`, and for billing periods the
/// UsageSummary's `billed_kwh` and `billed_cost` with, on delivered rows,
/// `energy_difference_kwh` (period energy minus billed) and `cost_difference`
/// (period cost minus billed).
pub fn tou_rollup(dataset: &Dataset, options: &TouOptions) -> Result<DataFrame, AnalyticsError> {
    let order = ["usage_point", "period", "period_start", "flow", "tou"];
    let mut frames = Vec::new();
    for &period in &options.periods {
        let table = if period == Period::Billing {
            // The billing-period join sorts its rows: chunks of usage points.
            // Periods starting on the same local date (overlapping or
            // corrected bills) are ordered by their exact start.
            let exact = [
                "usage_point",
                "period",
                "period_start",
                "bp_start_us",
                "flow",
                "tou",
            ];
            by_usage_point_chunks(dataset, &exact, |part| rollup(part, period))?
                .drop("bp_start_us")?
        } else {
            run(rollup(dataset, period)?)?
        };
        frames.push(table.lazy());
    }
    if frames.is_empty() {
        return Ok(DataFrame::empty());
    }
    // Stable: billing periods of one start date keep the order of their
    // exact starts.
    run(concat(frames, UnionArgs::default())?.sort(
        order,
        SortMultipleOptions::default()
            .with_nulls_last(true)
            .with_maintain_order(true),
    ))
}

fn rollup(dataset: &Dataset, period: Period) -> Result<LazyFrame, AnalyticsError> {
    let framed = with_period(finest_series(energy(dataset))?, dataset, period)?;
    let mut keys = vec![
        col("usage_point"),
        col("period_start"),
        col("flow"),
        col("tou"),
        // Named by its code: a key, not an aggregation, keeps it streaming.
        col("tou_name"),
    ];
    // One billing period is (usage point, exact start): two periods may
    // start on the same local date.
    let mut per_period = vec![col("usage_point"), col("period_start"), col("flow")];
    if period == Period::Billing {
        keys.extend([col("period_end"), col("bp_start_us")]);
        per_period.push(col("bp_start_us"));
    }
    let table = framed
        .group_by(keys)
        .agg([
            col("energy_uwh").sum().alias("uwh"),
            col("cost_raw").sum().alias("cost_sum"),
            col("cost_raw").count().alias("costs"),
            len().alias("readings"),
        ])
        // Plain aggregations above (no casts or conditions inside) keep the
        // scan streaming; a group without any cost gets a null cost, not zero.
        .with_columns([
            col("tou_name").cast(DataType::String),
            col("readings").cast(DataType::UInt64),
            when(col("costs").gt(lit(0)))
                .then(col("cost_sum"))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias("cost_raw"),
            period_end(period).alias("period_end"),
        ])
        .with_columns([
            col("uwh")
                .sum()
                .over(per_period.clone())?
                .alias("period_uwh"),
            col("cost_raw")
                .sum()
                .over(per_period.clone())?
                .alias("period_cost_raw"),
            col("cost_raw")
                .is_not_null()
                .any(true)
                .over(per_period)?
                .alias("period_has_cost"),
        ]);
    let table = with_billed(table, dataset, period)?;
    let kwh = |e: Expr| e.cast(DataType::Float64) / lit(UWH_PER_KWH);
    let delivered = col("flow").eq(lit(DELIVERED));
    let money = |e: Expr| e.cast(DataType::Float64) / lit(COST_UNITS_PER_CURRENCY);
    // Billing rows keep the exact period start for ordering (dropped there).
    let exact_start = (period == Period::Billing).then(|| col("bp_start_us"));
    Ok(table
        .with_columns([
            kwh(col("period_uwh")).alias("period_energy_kwh"),
            when(col("period_has_cost"))
                .then(money(col("period_cost_raw")))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("period_cost"),
        ])
        .select(
            [
                col("usage_point").cast(DataType::String),
                lit(period_name(period)).alias("period"),
                col("period_start"),
                col("period_end"),
                flow_name(col("flow")).alias("flow"),
                col("tou"),
                col("tou_name").fill_null(lit("unassigned")),
                kwh(col("uwh")).alias("energy_kwh"),
                money(col("cost_raw")).alias("cost"),
                col("readings"),
                when(col("period_uwh").neq(lit(0i64)))
                    .then(
                        col("uwh").cast(DataType::Float64)
                            / col("period_uwh").cast(DataType::Float64),
                    )
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("share"),
                col("period_energy_kwh"),
                col("period_cost"),
                col("billed_kwh"),
                col("billed_cost"),
                when(delivered.clone())
                    .then(col("period_energy_kwh") - col("billed_kwh"))
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("energy_difference_kwh"),
                when(delivered)
                    .then(col("period_cost") - col("billed_cost"))
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("cost_difference"),
            ]
            .into_iter()
            .chain(exact_start)
            .collect::<Vec<_>>(),
        ))
}
