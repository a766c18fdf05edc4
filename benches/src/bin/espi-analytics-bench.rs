//! The analytics benchmark: every kernel over a folder written by
//! `espi convert`, each in its own process, with its time (median of runs)
//! and peak anonymous memory.
//!
//! Usage: `espi-analytics-bench DIR [RUNS]` (default 3 runs).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use espi_analytics::polars::prelude::*;
use espi_analytics::{
    completeness, load_profile, net_metering, tou_rollup, Dataset, LoadProfileOptions,
    NetMeteringOptions, Period, TouOptions,
};
use espi_bench::PeakMemory;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KERNELS: [&str; 6] = [
    "net-metering --by day",
    "net-metering --by billing",
    "load-profile",
    "tou --by month",
    "tou --by billing",
    "completeness",
];

/// Run one kernel; returns the rows of its result.
fn kernel(name: &str, dataset: &Dataset) -> usize {
    let net = |by| {
        net_metering(
            dataset,
            &NetMeteringOptions {
                by,
                ..NetMeteringOptions::default()
            },
        )
        .expect("net metering")
        .height()
    };
    let tou = |by| {
        tou_rollup(dataset, &TouOptions { periods: vec![by] })
            .expect("tou")
            .height()
    };
    match name {
        "net-metering --by day" => net(Period::Day),
        "net-metering --by billing" => net(Period::Billing),
        "load-profile" => {
            let p = load_profile(dataset, &LoadProfileOptions::default()).expect("load profile");
            p.profile.height() + p.summary.height()
        }
        "tou --by month" => tou(Period::Month),
        "tou --by billing" => tou(Period::Billing),
        "completeness" => completeness(dataset).expect("completeness").height(),
        other => panic!("unknown kernel {other}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: espi-analytics-bench DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3).max(1);
    if let Ok(name) = std::env::var("ESPI_ANALYTICS_KERNEL") {
        // Child: run one kernel `runs` times, print "seconds peak_bytes rows".
        let dataset = Dataset::open(Path::new(&dir)).expect("dataset");
        let mut times = Vec::new();
        let probe = PeakMemory::start();
        let mut rows = 0;
        for _ in 0..runs {
            let t = Instant::now();
            rows = kernel(&name, &dataset);
            times.push(t.elapsed().as_secs_f64());
        }
        let peak = probe.stop();
        times.sort_by(f64::total_cmp);
        println!("{} {} {}", times[times.len() / 2], peak, rows);
        return;
    }
    let dataset = Dataset::open(Path::new(&dir)).expect("dataset");
    let readings = dataset
        .readings
        .clone()
        .select([len()])
        .collect()
        .expect("count")
        .column("len")
        .expect("len")
        .u32()
        .expect("u32")
        .get(0)
        .unwrap_or(0);
    println!("{dir}: {readings} readings, {runs} runs per kernel (median), each kernel in its own process");
    println!(
        "{:<28} {:>9} {:>14} {:>12} {:>10}",
        "kernel", "seconds", "M readings/s", "peak MiB", "rows"
    );
    for name in KERNELS {
        let out = Command::new(std::env::current_exe().expect("this program"))
            .arg(&dir)
            .arg(runs.to_string())
            .env("ESPI_ANALYTICS_KERNEL", name)
            .output()
            .expect("child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        if !out.status.success() || fields.len() != 3 {
            println!(
                "{name:<28} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let seconds: f64 = fields[0].parse().unwrap_or(f64::NAN);
        let peak: f64 = fields[1].parse::<f64>().unwrap_or(f64::NAN) / (1 << 20) as f64;
        println!(
            "{:<28} {:>9.2} {:>14.1} {:>12.0} {:>10}",
            name,
            seconds,
            readings as f64 / seconds / 1e6,
            peak,
            fields[2]
        );
    }
}
