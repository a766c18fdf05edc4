//! criterion benchmarks, each reported in bytes of XML per second.
//!
//! * `sample/ameren_15min`: a real utility export bundled in `testdata/`.
//! * `generated/bulk`: a daily Bulk feed (1 day for each of 300 usage
//!   points, metadata-heavy), `generated/history`: 30 days for 40 usage
//!   points (reading-heavy); both from `espi-gen`, seed 7.
//!   `generated/bulk_blocks_first`: 1,000 usage points of the Bulk feed
//!   with every IntervalBlock before any metadata, enough readings waiting
//!   for the converter to read the rest of the document ahead.
//! * `xml_to_arrow_parts/*`: the generated feeds converted in parallel parts
//!   on every core (two parts per core), as `espi convert` does from four
//!   threads.
//! * `scanner/*`: the parser alone with the IntervalReading scanner on and
//!   off (the general quick-xml path), on the history feed.
//! * `parquet_writer/readings`: the Parquet writer alone, on the history
//!   feed's readings batches (throughput counted in XML bytes they came from).

use std::hint::black_box;

use arrow_array::RecordBatch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use espi_arrow::{ConvertOptions, Converter, Table};
use espi_bench::{bare_quick_xml_events, espi_to_arrow, espi_to_arrow_parallel};
use espi_core::{parse_slice, NullSink, ParseOptions};
use espi_gen::{generate, EntryOrder, FeedKind, GenOptions};
use espi_parquet::{DatasetWriter, WriterOptions};

fn generated(kind: FeedKind, usage_points: u32, days: u32, order: EntryOrder) -> Vec<u8> {
    let options = GenOptions {
        seed: 7,
        usage_points,
        days,
        kind,
        order,
        ..GenOptions::default()
    };
    let mut out = Vec::new();
    generate(&options, &mut out).expect("generate");
    out
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/ameren_15min.xml"
    ))
    .expect("bundled sample");
    vec![
        ("sample/ameren_15min", sample),
        (
            "generated/bulk",
            generated(FeedKind::Bulk, 300, 1, EntryOrder::ByUsagePoint),
        ),
        (
            "generated/history",
            generated(FeedKind::History, 40, 30, EntryOrder::ByUsagePoint),
        ),
        (
            "generated/bulk_blocks_first",
            generated(FeedKind::Bulk, 1000, 1, EntryOrder::BlocksFirst),
        ),
    ]
}

fn xml_to_arrow(c: &mut Criterion) {
    let mut group = c.benchmark_group("xml_to_arrow");
    group.sample_size(20);
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| b.iter(|| black_box(espi_to_arrow(&input))));
    }
    group.finish();
}

fn xml_to_arrow_parts(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("xml_to_arrow_parts");
    group.sample_size(20);
    for (name, input) in inputs()
        .into_iter()
        .filter(|(name, _)| name.starts_with("generated/"))
    {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(espi_to_arrow_parallel(&input, cores)))
        });
    }
    group.finish();
}

fn baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("bare_quick_xml");
    group.sample_size(20);
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(bare_quick_xml_events(&input)))
        });
    }
    group.finish();
}

fn scanner(c: &mut Criterion) {
    let input = generated(FeedKind::History, 40, 30, EntryOrder::ByUsagePoint);
    let mut group = c.benchmark_group("scanner");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(input.len() as u64));
    for (name, fast) in [("on", true), ("off_general_path", false)] {
        let options = ParseOptions {
            fast_readings: fast,
            ..ParseOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| black_box(parse_slice(&input, &options, &mut NullSink).expect("valid")))
        });
    }
    group.finish();
}

fn parquet_writer(c: &mut Criterion) {
    let input = generated(FeedKind::History, 40, 30, EntryOrder::ByUsagePoint);
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut converter = Converter::new("bench", ConvertOptions::default(), |t, b| {
        if t == Table::Readings {
            batches.push(b)
        }
    });
    parse_slice(&input, &ParseOptions::default(), &mut converter).expect("valid");
    converter.finish();
    let mut group = c.benchmark_group("parquet_writer");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("readings", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut writer =
                DatasetWriter::new(dir.path().to_owned(), "part", WriterOptions::readings());
            for batch in &batches {
                writer.write(batch).expect("write");
            }
            black_box(writer.finish().expect("finish"))
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    baseline,
    xml_to_arrow,
    xml_to_arrow_parts,
    scanner,
    parquet_writer
);
criterion_main!(benches);
