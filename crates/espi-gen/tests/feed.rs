//! Feed-level tests: determinism, well-formedness, summary counts, DST days,
//! links, corrections, billing summaries and size targeting.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{entries, parse, Entry, Node};
use espi_gen::{
    generate, options_for_size, EntryOrder, FeedKind, GenOptions, GenSummary, PrefixStyle,
};

const STYLES: [PrefixStyle; 3] = [
    PrefixStyle::DefaultNamespace,
    PrefixStyle::EspiPrefix,
    PrefixStyle::Ns0,
];

fn gen(o: &GenOptions) -> (String, GenSummary) {
    let mut out = Vec::new();
    let s = generate(o, &mut out).expect("generate");
    assert_eq!(s.bytes as usize, out.len());
    (String::from_utf8(out).expect("UTF-8"), s)
}

fn opts(usage_points: u32, days: u32, start_day: i64) -> GenOptions {
    GenOptions {
        usage_points,
        days,
        start_day,
        ..GenOptions::default()
    }
}

fn espi_prefix(style: PrefixStyle) -> &'static str {
    match style {
        PrefixStyle::DefaultNamespace => "",
        PrefixStyle::EspiPrefix => "espi:",
        PrefixStyle::Ns0 => "ns0:",
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything the tests need from a parsed feed.
struct Parsed<'a> {
    entries: Vec<Entry<'a>>,
    /// MeterReading self href -> (flowDirection, intervalLength, powerOfTenMultiplier, uom).
    reading_type_of_mr: HashMap<String, (i64, i64, i64, i64)>,
}

fn analyse(feed: &Node) -> Parsed<'_> {
    let entries = entries(feed);
    let mut rts = HashMap::new();
    for e in &entries {
        if e.resource.name == "ReadingType" {
            let r = e.resource;
            let key = (
                r.int_at("flowDirection").unwrap(),
                r.int_at("intervalLength").unwrap(),
                r.int_at("powerOfTenMultiplier").unwrap(),
                r.int_at("uom").unwrap(),
            );
            assert!(
                rts.insert(e.self_href.clone(), key).is_none(),
                "ReadingType ids unique"
            );
        }
    }
    let mut reading_type_of_mr = HashMap::new();
    for e in &entries {
        if e.resource.name == "MeterReading" {
            let rt = e
                .related
                .iter()
                .find(|h| h.contains("/ReadingType/"))
                .expect("RT link");
            reading_type_of_mr.insert(
                e.self_href.clone(),
                *rts.get(rt).expect("ReadingType entry present"),
            );
        }
    }
    Parsed {
        entries,
        reading_type_of_mr,
    }
}

fn mr_of_block(e: &Entry) -> String {
    e.up_href
        .strip_suffix("/IntervalBlock")
        .expect("block up link")
        .to_string()
}

#[test]
fn same_options_same_bytes_different_seed_different_bytes() {
    for style in STYLES {
        for kind in [FeedKind::Bulk, FeedKind::History] {
            let o = GenOptions {
                prefix_style: style,
                kind,
                corrections: 0.3,
                ..opts(15, 2, 19_875)
            };
            let (a, sa) = gen(&o);
            let (b, sb) = gen(&o);
            assert_eq!(a, b);
            assert_eq!(sa, sb);
            let (c, _) = gen(&GenOptions {
                seed: 2,
                ..o.clone()
            });
            assert_ne!(a, c);
        }
    }
}

/// Pins the exact output so that a change of platform (or of the generator)
/// that alters the bytes is noticed. Update the constant when the generator
/// is changed on purpose.
#[test]
fn output_is_pinned() {
    let o = GenOptions {
        seed: 42,
        corrections: 0.5,
        prefix_style: PrefixStyle::Ns0,
        ..opts(20, 3, 19_792)
    };
    let (xml, s) = gen(&o);
    assert_eq!(
        (fnv1a(xml.as_bytes()), s.bytes),
        (PINNED_HASH, PINNED_BYTES),
        "generator output changed"
    );
}
const PINNED_HASH: u64 = 8_816_934_594_491_327_229;
const PINNED_BYTES: u64 = 2_183_951;

#[test]
fn summary_matches_the_text() {
    for style in STYLES {
        let o = GenOptions {
            prefix_style: style,
            corrections: 0.5,
            ..opts(40, 3, 19_790)
        };
        let (xml, s) = gen(&o);
        let p = espi_prefix(style);
        let atom = if style == PrefixStyle::Ns0 {
            "ns1:"
        } else {
            ""
        };
        let count = |tag: &str| xml.matches(tag).count() as u64;
        assert_eq!(count(&format!("<{p}IntervalReading>")), s.readings);
        assert_eq!(count(&format!("</{p}IntervalReading>")), s.readings);
        assert_eq!(count(&format!("<{atom}entry>")), s.entries);
        assert_eq!(count(&format!("</{atom}entry>")), s.entries);
        assert_eq!(count(&format!("<{p}IntervalBlock")), s.interval_blocks);
        assert_eq!(count(&format!("<{p}UsageSummary")), s.usage_summaries);
        assert_eq!(count(&format!("<{p}UsagePoint")), s.usage_points);
        assert_eq!(count(&format!("<{p}MeterReading")), s.meter_readings);
        assert_eq!(s.usage_points, 40);
        assert_eq!(s.readings, s.readings_by_flow.values().sum::<u64>());
        assert!(s.correction_blocks > 0);

        // Recount from the parsed tree, by flowDirection, with and without latest-wins.
        let root = parse(&xml).expect("well-formed");
        let parsed = analyse(&root);
        let mut by_flow: BTreeMap<i64, u64> = BTreeMap::new();
        let mut sum_by_flow: BTreeMap<i64, i128> = BTreeMap::new();
        let mut latest: HashMap<(String, i64), (String, i64, i64)> = HashMap::new();
        for e in parsed
            .entries
            .iter()
            .filter(|e| e.resource.name == "IntervalBlock")
        {
            let mr = mr_of_block(e);
            let flow = parsed.reading_type_of_mr[&mr].0;
            for r in e.resource.children_named("IntervalReading") {
                let v = r.int_at("value").unwrap();
                let start = r.int_at("timePeriod/start").unwrap();
                *by_flow.entry(flow).or_default() += 1;
                *sum_by_flow.entry(flow).or_default() += i128::from(v);
                let k = (mr.clone(), start);
                if latest.get(&k).is_none_or(|(u, _, _)| *u < e.updated) {
                    latest.insert(k, (e.updated.clone(), v, flow));
                }
            }
        }
        assert_eq!(by_flow, s.readings_by_flow);
        assert_eq!(sum_by_flow, s.raw_sum_by_flow);
        let mut latest_n: BTreeMap<i64, u64> = BTreeMap::new();
        let mut latest_sum: BTreeMap<i64, i128> = BTreeMap::new();
        for (_, v, flow) in latest.values() {
            *latest_n.entry(*flow).or_default() += 1;
            *latest_sum.entry(*flow).or_default() += i128::from(*v);
        }
        assert_eq!(latest_n, s.readings_latest_by_flow);
        assert_eq!(latest_sum, s.raw_sum_latest_by_flow);
        assert!(s.readings_latest_by_flow[&1] < s.readings_by_flow[&1]);
    }
}

#[test]
fn well_formed_in_every_style_and_kind() {
    for style in STYLES {
        for kind in [FeedKind::Bulk, FeedKind::History] {
            for (points, days) in [(0, 1), (1, 0), (25, 1), (6, 40)] {
                let o = GenOptions {
                    prefix_style: style,
                    kind,
                    corrections: 0.4,
                    ..opts(points, days, 19_780)
                };
                let (xml, s) = gen(&o);
                assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
                let root = parse(&xml).unwrap_or_else(|e| panic!("{style:?} {kind:?}: {e}"));
                let es = entries(&root);
                assert_eq!(es.len() as u64, s.entries);
                for key in ["id", "title", "updated"] {
                    assert!(root.child(key).is_some(), "feed {key}");
                }
                match style {
                    PrefixStyle::DefaultNamespace => {
                        assert!(
                            xml.contains("<UsageSummary xmlns=\"http://naesb.org/espi\">")
                                || s.usage_summaries == 0
                        );
                        assert!(!xml.contains("espi:") && !xml.contains("ns0:"));
                    }
                    PrefixStyle::EspiPrefix => {
                        assert!(xml.contains("xmlns:espi=\"http://naesb.org/espi\">"));
                        assert_eq!(xml.matches("xmlns=\"http://naesb.org/espi\"").count(), 0);
                    }
                    PrefixStyle::Ns0 => {
                        assert!(xml.contains("<ns1:feed xmlns:ns0=\"http://naesb.org/espi\" xmlns:ns1=\"http://www.w3.org/2005/Atom\">"));
                        assert_eq!(xml.matches("xmlns").count(), 2);
                    }
                }
            }
        }
    }
}

/// (interval duration, reading duration, readings) of every IntervalBlock.
fn block_shapes(xml: &str) -> Vec<(i64, i64, usize)> {
    let root = parse(xml).unwrap();
    let parsed = analyse(&root);
    let mut shapes = Vec::new();
    for e in parsed
        .entries
        .iter()
        .filter(|e| e.resource.name == "IntervalBlock")
    {
        let b = e.resource;
        let duration = b.int_at("interval/duration").unwrap();
        let start = b.int_at("interval/start").unwrap();
        let readings: Vec<&Node> = b.children_named("IntervalReading").collect();
        let step = readings[0].int_at("timePeriod/duration").unwrap();
        let interval_length = parsed.reading_type_of_mr[&mr_of_block(e)].1;
        if interval_length != 86_400 {
            assert_eq!(step, interval_length);
        }
        // Contiguous readings covering exactly the interval.
        let mut t = start;
        for r in &readings {
            assert_eq!(r.int_at("timePeriod/start").unwrap(), t);
            assert_eq!(r.int_at("timePeriod/duration").unwrap(), step);
            t += step;
        }
        assert_eq!(t, start + duration);
        shapes.push((duration, step, readings.len()));
    }
    shapes
}

#[test]
fn dst_days_have_23_and_25_hours() {
    // 2024-03-10 (spring forward) and 2024-11-03 (fall back), 2023 likewise.
    for (day, hours) in [
        (19_792, 23),
        (20_030, 25),
        (19_428, 23),
        (19_666, 25),
        (19_875, 24),
    ] {
        let (xml, _) = gen(&GenOptions {
            corrections: 0.0,
            ..opts(60, 1, day)
        });
        let shapes = block_shapes(&xml);
        let secs = hours * 3600;
        for want in [
            (secs, 900, hours as usize * 4),
            (secs, 3600, hours as usize),
            (secs, secs, 1),
        ] {
            assert!(shapes.contains(&want), "day {day}: {want:?} missing");
        }
        assert!(shapes.iter().all(|s| s.0 == secs), "day {day}: {shapes:?}");
    }
    // Local midnight: 2024-03-10 00:00 PST is 08:00Z; the next day starts at 07:00Z.
    let (xml, _) = gen(&opts(3, 2, 19_792));
    assert!(xml.contains("<start>1710057600</start>"));
    assert!(xml.contains("<start>1710140400</start>"));
}

#[test]
fn options_for_size_hits_the_target() {
    let o = options_for_size(20_000_000, 1, 7);
    assert_eq!((o.days, o.seed), (1, 7));
    let s = generate(&o, std::io::sink()).unwrap();
    let err = (s.bytes as f64 - 20e6).abs() / 20e6;
    assert!(err < 0.10, "{} bytes for a 20 MB target", s.bytes);
    // Small targets are met to within one usage point.
    assert!(err < 0.01, "{} bytes for a 20 MB target", s.bytes);
    let tiny = options_for_size(100, 1, 7);
    assert_eq!(tiny.usage_points, 0);
}

#[test]
fn options_for_size_long_history() {
    let o = options_for_size(15_000_000, 60, 3);
    let s = generate(&o, std::io::sink()).unwrap();
    let err = (s.bytes as f64 - 15e6).abs() / 15e6;
    assert!(
        err < 0.10,
        "{} bytes for 15 MB over 60 days ({} points)",
        s.bytes,
        o.usage_points
    );
}

#[test]
fn fewer_usage_points_give_a_prefix() {
    let o = GenOptions {
        corrections: 0.5,
        ..opts(12, 2, 19_875)
    };
    let (long, _) = gen(&o);
    let (short, _) = gen(&GenOptions {
        usage_points: 5,
        ..o.clone()
    });
    let body = short.strip_suffix("\n</feed>\n").unwrap();
    assert!(long.starts_with(body));
}

/// The entries of a feed as text, in order, and what surrounds them.
fn entry_texts<'a>(xml: &'a str, close: &str) -> (Vec<&'a str>, &'a str, &'a str) {
    let open = close.replace("</", "<").replace('>', "");
    let first = xml.find(&format!("{open}>")).unwrap();
    let last = xml.rfind(close).unwrap() + close.len();
    let mut out = Vec::new();
    let mut rest = &xml[first..last];
    while let Some(end) = rest.find(close) {
        let end = end + close.len();
        out.push(rest[..end].trim_start());
        rest = &rest[end..];
    }
    (out, &xml[..first], &xml[last..])
}

#[test]
fn blocks_first_writes_the_same_entries_with_every_block_first() {
    for (style, close) in [
        (PrefixStyle::DefaultNamespace, "</entry>"),
        (PrefixStyle::Ns0, "</ns1:entry>"),
    ] {
        let o = GenOptions {
            corrections: 0.5,
            prefix_style: style,
            ..opts(20, 40, 19_875)
        };
        let (usual, usual_summary) = gen(&o);
        let (blocks_first, summary) = gen(&GenOptions {
            order: EntryOrder::BlocksFirst,
            ..o.clone()
        });
        assert_eq!(summary, usual_summary, "{style:?}");
        parse(&blocks_first).expect("well-formed");
        let (mut a, head_a, tail_a) = entry_texts(&usual, close);
        let (b, head_b, tail_b) = entry_texts(&blocks_first, close);
        assert_eq!((head_a, tail_a), (head_b, tail_b), "{style:?}");
        let is_block = |e: &str| e.contains("IntervalBlock>") && e.contains("IntervalReading>");
        let blocks = b.iter().filter(|e| is_block(e)).count();
        assert!(
            blocks > 20 && blocks < b.len(),
            "{style:?}: {blocks} blocks"
        );
        assert!(b[..blocks].iter().all(|e| is_block(e)), "{style:?}");
        assert!(!b[blocks..].iter().any(|e| is_block(e)), "{style:?}");
        let mut b = b;
        a.sort_unstable();
        b.sort_unstable();
        assert!(a == b, "{style:?}: the same entries");
    }
}

#[test]
fn links_tie_the_resources_together() {
    let (xml, s) = gen(&GenOptions {
        corrections: 0.5,
        ..opts(30, 2, 19_875)
    });
    let root = parse(&xml).unwrap();
    let parsed = analyse(&root);
    let selves: HashMap<&str, &Entry> = parsed
        .entries
        .iter()
        .filter(|e| e.resource.name != "IntervalBlock")
        .map(|e| (e.self_href.as_str(), e))
        .collect();
    let ltp = parsed
        .entries
        .iter()
        .filter(|e| e.resource.name == "LocalTimeParameters")
        .collect::<Vec<_>>();
    assert_eq!(ltp.len(), 1);
    let l = ltp[0].resource;
    assert_eq!(l.int_at("tzOffset"), Some(-28_800));
    assert_eq!(l.int_at("dstOffset"), Some(3600));
    assert_eq!(l.text_at("dstStartRule"), Some("360E2000"));
    assert_eq!(l.text_at("dstEndRule"), Some("B40E2000"));
    let mut meter_readings = 0;
    for e in &parsed.entries {
        assert!(e
            .self_href
            .starts_with("https://api.utility.example/GreenButtonConnect/espi/1_1/resource/"));
        match e.resource.name.as_str() {
            "UsagePoint" => {
                assert_eq!(e.up_href, e.self_href.rsplit_once('/').unwrap().0);
                assert!(e.related.contains(&format!("{}/MeterReading", e.self_href)));
                assert!(e.related.contains(&ltp[0].self_href));
                assert!(e.self_href.contains("/Subscription/"));
                let kind = e.resource.int_at("ServiceCategory/kind").unwrap();
                assert!(kind == 0 || kind == 1);
            }
            "MeterReading" => {
                meter_readings += 1;
                let (up, _) = e.self_href.split_once("/MeterReading/").unwrap();
                assert_eq!(e.up_href, format!("{up}/MeterReading"));
                assert!(selves.contains_key(up), "UsagePoint of {}", e.self_href);
                assert!(e
                    .related
                    .contains(&format!("{}/IntervalBlock", e.self_href)));
                assert!(e.related.iter().any(|h| selves
                    .get(h.as_str())
                    .is_some_and(|rt| rt.resource.name == "ReadingType")));
            }
            "IntervalBlock" => {
                let mr = mr_of_block(e);
                assert!(selves
                    .get(mr.as_str())
                    .is_some_and(|m| m.resource.name == "MeterReading"));
                let start = e.resource.int_at("interval/start").unwrap();
                assert_eq!(e.self_href, format!("{mr}/IntervalBlock/{start}"));
            }
            "UsageSummary" => {
                let (up, _) = e.self_href.split_once("/UsageSummary/").unwrap();
                assert!(selves.contains_key(up));
            }
            "ReadingType" => {
                let r = e.resource;
                assert_eq!(r.int_at("accumulationBehaviour"), Some(4));
                assert_eq!(r.int_at("currency"), Some(840));
                assert_eq!(r.int_at("dataQualifier"), Some(12));
                assert_eq!(r.int_at("kind"), Some(12));
                assert_eq!(r.int_at("timeAttribute"), Some(0));
                let (flow, il, mult, uom) = (
                    r.int_at("flowDirection").unwrap(),
                    r.int_at("intervalLength").unwrap(),
                    r.int_at("powerOfTenMultiplier").unwrap(),
                    r.int_at("uom").unwrap(),
                );
                assert!(flow == 1 || flow == 19);
                assert!([900, 3600, 86_400].contains(&il));
                assert!(mult == 0 || mult == -3);
                if uom == 169 {
                    assert_eq!((r.int_at("commodity"), il, flow), (Some(7), 86_400, 1));
                } else {
                    assert_eq!(
                        (uom, r.int_at("commodity"), r.int_at("phase")),
                        (72, Some(1), Some(769))
                    );
                }
            }
            "LocalTimeParameters" => {}
            other => panic!("unexpected resource {other}"),
        }
    }
    assert_eq!(meter_readings, s.meter_readings);
}

#[test]
fn realistic_mix_and_values() {
    let (xml, s) = gen(&GenOptions {
        corrections: 0.0,
        prefix_style: PrefixStyle::EspiPrefix,
        ..opts(1500, 1, 19_900)
    });
    let root = parse(&xml).unwrap();
    let parsed = analyse(&root);
    let mut mr_by_up: HashMap<String, Vec<(i64, i64, i64, i64)>> = HashMap::new();
    for (mr, rt) in &parsed.reading_type_of_mr {
        let up = mr.split_once("/MeterReading/").unwrap().0.to_string();
        mr_by_up.entry(up).or_default().push(*rt);
    }
    assert_eq!(mr_by_up.len(), 1500);
    let (mut q15, mut hourly, mut gas, mut net, mut elec) = (0, 0, 0, 0, 0);
    for rts in mr_by_up.values() {
        assert!(rts.len() == 1 || rts.len() == 2);
        let il = rts[0].1;
        match il {
            900 => q15 += 1,
            3600 => hourly += 1,
            _ => gas += 1,
        }
        if il != 86_400 {
            elec += 1;
        }
        if rts.len() == 2 {
            net += 1;
            let mut flows: Vec<i64> = rts.iter().map(|r| r.0).collect();
            flows.sort();
            assert_eq!(flows, [1, 19]);
            assert_eq!(rts[0].1, rts[1].1);
        }
    }
    let share = |n: i32| f64::from(n) / 1500.0;
    assert!(
        (0.65..0.80).contains(&share(q15)),
        "15-minute share {}",
        share(q15)
    );
    assert!(
        (0.11..0.21).contains(&share(hourly)),
        "hourly share {}",
        share(hourly)
    );
    assert!(
        (0.07..0.16).contains(&share(gas)),
        "gas share {}",
        share(gas)
    );
    let net_share = f64::from(net) / f64::from(elec);
    assert!(
        (0.10..0.20).contains(&net_share),
        "net-metered share {net_share}"
    );

    let mut qualities: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut pairs, mut costs, mut tous) = (0, 0, 0);
    let mut max_wh: i64 = 0;
    let mut night_export = 0;
    let mut day_export = 0;
    for e in parsed
        .entries
        .iter()
        .filter(|e| e.resource.name == "IntervalBlock")
    {
        let (flow, il, mult, uom) = parsed.reading_type_of_mr[&mr_of_block(e)];
        for r in e.resource.children_named("IntervalReading") {
            let v = r.int_at("value").unwrap();
            assert!(v >= 0, "negative value");
            if uom == 72 && mult == 0 && il == 900 {
                max_wh = max_wh.max(v);
            }
            let q: Vec<i64> = r
                .children_named("ReadingQuality")
                .map(|q| q.int_at("quality").unwrap())
                .collect();
            if q.len() == 2 {
                pairs += 1;
            }
            for c in q {
                *qualities.entry(c).or_default() += 1;
            }
            if r.child("cost").is_some() {
                costs += 1;
                assert_eq!(flow, 1);
            }
            if let Some(t) = r.int_at("tou") {
                assert!((1..=4).contains(&t));
                tous += 1;
            }
            if flow == 19 {
                // Standard-time hour of the interval's start.
                let start = r.int_at("timePeriod/start").unwrap();
                let hour = (start - 28_800).rem_euclid(86_400) / 3600;
                if !(5..20).contains(&hour) {
                    assert_eq!(v, 0, "solar export at night");
                    night_export += 1;
                } else if (10..14).contains(&hour) && v > 0 {
                    day_export += 1;
                }
            }
        }
    }
    assert!(max_wh > 300 && max_wh < 5000, "15-minute Wh max {max_wh}");
    assert!(night_export > 0 && day_export > 0);
    assert!(pairs > 0, "a rare reading with two ReadingQuality elements");
    let total_q: u64 = qualities.values().sum();
    assert!(qualities[&17] as f64 / total_q as f64 > 0.9);
    assert!(qualities.contains_key(&8) && qualities.contains_key(&9));
    assert!(costs > 0 && (costs as u64) < s.readings);
    assert!(tous > 0 && (tous as u64) < s.readings);
}

#[test]
fn corrections_redeliver_an_earlier_day_later() {
    for days in [1u32, 4] {
        let o = GenOptions {
            corrections: 1.0,
            ..opts(25, days, 19_875)
        };
        let (xml, s) = gen(&o);
        assert_eq!(s.correction_blocks, 25);
        assert_eq!(s.interval_blocks, u64::from(days) * s.meter_readings + 25);
        let root = parse(&xml).unwrap();
        let parsed = analyse(&root);
        let mut seen: HashMap<&str, &Entry> = HashMap::new();
        let mut redelivered = 0;
        let mut outside = 0;
        for e in parsed
            .entries
            .iter()
            .filter(|e| e.resource.name == "IntervalBlock")
        {
            let start = e.resource.int_at("interval/start").unwrap();
            if let Some(first) = seen.get(e.self_href.as_str()) {
                redelivered += 1;
                assert!(
                    e.updated > first.updated,
                    "correction has a later <updated>"
                );
                assert_eq!(e.published, first.published);
                let values = |n: &Node| {
                    n.children_named("IntervalReading")
                        .map(|r| r.int_at("value").unwrap())
                        .collect::<Vec<_>>()
                };
                assert_ne!(values(e.resource), values(first.resource), "changed values");
            } else {
                seen.insert(e.self_href.as_str(), e);
                // Before the feed's first day: a correction of an earlier delivery.
                if start < 19_875 * 86_400 {
                    outside += 1;
                }
            }
        }
        if days == 1 {
            assert_eq!((redelivered, outside), (0, 25));
            assert_eq!(s.readings_latest_by_flow, s.readings_by_flow);
        } else {
            assert_eq!((redelivered, outside), (25, 0));
        }
    }
}

#[test]
fn billing_summaries_add_up() {
    let o = GenOptions {
        corrections: 0.0,
        kind: FeedKind::History,
        ..opts(8, 75, 19_700)
    };
    let (xml, s) = gen(&o);
    let root = parse(&xml).unwrap();
    let parsed = analyse(&root);
    // Delivered values by usage point and reading start.
    let mut delivered: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for e in parsed
        .entries
        .iter()
        .filter(|e| e.resource.name == "IntervalBlock")
    {
        let mr = mr_of_block(e);
        if parsed.reading_type_of_mr[&mr].0 != 1 {
            continue;
        }
        let up = mr.split_once("/MeterReading/").unwrap().0.to_string();
        for r in e.resource.children_named("IntervalReading") {
            delivered.entry(up.clone()).or_default().push((
                r.int_at("timePeriod/start").unwrap(),
                r.int_at("value").unwrap(),
            ));
        }
    }
    let first = 19_700 * 86_400;
    let mut checked = 0;
    let mut per_up: HashMap<&str, u32> = HashMap::new();
    for e in parsed
        .entries
        .iter()
        .filter(|e| e.resource.name == "UsageSummary")
    {
        let r = e.resource;
        let start = r.int_at("billingPeriod/start").unwrap();
        let duration = r.int_at("billingPeriod/duration").unwrap();
        assert!((30 * 86_400 - 3600..=30 * 86_400 + 3600).contains(&duration));
        assert_eq!(r.int_at("currency"), Some(840));
        assert_eq!(r.int_at("qualityOfReading"), Some(14));
        assert!(r.int_at("billLastPeriod").unwrap() > 0);
        assert!(r.int_at("statusTimeStamp").unwrap() > start + duration);
        let up = e.self_href.split_once("/UsageSummary/").unwrap().0;
        *per_up.entry(up).or_default() += 1;
        if start >= first {
            let total: i64 = delivered[up]
                .iter()
                .filter(|(t, _)| (start..start + duration).contains(t))
                .map(|(_, v)| v)
                .sum();
            assert_eq!(r.int_at("overallConsumptionLastPeriod/value"), Some(total));
            checked += 1;
        }
    }
    // 75 days: every usage point closes two or three bills.
    assert_eq!(per_up.len(), 8);
    assert!(per_up.values().all(|n| (2..=3).contains(n)));
    assert!(checked >= 8);
    assert_eq!(
        s.usage_summaries,
        per_up.values().map(|n| u64::from(*n)).sum::<u64>()
    );
}
