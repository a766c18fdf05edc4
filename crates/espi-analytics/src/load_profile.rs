//! Load profiles: demand by local hour x weekday/weekend x month, peak
//! demand, load factor and baseload, per usage point and for the population.

use polars::prelude::*;

use crate::prepared::{energy, DELIVERED, UWH_PER_KWH};
use crate::prepared::{run, usage_point_chunks};
use crate::{AnalyticsError, Dataset};

/// The `usage_point` of the population's rows.
pub const ALL_USAGE_POINTS: &str = "all";

/// Local hours counted as night-time for the baseload (00:00 to 05:59).
const NIGHT_HOURS: i8 = 6;
/// The percentile of night-time demand reported as baseload.
const BASELOAD_QUANTILE: f64 = 0.10;

/// Options of [`load_profile`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadProfileOptions {
    /// Only these usage points (all when empty).
    pub usage_points: Vec<String>,
    /// Leave out the per-usage-point rows (the population only).
    pub population_only: bool,
}

/// A load profile and its summary.
pub struct LoadProfile {
    /// Columns `usage_point` (or `all`), `month` (1-12, local), `day_type`
    /// (`weekday`/`weekend`), `hour` (local 0-23), `mean_kw`, `p50_kw`,
    /// `p95_kw`, `samples`.
    pub profile: DataFrame,
    /// Columns `usage_point` (or `all`), `peak_kw`, `peak_time` (local start
    /// of the peak interval), `mean_kw`, `load_factor` (mean / peak),
    /// `baseload_kw` (10th percentile of demand between 00:00 and 05:59
    /// local), `energy_kwh`, `first_date`, `last_date`, `samples`.
    pub summary: DataFrame,
}

/// Load profiles of delivered energy (flowDirection 1) at intervals of up to
/// an hour.
///
/// A usage point's demand is each reading's energy over its duration (kW);
/// percentiles are linear-interpolated over its readings in the bucket. The
/// population (`all`, when there are two or more usage points) is the total
/// demand of every usage point hour by hour (the energy of readings starting
/// in the hour over one hour), so its peak is the coincident peak; its
/// percentiles run over days.
pub fn load_profile(
    dataset: &Dataset,
    options: &LoadProfileOptions,
) -> Result<LoadProfile, AnalyticsError> {
    let mut profiles = Vec::new();
    let mut summaries = Vec::new();
    let mut usage_points = 0;
    for part in usage_point_chunks(dataset)? {
        // Percentiles need every reading of a group: one chunk of usage
        // points in memory at a time.
        let demand = run(demand(&part, options))?;
        usage_points += demand.column("usage_point")?.n_unique()?;
        if !options.population_only {
            let demand = demand.lazy();
            profiles.push(run(profile_of(demand.clone(), col("usage_point")))?.lazy());
            summaries.push(
                run(summary_of(
                    demand,
                    col("usage_point"),
                    col("energy_uwh"),
                    col("duration_s"),
                ))?
                .lazy(),
            );
        }
    }
    if usage_points >= 2 || options.population_only {
        // Total demand hour by hour (UTC hours: the repeated local hour of a
        // DST change stays two hours), aggregated as the readings stream by.
        let hourly = run(demand(dataset, options)
            .group_by([col("start_us")
                .floor_div(lit(3_600_000_000i64))
                .alias("utc_hour")])
            .agg([
                col("energy_uwh").sum(),
                col("start_us").min(),
                col("local_us").min(),
                col("local_date").min(),
                col("hour").min(),
                col("month").min(),
                col("day_type").min(),
            ])
            .with_columns([
                (col("energy_uwh").cast(DataType::Float64) / lit(UWH_PER_KWH)).alias("kw"),
                lit(3600i64).alias("duration_s"),
            ]))?
        .lazy();
        profiles.push(profile_of(
            hourly.clone(),
            lit(ALL_USAGE_POINTS).alias("usage_point"),
        ));
        summaries.push(summary_of(
            hourly,
            lit(ALL_USAGE_POINTS).alias("usage_point"),
            col("energy_uwh"),
            col("duration_s"),
        ));
    }
    let stack = |frames: Vec<LazyFrame>, order: &[&str]| -> Result<DataFrame, AnalyticsError> {
        if frames.is_empty() {
            return Ok(DataFrame::empty());
        }
        run(concat(frames, UnionArgs::default())?.sort(
            order
                .iter()
                .map(|c| PlSmallStr::from(*c))
                .collect::<Vec<_>>(),
            SortMultipleOptions::default(),
        ))
    };
    Ok(LoadProfile {
        profile: stack(profiles, &["usage_point", "month", "day_type", "hour"])?,
        summary: stack(summaries, &["usage_point"])?,
    })
}

/// Delivered demand (kW) of intervals up to an hour, with month and day type.
fn demand(dataset: &Dataset, options: &LoadProfileOptions) -> LazyFrame {
    let mut demand = energy(dataset).filter(
        col("flow")
            .eq(lit(DELIVERED))
            .and(col("duration_s").lt_eq(lit(3600i64))),
    );
    if let Some(first) = options.usage_points.first() {
        let wanted = options.usage_points[1..]
            .iter()
            .fold(col("usage_point").eq(lit(first.as_str())), |acc, id| {
                acc.or(col("usage_point").eq(lit(id.as_str())))
            });
        demand = demand.filter(wanted);
    }
    demand
        .select([
            col("usage_point"),
            col("start_us"),
            col("local_us"),
            col("local_date"),
            col("hour"),
            col("duration_s"),
            col("energy_uwh"),
        ])
        .with_columns([
            (col("energy_uwh").cast(DataType::Float64)
                / lit(UWH_PER_KWH)
                / (col("duration_s").cast(DataType::Float64) / lit(3600.0)))
            .alias("kw"),
            col("local_date")
                .dt()
                .month()
                .cast(DataType::Int32)
                .alias("month"),
            day_type(col("local_date")).alias("day_type"),
        ])
}

/// `weekend` for Saturday and Sunday, else `weekday`.
fn day_type(date: Expr) -> Expr {
    when(date.dt().weekday().gt_eq(lit(6)))
        .then(lit("weekend"))
        .otherwise(lit("weekday"))
}

fn profile_of(demand: LazyFrame, usage_point: Expr) -> LazyFrame {
    demand
        .group_by([
            usage_point.alias("usage_point"),
            col("month"),
            col("day_type"),
            col("hour").cast(DataType::Int32),
        ])
        .agg([
            col("kw").mean().alias("mean_kw"),
            col("kw")
                .quantile(lit(0.5), QuantileMethod::Linear)
                .alias("p50_kw"),
            col("kw")
                .quantile(lit(0.95), QuantileMethod::Linear)
                .alias("p95_kw"),
            len().cast(DataType::UInt64).alias("samples"),
        ])
        .with_column(col("usage_point").cast(DataType::String))
        .sort(
            ["usage_point", "month", "day_type", "hour"],
            SortMultipleOptions::default(),
        )
}

fn summary_of(demand: LazyFrame, usage_point: Expr, uwh: Expr, duration_s: Expr) -> LazyFrame {
    let peak_order = SortMultipleOptions::default()
        .with_order_descending_multi([true, false])
        .with_nulls_last(true);
    let at_peak = |e: Expr| {
        e.sort_by([col("kw"), col("start_us")], peak_order.clone())
            .first()
    };
    demand
        .group_by([usage_point.alias("usage_point")])
        .agg([
            col("kw").max().alias("peak_kw"),
            at_peak(col("local_us")).alias("peak_us"),
            uwh.sum().alias("uwh"),
            duration_s.sum().alias("seconds"),
            col("kw")
                .filter(col("hour").lt(lit(NIGHT_HOURS)))
                .quantile(lit(BASELOAD_QUANTILE), QuantileMethod::Linear)
                .alias("baseload_kw"),
            col("local_date").min().alias("first_date"),
            col("local_date").max().alias("last_date"),
            len().cast(DataType::UInt64).alias("samples"),
        ])
        .with_column(
            (col("uwh").cast(DataType::Float64)
                / lit(UWH_PER_KWH)
                / (col("seconds").cast(DataType::Float64) / lit(3600.0)))
            .alias("mean_kw"),
        )
        .select([
            col("usage_point").cast(DataType::String),
            col("peak_kw"),
            col("peak_us")
                .cast(DataType::Datetime(TimeUnit::Microseconds, None))
                .alias("peak_time"),
            col("mean_kw"),
            when(col("peak_kw").gt(lit(0.0)))
                .then(col("mean_kw") / col("peak_kw"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("load_factor"),
            col("baseload_kw"),
            (col("uwh").cast(DataType::Float64) / lit(UWH_PER_KWH)).alias("energy_kwh"),
            col("first_date"),
            col("last_date"),
            col("samples"),
        ])
        .sort(["usage_point"], SortMultipleOptions::default())
}
