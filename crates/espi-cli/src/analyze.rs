//! `espi analyze`: the analytic kernels over converted tables or XML inputs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use espi_analytics::chart::{Line, LineChart};
use espi_analytics::polars::prelude::*;
use espi_analytics::{
    completeness, load_profile, net_metering, tou_rollup, write_table, Dataset, LoadProfileOptions,
    NetMeteringOptions, OutputFormat, Period, TouOptions, ALL_USAGE_POINTS, SELF_CONSUMPTION_NOTE,
};

use crate::ConvertArgs;

#[derive(Args, Debug)]
pub(crate) struct AnalyzeArgs {
    #[command(subcommand)]
    kind: AnalyzeKind,
}

#[derive(Subcommand, Debug)]
enum AnalyzeKind {
    /// Delivered, received and net energy per usage point and period,
    /// against the utility's reported net (flowDirection 4) and the billed
    /// consumption (UsageSummary); differences beyond the tolerance are
    /// flagged with the reason.
    ///
    /// Columns: usage_point, period_start, delivered_kwh, received_kwh,
    /// net_kwh, reported_net_kwh, billed_kwh, difference_kwh, flag, readings.
    NetMetering(NetMeteringArgs),
    /// Mean, median and 95th percentile of demand by local hour x
    /// weekday/weekend x month, per usage point and for the population
    /// (`all`), with a summary: peak kW and its time, load factor, baseload.
    LoadProfile(LoadProfileArgs),
    /// Energy and cost per TOU period, per month and/or billing period,
    /// against the billed totals.
    Tou(TouArgs),
    /// Expected versus present intervals per series and local day: missing,
    /// duplicates, overlaps, gaps, estimated and edited readings, last
    /// reading time.
    Completeness(CommonArgs),
}

/// What every analysis reads and writes.
#[derive(Args, Debug)]
struct CommonArgs {
    /// ESPI XML files (converted on the fly), or one folder written by
    /// `espi convert`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write the table to FILE (.csv or .parquet); without it a readable
    /// table is printed.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// TOU code names for XML inputs (a CSV of `code,name` lines).
    #[arg(long, value_name = "FILE")]
    tou_map: Option<PathBuf>,
    /// For XML inputs: skip entries with bad values instead of stopping.
    #[arg(long)]
    skip_bad_entries: bool,
    /// No progress bar while converting XML inputs.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct NetMeteringArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Period: day, month or billing (UsageSummary billing periods).
    #[arg(long, default_value = "month", value_parser = ["day", "month", "billing"])]
    by: String,
    /// Flag differences larger than this many kWh...
    #[arg(long, default_value_t = 0.01)]
    tolerance_kwh: f64,
    /// ...and larger than this share of the reference value.
    #[arg(long, default_value_t = 0.01)]
    tolerance_share: f64,
    /// Draw delivered, received and net energy per period as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// The usage point the chart shows (default: the sum of all).
    #[arg(long, value_name = "ID")]
    usage_point: Option<String>,
}

#[derive(Args, Debug)]
struct LoadProfileArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Only this usage point (repeatable).
    #[arg(long, value_name = "ID")]
    usage_point: Vec<String>,
    /// Only the population's profile (`all`), not each usage point's.
    #[arg(long)]
    population_only: bool,
    /// Write the summary (peak, load factor, baseload) to FILE (.csv or
    /// .parquet); by default it goes next to -o as NAME_summary.EXT.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Draw the 24-hour shapes by month as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct TouArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Periods: month, billing, both or day.
    #[arg(long, default_value = "both", value_parser = ["day", "month", "billing", "both"])]
    by: String,
}

pub(crate) fn run(args: &AnalyzeArgs) -> Result<ExitCode, String> {
    match &args.kind {
        AnalyzeKind::NetMetering(a) => with_dataset(&a.common, |dataset| {
            let options = NetMeteringOptions {
                by: Period::parse(&a.by).unwrap_or_default(),
                tolerance_kwh: a.tolerance_kwh,
                tolerance_share: a.tolerance_share,
            };
            let mut table = net_metering(dataset, &options).map_err(|e| e.to_string())?;
            eprintln!("note: {SELF_CONSUMPTION_NOTE}");
            if let Some(svg) = &a.svg {
                let chart = net_metering_chart(&table, a.usage_point.as_deref(), &a.by)?;
                write_svg(svg, &chart)?;
            }
            emit(&mut table, a.common.output.as_deref())
        }),
        AnalyzeKind::LoadProfile(a) => with_dataset(&a.common, |dataset| {
            let options = LoadProfileOptions {
                usage_points: a.usage_point.clone(),
                population_only: a.population_only,
            };
            let mut result = load_profile(dataset, &options).map_err(|e| e.to_string())?;
            if let Some(svg) = &a.svg {
                let chart = load_profile_chart(&result.profile, &a.usage_point)?;
                write_svg(svg, &chart)?;
            }
            let summary_path = a.summary.clone().or_else(|| {
                a.common.output.as_deref().map(|o| {
                    let stem = o.file_stem().unwrap_or_default().to_string_lossy();
                    let ext = o.extension().unwrap_or_default().to_string_lossy();
                    o.with_file_name(format!("{stem}_summary.{ext}"))
                })
            });
            emit(&mut result.profile, a.common.output.as_deref())?;
            emit(&mut result.summary, summary_path.as_deref())
        }),
        AnalyzeKind::Tou(a) => with_dataset(&a.common, |dataset| {
            let periods = match a.by.as_str() {
                "both" => {
                    let mut p = vec![Period::Month];
                    if dataset.usage_summaries.is_some() {
                        p.push(Period::Billing);
                    }
                    p
                }
                other => vec![Period::parse(other).unwrap_or_default()],
            };
            let mut table =
                tou_rollup(dataset, &TouOptions { periods }).map_err(|e| e.to_string())?;
            emit(&mut table, a.common.output.as_deref())
        }),
        AnalyzeKind::Completeness(common) => with_dataset(common, |dataset| {
            let mut table = completeness(dataset).map_err(|e| e.to_string())?;
            emit(&mut table, common.output.as_deref())
        }),
    }
}

/// Open the inputs as a dataset (converting XML into a temporary folder)
/// and run `analysis` on it.
fn with_dataset(
    common: &CommonArgs,
    analysis: impl FnOnce(&Dataset) -> Result<(), String>,
) -> Result<ExitCode, String> {
    if let Some(out) = &common.output {
        if OutputFormat::of(out).is_none() {
            return Err(format!(
                "{}: unknown output format (use .csv or .parquet)",
                out.display()
            ));
        }
    }
    let folders = common.inputs.iter().filter(|p| p.is_dir()).count();
    if folders > 0 {
        if common.inputs.len() > 1 {
            return Err("give one folder written by `espi convert`, or ESPI XML files".into());
        }
        let dataset = Dataset::open(&common.inputs[0]).map_err(|e| e.to_string())?;
        analysis(&dataset)?;
        return Ok(ExitCode::SUCCESS);
    }
    let scratch = tempfile::Builder::new()
        .prefix("espi-analyze-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?;
    let tables = scratch.path().join("tables");
    let convert = ConvertArgs::scratch(
        common.inputs.clone(),
        tables.clone(),
        common.skip_bad_entries,
        common.tou_map.clone(),
        false,
        common.quiet,
    );
    let code = crate::convert::run(&convert)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let dataset = Dataset::open(&tables).map_err(|e| e.to_string())?;
    analysis(&dataset)?;
    Ok(ExitCode::SUCCESS)
}

/// Terminal tables that show every column, IDs in full and enough rows to
/// read (each setting can be overridden by its environment variable).
pub(crate) fn readable_tables() {
    for (name, value) in [
        ("POLARS_FMT_MAX_COLS", "40"),
        ("POLARS_FMT_MAX_ROWS", "40"),
        ("POLARS_FMT_STR_LEN", "80"),
        ("POLARS_TABLE_WIDTH", "400"),
        ("POLARS_FMT_TABLE_HIDE_COLUMN_DATA_TYPES", "1"),
        ("POLARS_FMT_TABLE_ROUNDED_CORNERS", "1"),
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

/// Write `table` to `output`, or print it.
fn emit(table: &mut DataFrame, output: Option<&Path>) -> Result<(), String> {
    match output {
        Some(path) => {
            write_table(table, path).map_err(|e| e.to_string())?;
            eprintln!("{}: {} rows", path.display(), table.height());
        }
        None => println!("{table}"),
    }
    Ok(())
}

fn write_svg(path: &Path, chart: &LineChart) -> Result<(), String> {
    std::fs::write(path, chart.to_svg()).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("{}: chart written", path.display());
    Ok(())
}

/// Delivered, received and net energy per period for one usage point or the
/// sum of all.
fn net_metering_chart(
    table: &DataFrame,
    usage_point: Option<&str>,
    by: &str,
) -> Result<LineChart, String> {
    let err = |e: PolarsError| e.to_string();
    let mut frame = table.clone().lazy();
    if let Some(id) = usage_point {
        frame = frame.filter(col("usage_point").eq(lit(id)));
    }
    let sums = frame
        .group_by([col("period_start")])
        .agg([
            col("delivered_kwh").sum(),
            col("received_kwh").sum(),
            col("net_kwh").sum(),
        ])
        .sort(["period_start"], SortMultipleOptions::default())
        .with_column(col("period_start").cast(DataType::String))
        .collect()
        .map_err(err)?;
    let dates: Vec<String> = sums
        .column("period_start")
        .and_then(|c| c.str().cloned())
        .map_err(err)?
        .iter()
        .map(|d| d.unwrap_or_default().to_owned())
        .collect();
    let series = |name: &str| -> Result<Vec<(f64, f64)>, String> {
        Ok(sums
            .column(name)
            .and_then(|c| c.f64().cloned())
            .map_err(err)?
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, v.unwrap_or(f64::NAN)))
            .collect())
    };
    let step = dates.len().div_ceil(10).max(1);
    let ticks = dates
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
        .map(|(i, d)| (i as f64, d.clone()))
        .collect();
    let who = usage_point.unwrap_or("all usage points");
    Ok(LineChart {
        title: format!("Energy per {by}: {who}"),
        x_label: format!("{by} (local)"),
        y_label: "kWh".into(),
        lines: vec![
            Line::new("delivered", series("delivered_kwh")?),
            Line::new("received", series("received_kwh")?),
            Line::new("net", series("net_kwh")?),
        ],
        x_ticks: Some(ticks),
    })
}

/// Mean demand by local hour, one line per month (weekdays and weekends
/// together), for the one usage point asked for, else the population, else
/// the first usage point.
fn load_profile_chart(profile: &DataFrame, asked: &[String]) -> Result<LineChart, String> {
    let err = |e: PolarsError| e.to_string();
    if profile.height() == 0 {
        return Ok(LineChart {
            title: "Load profile".into(),
            x_label: "local hour".into(),
            y_label: "kW".into(),
            lines: Vec::new(),
            x_ticks: None,
        });
    }
    let ids = profile
        .column("usage_point")
        .and_then(|c| c.str().cloned())
        .map_err(err)?;
    let has = |id: &str| ids.iter().any(|v| v == Some(id));
    let who = match asked {
        [one] if has(one) => one.clone(),
        _ if has(ALL_USAGE_POINTS) => ALL_USAGE_POINTS.to_owned(),
        _ => ids.get(0).unwrap_or_default().to_owned(),
    };
    let shapes = profile
        .clone()
        .lazy()
        .filter(col("usage_point").eq(lit(who.as_str())))
        .group_by([col("month"), col("hour")])
        .agg([
            ((col("mean_kw") * col("samples").cast(DataType::Float64)).sum()
                / col("samples").cast(DataType::Float64).sum())
            .alias("kw"),
        ])
        .sort(["month", "hour"], SortMultipleOptions::default())
        .collect()
        .map_err(err)?;
    let months = shapes
        .column("month")
        .and_then(|c| c.i32().cloned())
        .map_err(err)?;
    let hours = shapes
        .column("hour")
        .and_then(|c| c.i32().cloned())
        .map_err(err)?;
    let kw = shapes
        .column("kw")
        .and_then(|c| c.f64().cloned())
        .map_err(err)?;
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut lines: Vec<Line> = Vec::new();
    for ((m, h), v) in months.iter().zip(hours.iter()).zip(kw.iter()) {
        let (Some(m), Some(h)) = (m, h) else { continue };
        let name = NAMES
            .get((m - 1).clamp(0, 11) as usize)
            .copied()
            .unwrap_or("?");
        if lines.last().is_none_or(|l| l.name != name) {
            lines.push(Line::new(name, Vec::new()));
        }
        if let Some(line) = lines.last_mut() {
            line.points.push((h as f64, v.unwrap_or(f64::NAN)));
        }
    }
    Ok(LineChart {
        title: format!("Mean demand by local hour, per month: {who}"),
        x_label: "local hour".into(),
        y_label: "kW".into(),
        lines,
        x_ticks: Some(
            (0..24)
                .step_by(3)
                .map(|h| (h as f64, format!("{h:02}:00")))
                .collect(),
        ),
    })
}
