//! Net-metering reconciliation: delivered, received and net energy per usage
//! point and period, against the utility's reported net and the billed
//! consumption.

use polars::prelude::*;

use crate::prepared::{by_usage_point_chunks, run};
use crate::prepared::{energy, with_billed, with_period, DELIVERED, NET, RECEIVED, UWH_PER_KWH};
use crate::{AnalyticsError, Dataset, Period};

/// What meter data cannot tell, printed with every net-metering report.
pub const SELF_CONSUMPTION_NOTE: &str = "Solar self-consumption (generation used on site) never \
crosses the meter: delivered and received are what the meter saw, not what the panels produced.";

/// Options of [`net_metering`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetMeteringOptions {
    /// The periods summed over.
    pub by: Period,
    /// A difference is flagged when it exceeds the larger of this many kWh...
    pub tolerance_kwh: f64,
    /// ...and this share of the reference value (0.01 = 1 %).
    pub tolerance_share: f64,
}

impl Default for NetMeteringOptions {
    fn default() -> Self {
        NetMeteringOptions {
            by: Period::Month,
            tolerance_kwh: 0.01,
            tolerance_share: 0.01,
        }
    }
}

/// Net metering per usage point and period.
///
/// Columns: `usage_point`, `period_start` (local date; billing periods also
/// have `period_end`, exclusive), `delivered_kwh` (flowDirection 1),
/// `received_kwh` (flowDirection 19, as an absolute value), `net_kwh`
/// (delivered - received; received counts as 0 for a usage point without a
/// received series, and net is null without a delivered series),
/// `reported_net_kwh` (flowDirection 4, where the utility sends it),
/// `billed_kwh` (the UsageSummary's consumption of the billing period),
/// `difference_kwh` (net minus reported net, else net minus billed),
/// `flag` (null, or the reasons the row needs a look), `readings`.
///
/// When a usage point has several series of one flow direction (a 15-minute
/// and a daily one, say), the finest interval length is used, and series of
/// the same finest length are added (several meters).
pub fn net_metering(
    dataset: &Dataset,
    options: &NetMeteringOptions,
) -> Result<DataFrame, AnalyticsError> {
    let order = ["usage_point", "period_start"];
    if options.by == Period::Billing {
        // The billing-period join sorts its rows: chunks of usage points.
        // Periods starting on the same local date (overlapping or corrected
        // bills) are ordered by their exact start.
        let order = ["usage_point", "period_start", "bp_start_us"];
        let table = by_usage_point_chunks(dataset, &order, |part| query(part, options))?;
        return Ok(table.drop("bp_start_us")?);
    }
    run(query(dataset, options)?.sort(order, SortMultipleOptions::default()))
}

fn query(dataset: &Dataset, options: &NetMeteringOptions) -> Result<LazyFrame, AnalyticsError> {
    let flows = energy(dataset).filter(
        col("flow")
            .eq(lit(DELIVERED))
            .or(col("flow").eq(lit(RECEIVED)))
            .or(col("flow").eq(lit(NET))),
    );
    let framed = with_period(flows, dataset, options.by)?;
    let mut keys = vec![col("usage_point"), col("period_start")];
    if options.by == Period::Billing {
        keys.extend([col("period_end"), col("bp_start_us")]);
    }
    let series_keys: Vec<Expr> = keys
        .iter()
        .cloned()
        .chain([col("flow"), col("meter_reading")])
        .collect();
    let flow_keys: Vec<Expr> = keys.iter().cloned().chain([col("flow")]).collect();
    let per_flow = |flow: i32, name: &str| {
        let of_flow = col("flow").eq(lit(flow));
        when(of_flow.clone().any(true))
            .then(col("uwh").filter(of_flow).sum())
            .otherwise(lit(NULL).cast(DataType::Int64))
            .alias(name)
    };
    let table = framed
        .group_by(series_keys)
        .agg([
            col("energy_uwh").sum().alias("uwh"),
            col("duration_s").min().alias("interval_s"),
            len().alias("readings"),
        ])
        .filter(col("interval_s").eq(col("interval_s").min().over(flow_keys)?))
        .group_by(keys.clone())
        .agg([
            per_flow(DELIVERED, "delivered_uwh"),
            per_flow(RECEIVED, "received_uwh"),
            per_flow(NET, "reported_uwh"),
            col("readings")
                .sum()
                .cast(DataType::UInt64)
                .alias("readings"),
        ]);
    let table = with_billed(table, dataset, options.by)?;
    let kwh = |uwh: &str| col(uwh).cast(DataType::Float64) / lit(UWH_PER_KWH);
    let net_uwh = when(col("delivered_uwh").is_not_null())
        .then(col("delivered_uwh") - col("received_uwh").fill_null(lit(0i64)))
        .otherwise(lit(NULL).cast(DataType::Int64));
    let table = table
        .with_columns([
            kwh("delivered_uwh").alias("delivered_kwh"),
            kwh("received_uwh").alias("received_kwh"),
            (net_uwh.cast(DataType::Float64) / lit(UWH_PER_KWH)).alias("net_kwh"),
            kwh("reported_uwh").alias("reported_net_kwh"),
        ])
        .with_columns([
            (col("net_kwh") - col("reported_net_kwh")).alias("vs_reported"),
            (col("net_kwh") - col("billed_kwh")).alias("vs_billed"),
        ])
        .with_column(
            col("vs_reported")
                .fill_null(col("vs_billed"))
                .alias("difference_kwh"),
        );
    let beyond = |difference: &str, reference: &str| {
        let tolerance = (col(reference).abs() * lit(options.tolerance_share))
            .clip_min(lit(options.tolerance_kwh));
        col(difference).abs().gt(tolerance)
    };
    let reason = |condition: Expr, text: &str, amount: Option<&str>| {
        let message = match amount {
            Some(a) => concat_str(
                [
                    lit(text),
                    col(a)
                        .round(3, RoundMode::HalfToEven)
                        .cast(DataType::String),
                    lit(" kWh"),
                ],
                "",
                false,
            ),
            None => lit(text),
        };
        when(condition)
            .then(message)
            .otherwise(lit(NULL).cast(DataType::String))
    };
    let flag = concat_str(
        [
            reason(col("delivered_uwh").is_null(), "no delivered series", None),
            reason(
                beyond("vs_reported", "reported_net_kwh"),
                "net differs from reported net by ",
                Some("vs_reported"),
            ),
            reason(
                beyond("vs_billed", "billed_kwh"),
                "net differs from billed by ",
                Some("vs_billed"),
            ),
        ],
        "; ",
        true,
    );
    let mut columns = vec![col("usage_point"), col("period_start")];
    if options.by == Period::Billing {
        columns.extend([col("period_end"), col("bp_start_us")]);
    }
    columns.extend([
        col("delivered_kwh"),
        col("received_kwh"),
        col("net_kwh"),
        col("reported_net_kwh"),
        col("billed_kwh"),
        col("difference_kwh"),
        when(flag.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(flag)
            .alias("flag"),
        col("readings"),
    ]);
    Ok(table.select(columns))
}
