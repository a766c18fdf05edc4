//! Property tests: a generated ESPI document converts to the same readings
//! whatever its namespace prefixes, entry order and white space, as its
//! canonical form does.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use espi_arrow::{convert_slice, Table};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Reading {
    value: i64,
    cost: Option<i64>,
    qualities: Vec<u8>,
    tou: Option<u8>,
}

#[derive(Debug, Clone)]
struct Series {
    usage_point: u8,
    multiplier: i8,
    uom: u16,
    flow: u8,
    blocks: Vec<Vec<Reading>>,
}

/// How a document is written.
#[derive(Debug, Clone)]
struct Style {
    /// 0 default namespace on each resource, 1 `espi:`, 2 `ns0:`, 3 a prefix
    /// declared again on every element.
    prefix: u8,
    /// White space between elements and around values.
    spaced: bool,
    /// Entry order.
    order: Vec<usize>,
}

fn reading() -> impl Strategy<Value = Reading> {
    (
        -1_000_000i64..1_000_000_000,
        proptest::option::of(0i64..10_000_000),
        proptest::collection::vec(
            prop_oneof![Just(7u8), Just(8), Just(9), Just(14), Just(17), Just(19)],
            0..3,
        ),
        proptest::option::of(0u8..6),
    )
        .prop_map(|(value, cost, qualities, tou)| Reading {
            value,
            cost,
            qualities,
            tou,
        })
}

fn series() -> impl Strategy<Value = Series> {
    (
        0u8..3,
        -3i8..2,
        prop_oneof![Just(72u16), Just(38), Just(169)],
        prop_oneof![Just(1u8), Just(19)],
        proptest::collection::vec(proptest::collection::vec(reading(), 1..6), 1..3),
    )
        .prop_map(|(usage_point, multiplier, uom, flow, blocks)| Series {
            usage_point,
            multiplier,
            uom,
            flow,
            blocks,
        })
}

struct Writer<'a> {
    style: &'a Style,
}

impl Writer<'_> {
    fn open(&self, name: &str, resource: bool) -> String {
        match self.style.prefix {
            0 if resource => format!("<{name} xmlns=\"http://naesb.org/espi\">"),
            0 => format!("<{name}>"),
            1 => format!("<espi:{name}>"),
            2 => format!("<ns0:{name}>"),
            _ => format!("<e:{name} xmlns:e=\"http://naesb.org/espi\">"),
        }
    }

    fn close(&self, name: &str) -> String {
        match self.style.prefix {
            0 => format!("</{name}>"),
            1 => format!("</espi:{name}>"),
            2 => format!("</ns0:{name}>"),
            _ => format!("</e:{name}>"),
        }
    }

    fn space(&self) -> &'static str {
        if self.style.spaced {
            "\n    "
        } else {
            ""
        }
    }

    fn leaf(&self, name: &str, value: impl std::fmt::Display) -> String {
        let pad = if self.style.spaced { " " } else { "" };
        format!(
            "{}{}{pad}{value}{pad}{}",
            self.space(),
            self.open(name, false),
            self.close(name)
        )
    }

    fn element(&self, name: &str, inner: &str, resource: bool) -> String {
        format!(
            "{}{}{inner}{}{}",
            self.space(),
            self.open(name, resource),
            self.space(),
            self.close(name)
        )
    }

    fn entry(
        &self,
        self_href: &str,
        related: &[String],
        up: Option<&str>,
        resource: &str,
    ) -> String {
        let mut links = format!("<link rel=\"self\" href=\"{self_href}\"/>");
        if let Some(up) = up {
            links += &format!("<link rel=\"up\" href=\"{up}\"/>");
        }
        for r in related {
            links += &format!("<link rel=\"related\" href=\"{r}\"/>");
        }
        format!(
            "\n<entry>{}{links}<content>{resource}</content></entry>",
            self.space()
        )
    }
}

/// The document, its entries in `style.order`.
fn document(series: &[Series], style: &Style) -> String {
    let w = Writer { style };
    let mut entries: Vec<String> = Vec::new();
    let mut points: Vec<u8> = series.iter().map(|s| s.usage_point).collect();
    points.sort();
    points.dedup();
    for up in points {
        let kind = w.element("ServiceCategory", &w.leaf("kind", 0), false);
        entries.push(w.entry(
            &format!("/UsagePoint/{up}"),
            &[],
            None,
            &w.element("UsagePoint", &kind, true),
        ));
    }
    let mut start = 1_700_000_000i64;
    for (k, s) in series.iter().enumerate() {
        let mr = format!("/UsagePoint/{}/MeterReading/{k}", s.usage_point);
        let rt = format!("/ReadingType/{k}");
        entries.push(w.entry(
            &mr,
            std::slice::from_ref(&rt),
            None,
            &w.element("MeterReading", "", true),
        ));
        let fields = w.leaf("flowDirection", s.flow)
            + &w.leaf("intervalLength", 900)
            + &w.leaf("powerOfTenMultiplier", s.multiplier)
            + &w.leaf("uom", s.uom);
        entries.push(w.entry(&rt, &[], None, &w.element("ReadingType", &fields, true)));
        for (b, block) in s.blocks.iter().enumerate() {
            let interval = w.element(
                "interval",
                &(w.leaf("duration", 900 * block.len()) + &w.leaf("start", start)),
                false,
            );
            let mut body = interval;
            for r in block {
                let mut inner = String::new();
                if let Some(c) = r.cost {
                    inner += &w.leaf("cost", c);
                }
                for q in &r.qualities {
                    inner += &w.element("ReadingQuality", &w.leaf("quality", q), false);
                }
                inner += &w.element(
                    "timePeriod",
                    &(w.leaf("duration", 900) + &w.leaf("start", start)),
                    false,
                );
                inner += &w.leaf("value", r.value);
                if let Some(t) = r.tou {
                    inner += &w.leaf("tou", t);
                }
                body += &w.element("IntervalReading", &inner, false);
                start += 900;
            }
            entries.push(w.entry(
                &format!("{mr}/IntervalBlock/{b}"),
                &[],
                Some(&format!("{mr}/IntervalBlock")),
                &w.element("IntervalBlock", &body, true),
            ));
        }
    }
    let ordered: String = style
        .order
        .iter()
        .filter_map(|&i| entries.get(i % entries.len().max(1)))
        .cloned()
        .collect::<Vec<_>>()
        .join("");
    // Every entry once: the order is a permutation of the entries.
    let ordered = if style.order.len() == entries.len() {
        ordered
    } else {
        entries.concat()
    };
    let root_ns = match style.prefix {
        1 => " xmlns:espi=\"http://naesb.org/espi\"",
        2 => " xmlns:ns0=\"http://naesb.org/espi\"",
        _ => "",
    };
    format!("<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"{root_ns}>{ordered}\n</feed>\n")
}

type Row = (
    String,
    i64,
    i64,
    Option<u64>,
    Option<i64>,
    Vec<i32>,
    Option<i32>,
    Option<i32>,
);

fn rows(xml: &str) -> Vec<Row> {
    let (batches, conversion) = convert_slice("p.xml", xml.as_bytes(), &Default::default())
        .unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(
        conversion.counts.readings_read,
        conversion.counts.readings_written
    );
    assert_eq!(conversion.counts.readings_unlinked, 0, "{xml}");
    let mut out = Vec::new();
    for b in batches.get(&Table::Readings).into_iter().flatten() {
        out.extend(batch_rows(b));
    }
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

fn batch_rows(b: &RecordBatch) -> Vec<Row> {
    let col = |n: &str| b.column_by_name(n).unwrap().clone();
    let mr = col("meter_reading");
    let mr = mr.as_dictionary::<Int32Type>();
    let names = mr.values().as_string::<i32>();
    let start = col("start");
    let start = start.as_primitive::<TimestampMicrosecondType>();
    let raw = col("value_raw");
    let raw = raw.as_primitive::<Int64Type>();
    let value = col("value");
    let value = value.as_primitive::<Float64Type>();
    let cost = col("cost_raw");
    let cost = cost.as_primitive::<Int64Type>();
    let qualities = col("qualities");
    let qualities = qualities.as_list::<i32>();
    let tou = col("tou");
    let tou = tou.as_primitive::<Int32Type>();
    let flow = col("flow_direction");
    let flow = flow.as_primitive::<Int32Type>();
    (0..b.num_rows())
        .map(|i| {
            let q: Vec<i32> = if qualities.is_null(i) {
                Vec::new()
            } else {
                qualities
                    .value(i)
                    .as_primitive::<Int32Type>()
                    .values()
                    .to_vec()
            };
            (
                names.value(mr.keys().value(i) as usize).to_owned(),
                start.value(i),
                raw.value(i),
                value.is_valid(i).then(|| value.value(i).to_bits()),
                cost.is_valid(i).then(|| cost.value(i)),
                q,
                tou.is_valid(i).then(|| tou.value(i)),
                flow.is_valid(i).then(|| flow.value(i)),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prefixes_order_and_white_space_do_not_change_the_readings(
        series in proptest::collection::vec(series(), 1..4),
        prefix in 0u8..4,
        spaced in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let canonical = Style { prefix: 0, spaced: false, order: Vec::new() };
        let expected = rows(&document(&series, &canonical));
        let n = entry_count(&series);
        let mut order: Vec<usize> = (0..n).collect();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let styled = Style { prefix, spaced, order };
        let got = rows(&document(&series, &styled));
        prop_assert_eq!(got.len(), series.iter().flat_map(|s| &s.blocks).map(Vec::len).sum::<usize>());
        prop_assert_eq!(got, expected);
    }
}

fn entry_count(series: &[Series]) -> usize {
    let mut points: Vec<u8> = series.iter().map(|s| s.usage_point).collect();
    points.sort();
    points.dedup();
    points.len() + series.iter().map(|s| 2 + s.blocks.len()).sum::<usize>()
}
