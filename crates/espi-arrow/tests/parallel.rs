//! Converting a feed in parallel parts, or reading its metadata ahead, gives
//! what one sequential pass holding readings for their metadata gives: the
//! same rows, counts, rejections, errors and metadata tables.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use std::collections::BTreeMap;
use std::sync::Arc;

use espi_arrow::{convert_parallel, convert_sequential, ConvertOptions, ParallelConversion, Table};
use espi_core::ParseOptions;

type Rows = Vec<String>;

/// Every readings row as text, every column, sorted (parts may order
/// blocks differently only where a sequential pass had to wait for
/// metadata).
fn rows(batches: &[RecordBatch]) -> Rows {
    let options = FormatOptions::default().with_null("-");
    let mut out = Vec::new();
    for b in batches {
        // Timestamps without their zone (formatting one needs chrono-tz).
        let columns: Vec<ArrayRef> = b
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(_, Some(_)) => Arc::new(
                    c.as_primitive::<TimestampMicrosecondType>()
                        .clone()
                        .with_timezone_opt(None::<String>),
                ) as ArrayRef,
                _ => c.clone(),
            })
            .collect();
        let formatters: Vec<ArrayFormatter> = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            let row: Vec<String> = formatters.iter().map(|f| f.value(i).to_string()).collect();
            out.push(row.join(" "));
        }
    }
    out.sort();
    out
}

/// One part's batches; emptied when the part is discarded.
#[derive(Default)]
struct PartBatches(Vec<(Table, RecordBatch)>);

impl espi_arrow::BatchSink for PartBatches {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        self.0.push((table, batch));
    }
    fn discard(&mut self) {
        self.0.clear();
    }
}

type ByTable = BTreeMap<Table, Vec<RecordBatch>>;

/// How many readings a sequential pass holds before it reads ahead: never
/// (the reference), or as soon as any wait.
const HOLD: usize = usize::MAX;
const LOOK_AHEAD: usize = 0;

fn run(input: &[u8], parts: usize, skip: bool) -> (ParallelConversion<PartBatches>, ByTable) {
    run_with(input, parts, skip, HOLD)
}

fn run_with(
    input: &[u8],
    parts: usize,
    skip: bool,
    look_ahead_rows: usize,
) -> (ParallelConversion<PartBatches>, ByTable) {
    run_holding(input, parts, skip, look_ahead_rows, usize::MAX)
}

/// `parallel_held_bytes`: the first pass of parts holds its rows until it
/// knows where their entries are numbered from (`usize::MAX`), or counts
/// entry end tags at once (0).
fn run_holding(
    input: &[u8],
    parts: usize,
    skip: bool,
    look_ahead_rows: usize,
    parallel_held_bytes: usize,
) -> (ParallelConversion<PartBatches>, ByTable) {
    let options = ParseOptions {
        skip_bad_entries: skip,
        ..Default::default()
    };
    let convert = ConvertOptions {
        batch_size: 500,
        look_ahead_rows,
        parallel_held_bytes,
        ..Default::default()
    };
    run_options(input, parts, &convert, &options)
}

fn run_options(
    input: &[u8],
    parts: usize,
    convert: &ConvertOptions,
    options: &ParseOptions,
) -> (ParallelConversion<PartBatches>, ByTable) {
    let mut done = if parts == 1 {
        convert_sequential("f", input, convert, options, PartBatches::default())
    } else {
        convert_parallel("f", input, convert, options, parts, |_| {
            PartBatches::default()
        })
    };
    let mut batches = ByTable::new();
    for sink in done.sinks.iter_mut() {
        for (table, batch) in std::mem::take(&mut sink.0) {
            batches.entry(table).or_default().push(batch);
        }
    }
    (done, batches)
}

/// Compare row lists without printing thousands of rows.
fn assert_rows_eq(a: &Rows, b: &Rows, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: row counts");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!(
            "{what}: first difference at sorted row {i}:\n{}\n{}",
            a[i], b[i]
        );
    }
}

/// (parts, look_ahead_rows, parallel_held_bytes) compared with one pass
/// that holds readings for their metadata.
type Config = (usize, usize, usize);

/// Parts, holding their rows or numbering them at once.
const PARTS: [Config; 4] = [
    (2, HOLD, usize::MAX),
    (3, HOLD, 0),
    (8, HOLD, usize::MAX),
    (8, HOLD, 0),
];

fn assert_same(input: &[u8], label: &str) {
    assert_same_in(input, label, &[(1, LOOK_AHEAD, 0)]);
    assert_same_in(input, label, &PARTS);
}

fn assert_same_in(input: &[u8], label: &str, configs: &[Config]) {
    for skip in [false, true] {
        let (seq, seq_batches) = run(input, 1, skip);
        for &(parts, look_ahead_rows, held) in configs {
            let (par, par_batches) = run_holding(input, parts, skip, look_ahead_rows, held);
            let what = format!(
                "{label} parts={parts} look_ahead_rows={look_ahead_rows} held={held} skip={skip}"
            );
            assert_same_conversion((&seq, &seq_batches), (&par, &par_batches), &what);
        }
    }
}

/// The same counts, error, rejections, readings rows (sorted) and rows of
/// every other table.
fn assert_same_conversion(
    (seq, seq_batches): (&ParallelConversion<PartBatches>, &ByTable),
    (par, par_batches): (&ParallelConversion<PartBatches>, &ByTable),
    what: &str,
) {
    assert_eq!(seq.conversion.counts, par.conversion.counts, "{what}");
    assert_eq!(seq.error, par.error, "{what}");
    assert_eq!(
        seq.conversion.rejections, par.conversion.rejections,
        "{what}"
    );
    // Warnings are advisory: a redefinition chain split across parts
    // is reported against the previous part's final definition.
    assert_eq!(
        seq.conversion.warnings.is_empty(),
        par.conversion.warnings.is_empty(),
        "{what}"
    );
    let readings = |b: &ByTable| rows(b.get(&Table::Readings).map_or(&[][..], |v| v));
    assert_rows_eq(&readings(seq_batches), &readings(par_batches), what);
    // Every other table (the resource tables too), row for row.
    let tables = |b: &ByTable| -> Vec<Table> {
        b.keys()
            .copied()
            .filter(|t| *t != Table::Readings)
            .collect()
    };
    assert_eq!(tables(seq_batches), tables(par_batches), "{what}");
    for table in tables(seq_batches) {
        let concat = |b: &ByTable| {
            let v = &b[&table];
            arrow_select::concat::concat_batches(&v[0].schema(), v).unwrap()
        };
        assert_eq!(concat(seq_batches), concat(par_batches), "{what} {table:?}");
    }
}

fn sample_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/espi-samples/public"),
    ] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn parts_give_what_one_pass_gives_on_every_sample() {
    let files = sample_files();
    assert!(files.len() >= 7);
    for f in files {
        assert_same(&std::fs::read(&f).unwrap(), &f.display().to_string());
    }
}

const ENTRY: &str = r#"<a:entry><a:id>ID</a:id><a:link rel="up" href="/UsagePoint/1/MeterReading/1/IntervalBlock"/><a:content><e:IntervalBlock><e:IntervalReading><e:timePeriod><e:duration>900</e:duration><e:start>START</e:start></e:timePeriod><e:value>VALUE</e:value></e:IntervalReading></e:IntervalBlock></a:content></a:entry>
"#;

fn feed(entries: &[String]) -> String {
    format!(
        "<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:e=\"http://naesb.org/espi\">\n<a:entry><a:link rel=\"self\" href=\"/UsagePoint/1/MeterReading/1\"/><a:link rel=\"related\" href=\"/ReadingType/1\"/><a:content><e:MeterReading/></a:content></a:entry>\n{}<a:entry><a:link rel=\"self\" href=\"/ReadingType/1\"/><a:content><e:ReadingType><e:powerOfTenMultiplier>-3</e:powerOfTenMultiplier><e:uom>72</e:uom></e:ReadingType></a:content></a:entry>\n</a:feed>\n",
        entries.concat()
    )
}

fn entries(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            ENTRY
                .replace("ID", &i.to_string())
                .replace("START", &(i * 900).to_string())
                .replace("VALUE", &(i % 97).to_string())
        })
        .collect()
}

#[test]
fn metadata_after_the_blocks_still_links_every_part() {
    let xml = feed(&entries(200));
    let (par, batches) = run(xml.as_bytes(), 4, false);
    assert_eq!(par.parts, 4);
    assert_eq!(par.conversion.counts.readings_unlinked, 0);
    assert_eq!(rows(&batches[&Table::Readings]).len(), 200);
    assert_same(xml.as_bytes(), "late metadata");
}

/// The sample with its IntervalBlock entries moved before all the others
/// (None when its entries are not plain `<entry>` elements).
fn blocks_first(xml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let first = text.find("<entry>")?;
    let last = text.rfind("</entry>")? + "</entry>".len();
    let (mut blocks, mut others) = (Vec::new(), Vec::new());
    let mut rest = &text[first..last];
    while let Some(end) = rest.find("</entry>") {
        let end = end + "</entry>".len();
        let entry = &rest[..end];
        if entry.contains("IntervalBlock") && entry.contains("IntervalReading") {
            blocks.push(entry);
        } else {
            others.push(entry);
        }
        rest = rest[end..].trim_start();
    }
    if blocks.is_empty() || others.is_empty() || !rest.is_empty() {
        return None;
    }
    blocks.extend(others);
    Some(format!(
        "{}{}{}",
        &text[..first],
        blocks.join("\n"),
        &text[last..]
    ))
}

#[test]
fn reading_ahead_gives_what_holding_gives_on_samples_with_blocks_first() {
    let mut reordered = 0;
    for f in sample_files() {
        let Some(xml) = blocks_first(&std::fs::read(&f).unwrap()) else {
            continue;
        };
        reordered += 1;
        assert_same(xml.as_bytes(), &format!("{} blocks first", f.display()));
    }
    assert!(reordered >= 5, "{reordered} samples reordered");
}

/// A generated Bulk feed of two days, with corrections.
fn corrected_bulk(usage_points: u32) -> espi_gen::GenOptions {
    espi_gen::GenOptions {
        usage_points,
        days: 2,
        corrections: 0.2,
        ..Default::default()
    }
}

/// A generated feed in the usual order and with every IntervalBlock before
/// any metadata, and what the generator says of it.
fn usual_and_blocks_first(
    options: espi_gen::GenOptions,
) -> (Vec<u8>, Vec<u8>, espi_gen::GenSummary) {
    let mut usual = Vec::new();
    espi_gen::generate(&options, &mut usual).unwrap();
    let mut blocks_first = Vec::new();
    let summary = espi_gen::generate(
        &espi_gen::GenOptions {
            order: espi_gen::EntryOrder::BlocksFirst,
            ..options
        },
        &mut blocks_first,
    )
    .unwrap();
    (usual, blocks_first, summary)
}

/// A generated Bulk feed with every IntervalBlock before any metadata gives
/// the readings the usual order gives, read ahead or held.
#[test]
fn a_blocks_first_feed_gives_the_readings_of_the_usual_order() {
    let (usual, blocks_first, summary) = usual_and_blocks_first(corrected_bulk(150));
    let (done, batches) = run(&usual, 1, false);
    let expected = rows(&batches[&Table::Readings]);
    assert_eq!(expected.len() as u64, summary.readings);
    assert_eq!(done.conversion.counts.readings_unlinked, 0);
    for look_ahead_rows in [HOLD, 1000, LOOK_AHEAD] {
        let (done, batches) = run_with(&blocks_first, 1, false, look_ahead_rows);
        let what = format!("look_ahead_rows={look_ahead_rows}");
        assert_eq!(done.conversion.counts.readings_unlinked, 0, "{what}");
        assert_rows_eq(&rows(&batches[&Table::Readings]), &expected, &what);
    }
}

/// From a stream, which cannot be read ahead, readings waiting for their
/// metadata past `wait_spill_rows` wait in a temporary file with every later
/// block of their meter readings: the same tables as holding them all in
/// memory, every series in order (rows compare every column, interval
/// deltas too), on a generated blocks-first feed with corrections and on
/// every sample reordered blocks first.
#[test]
fn waiting_readings_of_a_stream_in_a_temporary_file_give_what_holding_gives() {
    let (usual, generated, _) = usual_and_blocks_first(corrected_bulk(150));
    let expected = rows(&run(&usual, 1, false).1[&Table::Readings]);
    let mut inputs = vec![(
        "generated".to_string(),
        String::from_utf8(generated).unwrap(),
    )];
    for f in sample_files() {
        if let Some(xml) = blocks_first(&std::fs::read(&f).unwrap()) {
            inputs.push((f.display().to_string(), xml));
        }
    }
    let parse = ParseOptions::default();
    for (label, xml) in &inputs {
        let holding = ConvertOptions {
            batch_size: 500,
            wait_spill_rows: usize::MAX,
            ..Default::default()
        };
        let reference = run_stream(xml.as_bytes(), &holding, &parse);
        if label == "generated" {
            assert_eq!(reference.0.conversion.counts.readings_unlinked, 0);
            assert_rows_eq(&rows(&reference.1[&Table::Readings]), &expected, label);
        }
        for wait_spill_rows in [0, 100, 5000] {
            let spilling = ConvertOptions {
                wait_spill_rows,
                ..holding.clone()
            };
            let got = run_stream(xml.as_bytes(), &spilling, &parse);
            assert_same_conversion(
                (&reference.0, &reference.1),
                (&got.0, &got.1),
                &format!("{label}, wait_spill_rows={wait_spill_rows}"),
            );
        }
    }
}

/// Readings of blocks whose metadata comes at the end are handed on while
/// the input is read once more than `look_ahead_rows` wait, not at its end.
#[test]
fn readings_waiting_for_late_metadata_are_handed_on_after_reading_ahead() {
    let xml = feed(&entries(3000));
    for look_ahead_rows in [HOLD, 1000, LOOK_AHEAD] {
        let delivered = std::cell::Cell::new(0);
        let options = ConvertOptions {
            batch_size: 500,
            look_ahead_rows,
            ..Default::default()
        };
        let mut converter =
            espi_arrow::Converter::new("f", options, |table, batch: RecordBatch| {
                if table == Table::Readings {
                    delivered.set(delivered.get() + batch.num_rows());
                }
            });
        espi_core::parse_slice(xml.as_bytes(), &ParseOptions::default(), &mut converter).unwrap();
        let before_the_end = delivered.get();
        let counts = converter.finish().counts;
        assert_eq!(counts.readings_written, 3000);
        assert_eq!(counts.readings_unlinked, 0);
        assert_eq!(delivered.get(), 3000);
        if look_ahead_rows == HOLD {
            assert_eq!(before_the_end, 0);
        } else {
            // All but the last batch's worth (handed on at the end).
            assert!(
                before_the_end >= 2500,
                "{look_ahead_rows}: {before_the_end}"
            );
        }
    }
}

#[test]
fn entry_end_tags_inside_cdata_or_comments_fall_back_to_one_pass() {
    let mut e = entries(100);
    e[30] = e[30].replace("<a:id>", "<a:id><![CDATA[</a:entry>]]>");
    e[60] = e[60].replace("<a:content>", "<!-- </a:entry> --><a:content>");
    assert_same(feed(&e).as_bytes(), "cdata");
}

#[test]
fn errors_in_a_late_part_are_reported_as_one_pass_reports_them() {
    let mut e = entries(100);
    e[80] = e[80].replace("<e:value>", "<e:value>x");
    assert_same(feed(&e).as_bytes(), "bad value");
    let mut e = entries(100);
    e[70] = e[70].replace("</e:timePeriod>", "</e:timeperiod>");
    assert_same(feed(&e).as_bytes(), "malformed");
    let xml = feed(&entries(100));
    assert_same(&xml.as_bytes()[..xml.len() - 200], "truncated");
}

/// A metadata entry: a UsagePoint, or a ReadingType with this multiplier.
fn usage_point(n: usize) -> String {
    format!("<a:entry><a:id>up{n}</a:id><a:link rel=\"self\" href=\"/UsagePoint/{n}\"/><a:content><e:UsagePoint><e:ServiceCategory><e:kind>0</e:kind></e:ServiceCategory></e:UsagePoint></a:content></a:entry>\n")
}

fn reading_type(multiplier: &str) -> String {
    format!("<a:entry><a:link rel=\"self\" href=\"/ReadingType/1\"/><a:content><e:ReadingType><e:powerOfTenMultiplier>{multiplier}</e:powerOfTenMultiplier><e:uom>72</e:uom></e:ReadingType></a:content></a:entry>\n")
}

/// Blocks with metadata entries between them.
fn mixed_entries(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, block) in entries(n).into_iter().enumerate() {
        if i % 7 == 3 {
            out.push(usage_point(i));
        }
        out.push(block);
    }
    out
}

#[test]
fn metadata_entries_converted_in_the_first_pass_keep_their_place_and_number() {
    let xml = feed(&mixed_entries(200));
    let (par, batches) = run(xml.as_bytes(), 4, false);
    assert_eq!(par.parts, 4);
    let ups = arrow_select::concat::concat_batches(
        &batches[&Table::UsagePoints][0].schema(),
        &batches[&Table::UsagePoints],
    )
    .unwrap();
    // Entry 0 is the MeterReading; usage point `i` comes before block `i`
    // (the row without an entry is the usage point only linked to).
    let index = ups
        .column_by_name("entry_index")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt64Type>();
    let defined: Vec<u64> = index.iter().flatten().collect();
    let expected: Vec<u64> = (0..29).map(|row| 1 + (3 + 7 * row) + row).collect();
    assert_eq!(defined, expected);
    assert_same(xml.as_bytes(), "metadata between blocks");
}

#[test]
fn a_reading_type_defined_in_several_parts_gives_the_rows_of_one_pass() {
    // Defined at the start, redefined in the middle and at the end.
    let mut e = mixed_entries(200);
    e.insert(0, reading_type("0"));
    e.insert(150, reading_type("-3"));
    assert_same(feed(&e).as_bytes(), "reading type defined thrice");
}

#[test]
fn entries_the_end_tag_count_misses_are_numbered_as_one_pass_numbers_them() {
    let mut e = mixed_entries(200);
    e.insert(40, "<a:entry/>\n".to_owned());
    e[90] = e[90].replace("</a:entry>", "</a:entry >");
    e.insert(120, "<!-- </a:entry> -->\n".to_owned());
    assert_same(feed(&e).as_bytes(), "end tags the count misses");
}

#[test]
fn rejected_metadata_entries_are_reported_as_one_pass_reports_them() {
    let mut e = mixed_entries(200);
    e[50] = e[50].replace("<e:kind>0</e:kind>", "<e:kind>0</e:kind></e:kindx>");
    e.insert(100, reading_type("x"));
    e[140] = e[140].replace(
        "<e:ServiceCategory>",
        "<e:ServiceCategory><e:ServiceCategory>",
    );
    assert_same(feed(&e).as_bytes(), "bad metadata entries");
}

#[test]
fn entries_holding_a_block_and_other_resources_keep_every_row() {
    let mut e = mixed_entries(100);
    e[30] = e[30].replace(
        "</e:IntervalBlock>",
        "</e:IntervalBlock><e:UsagePoint><e:ServiceCategory><e:kind>1</e:kind></e:ServiceCategory></e:UsagePoint>",
    );
    assert_same(feed(&e).as_bytes(), "block and usage point in one entry");
}

/// Rows of each table a part's sink got before and after its first pass.
#[derive(Default)]
struct PassRows {
    passes_done: usize,
    rows: BTreeMap<(usize, Table), usize>,
}

impl espi_arrow::BatchSink for PassRows {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        *self.rows.entry((self.passes_done, table)).or_default() += batch.num_rows();
    }
    fn part_converted(&mut self) {
        self.passes_done += 1;
    }
}

#[test]
fn the_first_pass_converts_the_metadata_entries_and_the_second_the_blocks() {
    let xml = feed(&mixed_entries(400));
    // Rows numbered at once (from a count of entry end tags), not held.
    let options = ConvertOptions {
        parallel_held_bytes: 0,
        ..Default::default()
    };
    let done = convert_parallel(
        "f",
        xml.as_bytes(),
        &options,
        &ParseOptions::default(),
        4,
        |_| PassRows::default(),
    );
    assert_eq!(done.parts, 4);
    let mut first_pass_usage_points = 0;
    for sink in &done.sinks {
        assert_eq!(sink.passes_done, 2);
        assert_eq!(sink.rows.get(&(0, Table::Readings)), None);
        assert!(sink.rows[&(1, Table::Readings)] > 0);
        first_pass_usage_points += sink.rows.get(&(0, Table::UsagePoints)).unwrap_or(&0);
        assert_eq!(sink.rows.get(&(1, Table::Entries)), None);
    }
    assert_eq!(
        first_pass_usage_points,
        (0..400).filter(|i| i % 7 == 3).count()
    );
}

/// Counts the sinks made and discarded.
struct CountedSink<'a> {
    discarded: &'a std::sync::atomic::AtomicUsize,
}

impl espi_arrow::BatchSink for CountedSink<'_> {
    fn batch(&mut self, _: Table, _: RecordBatch) {}
    fn discard(&mut self) {
        self.discarded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Blocks and metadata with the same ReadingType defined again and again
/// (as PG&E's feeds repeat theirs), identically or not.
fn repeated_reading_types(identical: bool) -> String {
    let mut e = mixed_entries(400);
    for (n, at) in [0, 60, 130, 200, 270, 340, 400].into_iter().enumerate() {
        let multiplier = if identical {
            "-3".to_owned()
        } else {
            format!("-{}", n % 3)
        };
        let definition = reading_type(&multiplier).replace(
            "</a:content>",
            &format!(
                "</a:content><a:updated>2024-01-0{}T00:00:00Z</a:updated>",
                7 - n % 4
            ),
        );
        e.insert(at, definition);
    }
    feed(&e)
}

#[test]
fn a_reading_type_defined_again_in_later_parts_gives_the_rows_of_one_pass() {
    for identical in [true, false] {
        let xml = repeated_reading_types(identical);
        assert_same(
            xml.as_bytes(),
            &format!("repeated reading types {identical}"),
        );
        // Checked when each part's links are merged: no part is converted
        // twice.
        let discarded = std::sync::atomic::AtomicUsize::new(0);
        let done = convert_parallel(
            "f",
            xml.as_bytes(),
            &ConvertOptions::default(),
            &ParseOptions::default(),
            4,
            |_| CountedSink {
                discarded: &discarded,
            },
        );
        assert_eq!(done.parts, 4);
        assert_eq!(discarded.into_inner(), 0, "identical: {identical}");
    }
}

/// Damaged copies of the samples (a byte deleted, a `<` put in, the end cut
/// off, at several places): parts give what one pass gives, errors and all.
/// (Reading ahead is left out: when a conversion stops at an error, it may
/// have linked readings to metadata after the error, as documented.)
#[test]
fn damaged_samples_in_parts_give_what_one_pass_gives() {
    let mut checked = 0;
    for f in sample_files() {
        let xml = std::fs::read(&f).unwrap();
        if xml.len() > 1 << 20 {
            continue;
        }
        for n in 1..4 {
            let at = xml.len() * n / 4;
            let deleted = [&xml[..at], &xml[at + 1..]].concat();
            let opened = [&xml[..at], b"<", &xml[at + 1..]].concat();
            let cut = xml[..at].to_vec();
            for (what, damaged) in [("deleted", deleted), ("opened", opened), ("cut", cut)] {
                assert_same_in(&damaged, &format!("{} {what} at {at}", f.display()), &PARTS);
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// Two register series (meter readings 1 and 2) with blocks of two
/// readings alternating; some readings without a value, one gap; the
/// metadata first or last.
fn register_feed(blocks: usize, metadata_last: bool) -> String {
    let mut metadata = String::new();
    let mut entries = String::new();
    for mr in 1..=2 {
        metadata.push_str(&format!("<a:entry><a:link rel=\"self\" href=\"/UsagePoint/1/MeterReading/{mr}\"/><a:link rel=\"related\" href=\"/ReadingType/{mr}\"/><a:content><e:MeterReading/></a:content></a:entry>\n<a:entry><a:link rel=\"self\" href=\"/ReadingType/{mr}\"/><a:content><e:ReadingType><e:accumulationBehaviour>{acc}</e:accumulationBehaviour><e:powerOfTenMultiplier>-3</e:powerOfTenMultiplier><e:uom>72</e:uom></e:ReadingType></a:content></a:entry>\n", acc = mr));
    }
    for b in 0..blocks {
        for mr in 1..=2 {
            let mut readings = String::new();
            for r in 0..2 {
                let i = b * 2 + r;
                // A gap in series 2 at reading 101.
                let start = i * 900 + if mr == 2 && i > 100 { 900 } else { 0 };
                let value = if (i + mr) % 23 == 0 {
                    String::new()
                } else {
                    format!("<e:value>{}</e:value>", i * i + mr)
                };
                readings.push_str(&format!("<e:IntervalReading><e:timePeriod><e:duration>900</e:duration><e:start>{start}</e:start></e:timePeriod>{value}</e:IntervalReading>"));
            }
            entries.push_str(&format!("<a:entry><a:link rel=\"up\" href=\"/UsagePoint/1/MeterReading/{mr}/IntervalBlock\"/><a:content><e:IntervalBlock>{readings}</e:IntervalBlock></a:content></a:entry>\n"));
        }
    }
    let entries = if metadata_last {
        entries + &metadata
    } else {
        metadata + &entries
    };
    format!("<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:e=\"http://naesb.org/espi\">\n{entries}</a:feed>\n")
}

fn interval_deltas(batches: &ByTable) -> usize {
    batches[&Table::Readings]
        .iter()
        .map(|b| {
            let d = b.column_by_name("interval_delta").unwrap();
            d.len() - d.null_count()
        })
        .sum()
}

#[test]
fn register_series_split_across_parts_keep_their_interval_deltas() {
    let xml = feed(&entries(200)).replace(
        "<e:uom>72</e:uom></e:ReadingType>",
        "<e:uom>72</e:uom><e:accumulationBehaviour>1</e:accumulationBehaviour></e:ReadingType>",
    );
    let (_, batches) = run(xml.as_bytes(), 1, false);
    assert_eq!(interval_deltas(&batches), 199);
    assert_same(xml.as_bytes(), "register");

    let xml = register_feed(100, false);
    let (seq, expected) = run(xml.as_bytes(), 1, false);
    let (par, batches) = run(xml.as_bytes(), 8, false);
    assert_eq!(par.parts, 8, "converted in parts");
    assert!(interval_deltas(&expected) > 300);
    assert_eq!(seq.conversion.counts, par.conversion.counts);
    assert_rows_eq(
        &rows(&batches[&Table::Readings]),
        &rows(&expected[&Table::Readings]),
        "registers",
    );
    assert_same(xml.as_bytes(), "registers");
    assert_same(
        register_feed(100, true).as_bytes(),
        "registers, blocks first",
    );
    // A damaged block (rejected when bad entries are skipped; a block
    // whose state a later part needs is then read by one pass).
    for at in ["<e:start>1800</e:start>", "<e:start>45000</e:start>"] {
        let bad = xml.replacen(at, "<e:start>x</e:start>", 1);
        assert_same(bad.as_bytes(), "a damaged register block");
    }
}

/// Usage point `up` with meter reading `up` (ReadingType 1) and `blocks`
/// IntervalBlocks; with `reading_type`, the ReadingType defined (again)
/// before the blocks.
fn usage_point_group(up: usize, blocks: usize, multiplier: Option<&str>) -> String {
    let mut out = format!("<a:entry><a:link rel=\"self\" href=\"/UsagePoint/{up}\"/><a:content><e:UsagePoint><e:ServiceCategory><e:kind>0</e:kind></e:ServiceCategory></e:UsagePoint></a:content></a:entry>\n<a:entry><a:link rel=\"self\" href=\"/UsagePoint/{up}/MeterReading/{up}\"/><a:link rel=\"related\" href=\"/ReadingType/1\"/><a:content><e:MeterReading/></a:content></a:entry>\n");
    if let Some(multiplier) = multiplier {
        out.push_str(&reading_type(multiplier));
    }
    for i in 0..blocks {
        out.push_str(&format!("<a:entry><a:link rel=\"up\" href=\"/UsagePoint/{up}/MeterReading/{up}/IntervalBlock\"/><a:content><e:IntervalBlock><e:IntervalReading><e:timePeriod><e:duration>900</e:duration><e:start>{}</e:start></e:timePeriod><e:value>{}</e:value></e:IntervalReading></e:IntervalBlock></a:content></a:entry>\n", i * 900, i + up));
    }
    out
}

/// Blocks a part's own links link otherwise than the whole input's (a
/// ReadingType defined again within the part) are converted as one pass
/// converts them.
#[test]
fn blocks_linked_by_a_part_otherwise_than_by_the_whole_input_give_the_rows_of_one_pass() {
    let mut entries = vec![reading_type("-3")];
    for up in 0..8 {
        let again = (up % 3 == 2).then_some("0");
        entries.push(usage_point_group(up, 30, again));
    }
    let xml = format!(
        "<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:e=\"http://naesb.org/espi\">\n{}</a:feed>\n",
        entries.concat()
    );
    assert_same(xml.as_bytes(), "a ReadingType defined again");
}

/// A generated Bulk feed in parts: each starts with a usage point, so the
/// first pass converts every block and the second has nothing left to read.
#[test]
fn the_first_pass_converts_every_block_of_a_bulk_feed() {
    let options = corrected_bulk(300);
    let mut xml = Vec::new();
    espi_gen::generate(&options, &mut xml).unwrap();
    let done = convert_parallel(
        "f",
        &xml,
        &ConvertOptions::default(),
        &ParseOptions::default(),
        4,
        |_| PassRows::default(),
    );
    assert_eq!(done.parts, 4);
    for sink in &done.sinks {
        assert!(sink.rows[&(0, Table::Readings)] > 0);
        assert_eq!(sink.rows.get(&(1, Table::Readings)), None);
    }
    assert_same(&xml, "generated Bulk feed");

    // With the corrections found first: readings superseded alike.
    let corrections = espi_arrow::Corrections::find(&[&xml]);
    assert!(corrections.contested_entries() > 0);
    let convert = ConvertOptions {
        corrections: Some(Arc::new(corrections)),
        ..Default::default()
    };
    let (seq, expected) = run_options(&xml, 1, &convert, &ParseOptions::default());
    let (par, batches) = run_options(&xml, 4, &convert, &ParseOptions::default());
    assert_eq!(par.parts, 4);
    assert!(seq.conversion.counts.readings_superseded > 0);
    assert_eq!(seq.conversion.counts, par.conversion.counts);
    assert_rows_eq(
        &rows(&batches[&Table::Readings]),
        &rows(&expected[&Table::Readings]),
        "corrected",
    );
}

/// A block whose readings the first pass reads and then leaves to the
/// second (its entry holds a UsagePoint too), with starts in milliseconds:
/// counted once.
#[test]
fn readings_the_first_pass_leaves_to_the_second_are_counted_once() {
    let mut entries = vec![reading_type("-3")];
    for up in 0..6 {
        let mut group = usage_point_group(up, 20, None);
        // Starts in milliseconds (counted as such when read).
        for i in (0..20).rev() {
            group = group.replace(
                &format!("<e:start>{}</e:start>", i * 900),
                &format!("<e:start>{}</e:start>", 1_700_000_000_000u64 + i * 900_000),
            );
        }
        entries.push(group);
    }
    let mut xml = format!(
        "<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:e=\"http://naesb.org/espi\">\n{}</a:feed>\n",
        entries.concat()
    );
    // In the third group: a UsagePoint beside a block.
    let block = "<a:entry><a:link rel=\"up\" href=\"/UsagePoint/2/MeterReading/2/IntervalBlock\"/>";
    let at = xml.find(block).unwrap() + block.len();
    let end = at + xml[at..].find("</a:content>").unwrap();
    xml.insert_str(end, "<e:UsagePoint/>");
    let (seq, _) = run(xml.as_bytes(), 1, false);
    assert_eq!(seq.conversion.counts.readings_millisecond_start, 120);
    assert_same(xml.as_bytes(), "millisecond starts");
}

/// Converted with an entry's readings past `spill_rows` kept in a temporary
/// file and read back `batch_size` at a time, in one pass or in `parts`, a
/// feed gives what one pass holding every reading in memory gives.
fn assert_spilling_same(input: &[u8], label: &str) {
    for skip in [false, true] {
        let options = ParseOptions {
            skip_bad_entries: skip,
            ..Default::default()
        };
        let reference = ConvertOptions {
            batch_size: 500,
            spill_rows: usize::MAX,
            ..Default::default()
        };
        let seq = run_options(input, 1, &reference, &options);
        for (parts, spill_rows, batch_size) in [(1, 1, 500), (1, 3, 4), (1, 7, 3), (3, 2, 5)] {
            let spilling = ConvertOptions {
                batch_size,
                spill_rows,
                ..Default::default()
            };
            let got = run_options(input, parts, &spilling, &options);
            let what = format!(
                "{label} parts={parts} spill_rows={spill_rows} batch_size={batch_size} skip={skip}"
            );
            assert_same_conversion((&seq.0, &seq.1), (&got.0, &got.1), &what);
        }
        // A stream cannot be read ahead: an entry's readings waiting in their
        // file for metadata wait with the other waiting readings, in memory
        // or (past `wait_spill_rows`) in the file of waiting blocks.
        let stream_reference = run_stream(
            input,
            &ConvertOptions {
                wait_spill_rows: usize::MAX,
                ..reference.clone()
            },
            &options,
        );
        for wait_spill_rows in [usize::MAX, 0, 5] {
            let spilling = ConvertOptions {
                batch_size: 4,
                spill_rows: 3,
                wait_spill_rows,
                ..Default::default()
            };
            let got = run_stream(input, &spilling, &options);
            assert_same_conversion(
                (&stream_reference.0, &stream_reference.1),
                (&got.0, &got.1),
                &format!("{label} from a stream, skip={skip}, wait_spill_rows={wait_spill_rows}"),
            );
        }
    }
}

/// One pass over `input` read as a stream.
fn run_stream(
    input: &[u8],
    convert: &ConvertOptions,
    options: &ParseOptions,
) -> (ParallelConversion<PartBatches>, ByTable) {
    let mut batches = ByTable::new();
    let mut converter = espi_arrow::Converter::new("f", convert.clone(), |t, b| {
        batches.entry(t).or_default().push(b);
    });
    let error = espi_core::parse_reader(input, options, &mut converter).err();
    if let Some(e) = &error {
        converter.record_fatal(e);
    }
    let conversion = converter.finish();
    let done = ParallelConversion {
        conversion,
        sinks: vec![PartBatches::default()],
        error,
        parts: 1,
    };
    (done, batches)
}

/// A block whose readings derive their start from the one before (no
/// `timePeriod/start`), some with quality codes, costs and TOU.
fn derived_start_feed() -> String {
    let mut readings = String::new();
    for i in 0..23 {
        let extra = match i % 4 {
            0 => "<e:ReadingQuality><e:quality>8</e:quality></e:ReadingQuality><e:ReadingQuality><e:quality>19</e:quality></e:ReadingQuality>".to_string(),
            1 => format!("<e:cost>{}</e:cost><e:tou>{}</e:tou>", i * 1000, i % 3),
            _ => String::new(),
        };
        let period = if i % 5 == 0 {
            format!(
                "<e:timePeriod><e:duration>900</e:duration><e:start>{}</e:start></e:timePeriod>",
                3600 + i * 900
            )
        } else {
            "<e:timePeriod><e:duration>900</e:duration></e:timePeriod>".to_string()
        };
        readings.push_str(&format!(
            "<e:IntervalReading>{extra}{period}<e:value>{}</e:value></e:IntervalReading>",
            i * 7
        ));
    }
    let block = format!("<a:entry><a:link rel=\"up\" href=\"/UsagePoint/1/MeterReading/1/IntervalBlock\"/><a:content><e:IntervalBlock><e:interval><e:duration>20700</e:duration><e:start>3600</e:start></e:interval>{readings}</e:IntervalBlock><e:IntervalBlock><e:interval><e:duration>900</e:duration><e:start>99000</e:start></e:interval>{readings}</e:IntervalBlock></a:content><a:updated>2024-01-02T00:00:00Z</a:updated></a:entry>\n");
    feed(&[block.clone(), entries(3).concat(), block])
}

#[test]
fn readings_kept_in_a_temporary_file_give_what_memory_gives() {
    let xml = derived_start_feed();
    let (seq, _) = run(xml.as_bytes(), 1, false);
    assert_eq!(seq.conversion.counts.readings_written, 23 * 4 + 3);
    assert!(seq.conversion.counts.readings_time_derived > 50);
    assert_spilling_same(xml.as_bytes(), "derived starts");
    // Metadata before the blocks: each entry's readings are linked when it
    // ends and read back a batch at a time.
    let metadata_first = xml.replacen("<a:entry>", "<a:entry><a:link rel=\"self\" href=\"/ReadingType/1\"/><a:content><e:ReadingType><e:powerOfTenMultiplier>-3</e:powerOfTenMultiplier><e:uom>72</e:uom></e:ReadingType></a:content></a:entry>\n<a:entry>", 1);
    assert_spilling_same(metadata_first.as_bytes(), "derived starts, metadata first");
    let registers = register_feed(40, false);
    assert_spilling_same(registers.as_bytes(), "registers");
    assert_spilling_same(
        register_feed(40, true).as_bytes(),
        "registers, blocks first",
    );
    let mut bulk = Vec::new();
    espi_gen::generate(&corrected_bulk(30), &mut bulk).unwrap();
    assert_spilling_same(&bulk, "corrected Bulk feed");
    let bad = String::from_utf8(bulk)
        .unwrap()
        .replacen("<value>", "<value>x", 3);
    assert_spilling_same(bad.as_bytes(), "damaged Bulk feed");
    for f in sample_files() {
        assert_spilling_same(&std::fs::read(&f).unwrap(), &f.display().to_string());
    }
}
