//! Streaming writer of the Atom feed.

use std::io::{self, Write};

use crate::fmt::{i64_digits, push_hex, push_i64, push_uuid};
use crate::model::{fill_corrected_day, fill_day, DayData, Point, Q_NONE, Q_PAIR};
use crate::rng::{mix2, mix3, mix64};
use crate::time::{push_rfc3339_ms, utc_of_local_midnight};
use crate::EntryOrder;
use crate::{FeedKind, GenOptions, GenSummary, PrefixStyle};

/// Base URL of every resource in a generated feed.
pub(crate) const BASE: &str = "https://api.utility.example/GreenButtonConnect/espi/1_1/resource";

/// Flush the buffer to the writer once it holds this much.
const FLUSH_AT: usize = 1 << 18;

/// Prefix substitutions of one [`PrefixStyle`].
struct Style {
    /// Replaces `@` in templates (Atom prefix).
    atom: &'static [u8],
    /// Replaces `~` (ESPI prefix).
    espi: &'static [u8],
    /// Replaces `%` (namespace declaration on each ESPI resource element).
    decl: &'static [u8],
    root_open: &'static [u8],
}

impl Style {
    fn of(style: PrefixStyle) -> Self {
        match style {
            PrefixStyle::DefaultNamespace => Style {
                atom: b"",
                espi: b"",
                decl: b" xmlns=\"http://naesb.org/espi\"",
                root_open: b"<feed xmlns=\"http://www.w3.org/2005/Atom\">",
            },
            PrefixStyle::EspiPrefix => Style {
                atom: b"",
                espi: b"espi:",
                decl: b"",
                root_open:
                    b"<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:espi=\"http://naesb.org/espi\">",
            },
            PrefixStyle::Ns0 => Style {
                atom: b"ns1:",
                espi: b"ns0:",
                decl: b"",
                root_open:
                    b"<ns1:feed xmlns:ns0=\"http://naesb.org/espi\" xmlns:ns1=\"http://www.w3.org/2005/Atom\">",
            },
        }
    }

    /// Append `tpl` with `@`, `~` and `%` replaced.
    fn subst_into(&self, out: &mut Vec<u8>, tpl: &str) {
        let b = tpl.as_bytes();
        let mut last = 0;
        for (i, &c) in b.iter().enumerate() {
            let rep = match c {
                b'@' => self.atom,
                b'~' => self.espi,
                b'%' => self.decl,
                _ => continue,
            };
            out.extend_from_slice(&b[last..i]);
            out.extend_from_slice(rep);
            last = i + 1;
        }
        out.extend_from_slice(&b[last..]);
    }

    fn subst(&self, tpl: &str) -> Vec<u8> {
        let mut v = Vec::with_capacity(tpl.len() + 32);
        self.subst_into(&mut v, tpl);
        v
    }
}

/// Pre-substituted fragments of the per-reading hot path.
struct Frags {
    ir_open: Vec<u8>,
    cost_open: Vec<u8>,
    cost_close: Vec<u8>,
    q17: Vec<u8>,
    q8: Vec<u8>,
    q9: Vec<u8>,
    q_pair: Vec<u8>,
    tp_head_a: Vec<u8>,
    tp_head_b: Vec<u8>,
    tp_close_value_open: Vec<u8>,
    value_close: Vec<u8>,
    tou: [Vec<u8>; 5],
    ir_close: Vec<u8>,
}

const Q_TPL: &str = "\n          <~ReadingQuality>\n            <~quality>";
const Q_TPL_END: &str = "</~quality>\n          </~ReadingQuality>";

impl Frags {
    fn new(s: &Style) -> Self {
        let q = |code: &str| s.subst(&format!("{Q_TPL}{code}{Q_TPL_END}"));
        let tou = |code: &str| s.subst(&format!("\n          <~tou>{code}</~tou>"));
        Frags {
            ir_open: s.subst("\n        <~IntervalReading>"),
            cost_open: s.subst("\n          <~cost>"),
            cost_close: s.subst("</~cost>"),
            q17: q("17"),
            q8: q("8"),
            q9: q("9"),
            q_pair: [q("9"), q("17")].concat(),
            tp_head_a: s.subst("\n          <~timePeriod>\n            <~duration>"),
            tp_head_b: s.subst("</~duration>\n            <~start>"),
            tp_close_value_open: s.subst("</~start>\n          </~timePeriod>\n          <~value>"),
            value_close: s.subst("</~value>"),
            tou: [Vec::new(), tou("1"), tou("2"), tou("3"), tou("4")],
            ir_close: s.subst("\n        </~IntervalReading>"),
        }
    }
}

/// Buffered output with formatting helpers.
struct Out<W: Write> {
    w: W,
    buf: Vec<u8>,
    flushed: u64,
    style: Style,
    fr: Frags,
    tp_head: Vec<u8>,
}

impl<W: Write> Out<W> {
    #[inline]
    fn t(&mut self, tpl: &str) {
        self.style.subst_into(&mut self.buf, tpl);
    }

    #[inline]
    fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    #[inline]
    fn num(&mut self, n: i64) {
        push_i64(&mut self.buf, n);
    }

    fn time(&mut self, ms: i64) {
        push_rfc3339_ms(&mut self.buf, ms);
    }

    fn uuid(&mut self, seed: u64) {
        push_uuid(
            &mut self.buf,
            mix64(seed),
            mix64(seed ^ 0x5555_5555_5555_5555),
        );
    }

    fn total(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// `<entry>`, `<id>`, self and up links.
    fn entry_head(&mut self, id_seed: u64, self_href: &[&[u8]], up_href: &[&[u8]]) {
        self.t("\n  <@entry>\n    <@id>urn:uuid:");
        self.uuid(id_seed);
        self.t("</@id>\n    <@link rel=\"self\" href=\"");
        for part in self_href {
            self.raw(part);
        }
        self.t("\"/>\n    <@link rel=\"up\" href=\"");
        for part in up_href {
            self.raw(part);
        }
        self.raw(b"\"/>");
    }

    fn related(&mut self, href: &[&[u8]]) {
        self.t("\n    <@link rel=\"related\" href=\"");
        for part in href {
            self.raw(part);
        }
        self.raw(b"\"/>");
    }

    fn title_content(&mut self, title: &str) {
        self.t("\n    <@title>");
        self.raw(title.as_bytes());
        self.t("</@title>\n    <@content>");
    }

    /// `</content>`, `<published>`, `<updated>`, `</entry>`.
    fn entry_tail(&mut self, published_ms: i64, updated_ms: i64) {
        self.t("\n    </@content>\n    <@published>");
        self.time(published_ms);
        self.t("</@published>\n    <@updated>");
        self.time(updated_ms);
        self.t("</@updated>\n  </@entry>");
    }

    /// A simple `<name>value</name>` line at resource-child depth.
    fn field(&mut self, name: &str, value: i64) {
        self.raw(b"\n        <");
        self.raw(self.style.espi);
        self.raw(name.as_bytes());
        self.raw(b">");
        self.num(value);
        self.raw(b"</");
        self.raw(self.style.espi);
        self.raw(name.as_bytes());
        self.raw(b">");
    }

    /// One IntervalBlock entry. Returns (readings, raw sum).
    #[allow(clippy::too_many_arguments)]
    fn interval_block(
        &mut self,
        p: &Point,
        d: &DayData,
        received: bool,
        mr_url: &[u8],
        id_seed: u64,
        published_ms: i64,
        updated_ms: i64,
    ) -> (u64, i128) {
        let n = d.n;
        let (values, qualities) = if received {
            (&d.received[..n], &d.q_received[..n])
        } else {
            (&d.delivered[..n], &d.q_delivered[..n])
        };
        let start0 = d.local.utc_start;
        let (id_buf, id_len) = i64_digits(start0);
        let id = &id_buf[..id_len];
        self.entry_head(
            id_seed,
            &[mr_url, b"/IntervalBlock/", id],
            &[mr_url, b"/IntervalBlock"],
        );
        self.t("\n    <@title>IntervalBlock_");
        self.raw(id);
        self.t(
            "</@title>\n    <@content>\n      <~IntervalBlock%>\n        <~interval>\n          <~duration>",
        );
        self.num(d.local.len);
        self.t("</~duration>\n          <~start>");
        self.raw(id);
        self.t("</~start>\n        </~interval>");

        self.tp_head.clear();
        self.tp_head.extend_from_slice(&self.fr.tp_head_a);
        push_i64(&mut self.tp_head, d.step);
        self.tp_head.extend_from_slice(&self.fr.tp_head_b);

        let with_cost = p.cost && !received;
        let with_tou = p.tou;
        let fr = &self.fr;
        let tp_head = &self.tp_head;
        let buf = &mut self.buf;
        buf.reserve(n * 400);
        let mut sum: i128 = 0;
        for i in 0..n {
            let v = values[i];
            sum += i128::from(v);
            buf.extend_from_slice(&fr.ir_open);
            if with_cost {
                buf.extend_from_slice(&fr.cost_open);
                push_i64(buf, p.cost_of(v, d.tou[i]));
                buf.extend_from_slice(&fr.cost_close);
            }
            match qualities[i] {
                Q_NONE => {}
                17 => buf.extend_from_slice(&fr.q17),
                8 => buf.extend_from_slice(&fr.q8),
                9 => buf.extend_from_slice(&fr.q9),
                Q_PAIR => buf.extend_from_slice(&fr.q_pair),
                _ => unreachable!("quality codes are 0, 8, 9, 17 or pair"),
            }
            buf.extend_from_slice(tp_head);
            push_i64(buf, d.start_of(i));
            buf.extend_from_slice(&fr.tp_close_value_open);
            push_i64(buf, v);
            buf.extend_from_slice(&fr.value_close);
            if with_tou {
                buf.extend_from_slice(&fr.tou[usize::from(d.tou[i])]);
            }
            buf.extend_from_slice(&fr.ir_close);
        }
        self.t("\n      </~IntervalBlock>");
        self.entry_tail(published_ms, updated_ms);
        (n as u64, sum)
    }
}

/// Totals of readings by flow slot (0: flowDirection 1, 1: flowDirection 19).
#[derive(Default)]
struct Stats {
    entries: u64,
    usage_points: u64,
    meter_readings: u64,
    interval_blocks: u64,
    correction_blocks: u64,
    usage_summaries: u64,
    readings: [u64; 2],
    sums: [i128; 2],
    superseded_readings: [u64; 2],
    superseded_sums: [i128; 2],
}

/// The whole generation run.
struct Gen<'a, W: Write> {
    o: Out<W>,
    opts: &'a GenOptions,
    feed_ms: i64,
    stats: Stats,
    day: DayData,
    corr: DayData,
    up_url: Vec<u8>,
    mr_url: [Vec<u8>; 2],
    rt_url: [Vec<u8>; 2],
    daily_totals: Vec<i64>,
}

/// Milliseconds since 1970 at which the utility first delivered local day `day`
/// (early the next morning).
fn first_delivery_ms(seed: u64, day: i64) -> i64 {
    let jitter = mix2(seed, day as u64) % 3_600_000;
    (utc_of_local_midnight(day + 1) + 4 * 3600) * 1000 + jitter as i64
}

impl<W: Write> Gen<'_, W> {
    fn header(&mut self) {
        let opts = self.opts;
        self.o.raw(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let root = self.o.style.root_open;
        self.o.raw(root);
        self.o.t("\n  <@id>urn:uuid:");
        self.o.uuid(mix2(opts.seed, 0xFEED));
        self.o.t("</@id>\n  <@title>");
        self.o.raw(match opts.kind {
            FeedKind::Bulk => b"Green Button Bulk Data",
            FeedKind::History => b"Green Button Usage History",
        });
        self.o.t("</@title>\n  <@updated>");
        self.o.time(self.feed_ms);
        self.o.t("</@updated>\n  <@link rel=\"self\" href=\"");
        self.o.raw(BASE.as_bytes());
        match opts.kind {
            FeedKind::Bulk => self.o.raw(b"/Batch/Bulk/"),
            FeedKind::History => self.o.raw(b"/Batch/Subscription/"),
        }
        self.o
            .num((mix2(opts.seed, 0xB01C) % 90_000 + 10_000) as i64);
        self.o.raw(b"\"/>");
    }

    /// The shared LocalTimeParameters entry.
    fn local_time_parameters(&mut self) {
        let opts = self.opts;
        let ltp = format!("{BASE}/LocalTimeParameters");
        self.o.entry_head(
            mix2(opts.seed, 0x17D),
            &[ltp.as_bytes(), b"/1"],
            &[ltp.as_bytes()],
        );
        self.o.title_content("DST For North America");
        self.o.t("\n      <~LocalTimeParameters%>");
        self.o.t("\n        <~dstEndRule>B40E2000</~dstEndRule>");
        self.o.field("dstOffset", crate::time::DST_OFFSET);
        self.o
            .t("\n        <~dstStartRule>360E2000</~dstStartRule>");
        self.o.field("tzOffset", crate::time::TZ_OFFSET);
        self.o.t("\n      </~LocalTimeParameters>");
        self.o.entry_tail(self.feed_ms, self.feed_ms);
        self.stats.entries += 1;
    }

    fn footer(&mut self) {
        self.o.t("\n</@feed>\n");
    }

    /// Every entry of usage point `index`: its metadata, its blocks, its
    /// summaries.
    fn point(&mut self, index: u64) -> io::Result<()> {
        let p = Point::new(self.opts, index);
        self.point_urls(&p);
        self.point_metadata(&p)?;
        self.point_blocks(&p)?;
        self.point_summaries(&p)
    }

    /// The hrefs of a usage point and of its meter readings and reading
    /// types, which the `point_*` writers below use.
    fn point_urls(&mut self, p: &Point) {
        let mrs = p.meter_readings();
        self.up_url.clear();
        self.up_url.extend_from_slice(BASE.as_bytes());
        self.up_url.extend_from_slice(b"/Subscription/");
        push_i64(&mut self.up_url, p.sub_id as i64);
        self.up_url.extend_from_slice(b"/UsagePoint/");
        push_i64(&mut self.up_url, p.up_id as i64);
        for m in 0..mrs {
            let u = &mut self.mr_url[m];
            u.clear();
            u.extend_from_slice(&self.up_url);
            u.extend_from_slice(b"/MeterReading/");
            push_hex(u, p.mr_ids[m], 15);
            let r = &mut self.rt_url[m];
            r.clear();
            r.extend_from_slice(BASE.as_bytes());
            r.extend_from_slice(b"/ReadingType/");
            push_hex(r, p.mr_ids[m] ^ 0x0A5A_5A5A_5A5A_5A5A, 15);
        }
    }

    /// The UsagePoint entry and the MeterReading and ReadingType entries.
    fn point_metadata(&mut self, p: &Point) -> io::Result<()> {
        let gas = p.meter.is_gas();
        let mrs = p.meter_readings();

        // UsagePoint.
        let o = &mut self.o;
        let up: &[u8] = &self.up_url;
        let sub_end = up.len() - up.iter().rev().position(|&c| c == b'/').unwrap_or(0);
        o.entry_head(mix3(p.seed, 1, 0), &[up], &[&up[..sub_end - 1]]);
        o.related(&[up, b"/MeterReading"]);
        o.related(&[up, b"/UsageSummary"]);
        o.related(&[BASE.as_bytes(), b"/LocalTimeParameters/1"]);
        o.title_content(if gas {
            "Gas Service"
        } else {
            "Electric Service"
        });
        o.t("\n      <~UsagePoint%>\n        <~ServiceCategory>\n          <~kind>");
        o.raw(if gas { b"1" } else { b"0" });
        o.t("</~kind>\n        </~ServiceCategory>\n        <~status>1</~status>\n      </~UsagePoint>");
        o.entry_tail(self.feed_ms, self.feed_ms);
        self.stats.entries += 1;
        self.stats.usage_points += 1;

        // MeterReading and ReadingType entries.
        for m in 0..mrs {
            let received = m == 1;
            let mr: &[u8] = &self.mr_url[m];
            let rt: &[u8] = &self.rt_url[m];
            let o = &mut self.o;
            o.entry_head(mix3(p.seed, 2, m as u64), &[mr], &[up, b"/MeterReading"]);
            o.related(&[mr, b"/IntervalBlock"]);
            o.related(&[rt]);
            o.title_content(match (p.meter, received) {
                (crate::model::Meter::Elec15, false) => "Energy Delivered 15 Minute Interval",
                (crate::model::Meter::Elec15, true) => "Energy Received 15 Minute Interval",
                (crate::model::Meter::ElecHourly, false) => "Energy Delivered Hourly",
                (crate::model::Meter::ElecHourly, true) => "Energy Received Hourly",
                (crate::model::Meter::GasDaily, _) => "Natural Gas Daily Usage",
            });
            o.t("\n      <~MeterReading%/>");
            o.entry_tail(self.feed_ms, self.feed_ms);

            let rt_base_len = rt.len() - 16;
            o.entry_head(mix3(p.seed, 3, m as u64), &[rt], &[&rt[..rt_base_len]]);
            o.title_content("Type of Meter Reading Data");
            o.t("\n      <~ReadingType%>");
            o.field("accumulationBehaviour", 4);
            o.field("commodity", if gas { 7 } else { 1 });
            o.field("currency", 840);
            o.field("dataQualifier", 12);
            o.field("flowDirection", if received { 19 } else { 1 });
            o.field("intervalLength", p.meter.interval());
            o.field("kind", 12);
            o.field("phase", if gas { 0 } else { 769 });
            o.field("powerOfTenMultiplier", p.mult);
            o.field("timeAttribute", 0);
            o.field("uom", if gas { 169 } else { 72 });
            o.t("\n      </~ReadingType>");
            o.entry_tail(self.feed_ms, self.feed_ms);
            self.stats.entries += 2;
            self.stats.meter_readings += 1;
        }
        self.o.maybe_flush()
    }

    /// The IntervalBlock entries (and the correction, if any); keeps the
    /// daily totals for the summaries.
    fn point_blocks(&mut self, p: &Point) -> io::Result<()> {
        let opts = self.opts;
        let mrs = p.meter_readings();

        // One IntervalBlock per local day per meter reading.
        self.daily_totals.clear();
        for k in 0..i64::from(opts.days) {
            let day = opts.start_day + k;
            fill_day(p, day, &mut self.day);
            let published = first_delivery_ms(opts.seed, day);
            for m in 0..mrs {
                let (n, sum) = self.o.interval_block(
                    p,
                    &self.day,
                    m == 1,
                    &self.mr_url[m],
                    mix3(p.seed, 4 + m as u64, day as u64),
                    published,
                    published,
                );
                self.stats.readings[m] += n;
                self.stats.sums[m] += sum;
                self.stats.interval_blocks += 1;
                self.stats.entries += 1;
            }
            self.daily_totals.push(self.day.delivered_total());
            self.o.maybe_flush()?;
        }

        // A correction: the day re-delivered with validated values, later <updated>.
        if let Some(c) = p.correction {
            fill_corrected_day(p, c.day, &mut self.corr);
            let (n, sum) = self.o.interval_block(
                p,
                &self.corr,
                false,
                &self.mr_url[0],
                mix3(p.seed, 4, c.day as u64),
                first_delivery_ms(opts.seed, c.day),
                self.feed_ms,
            );
            self.stats.readings[0] += n;
            self.stats.sums[0] += sum;
            self.stats.interval_blocks += 1;
            self.stats.correction_blocks += 1;
            self.stats.entries += 1;
            let k = c.day - opts.start_day;
            if (0..i64::from(opts.days)).contains(&k) {
                // The first delivery of that day is in this feed and is superseded.
                fill_day(p, c.day, &mut self.day);
                self.stats.superseded_readings[0] += self.day.n as u64;
                self.stats.superseded_sums[0] += i128::from(self.day.delivered_total());
            }
            self.o.maybe_flush()?;
        }
        Ok(())
    }

    /// The daily totals of a point whose blocks were not written just before.
    fn point_daily_totals(&mut self, p: &Point) {
        self.daily_totals.clear();
        for k in 0..i64::from(self.opts.days) {
            fill_day(p, self.opts.start_day + k, &mut self.day);
            self.daily_totals.push(self.day.delivered_total());
        }
    }

    /// UsageSummary entries: one per 30-day billing period closing inside
    /// the feed's days (from the daily totals of the point's blocks).
    fn point_summaries(&mut self, p: &Point) -> io::Result<()> {
        let opts = self.opts;
        let gas = p.meter.is_gas();
        let last_day = opts.start_day + i64::from(opts.days) - 1;
        let mut end = opts.start_day + (p.bill_offset + 29 - opts.start_day).rem_euclid(30);
        while end <= last_day {
            let first = end - 29;
            let mut total = 0i64;
            for day in first..=end {
                let k = day - opts.start_day;
                total += if k >= 0 {
                    self.daily_totals[k as usize]
                } else {
                    fill_day(p, day, &mut self.day);
                    self.day.delivered_total()
                };
            }
            let start = utc_of_local_midnight(first);
            let duration = utc_of_local_midnight(end + 1) - start;
            let stamp = first_delivery_ms(opts.seed, end) + 1_800_000;
            let up: &[u8] = &self.up_url;
            let o = &mut self.o;
            let (id, id_len) = i64_digits(start);
            o.entry_head(
                mix3(p.seed, 6, end as u64),
                &[up, b"/UsageSummary/", &id[..id_len]],
                &[up, b"/UsageSummary"],
            );
            o.title_content("Billing Summary");
            o.t("\n      <~UsageSummary%>\n        <~billingPeriod>\n          <~duration>");
            o.num(duration);
            o.t("</~duration>\n          <~start>");
            o.num(start);
            o.t("</~start>\n        </~billingPeriod>");
            o.field("billLastPeriod", p.bill_of(total));
            o.field("currency", 840);
            o.t("\n        <~overallConsumptionLastPeriod>\n          <~powerOfTenMultiplier>");
            o.num(p.mult);
            o.t("</~powerOfTenMultiplier>\n          <~uom>");
            o.raw(if gas { b"169" } else { b"72" });
            o.t("</~uom>\n          <~value>");
            o.num(total);
            o.t("</~value>\n        </~overallConsumptionLastPeriod>");
            o.field("qualityOfReading", 14);
            o.field("statusTimeStamp", stamp / 1000);
            o.field("commodity", if gas { 7 } else { 1 });
            o.t("\n        <~tariffProfile>");
            o.raw(match (gas, p.tou, p.net) {
                (true, _, _) => b"G1".as_slice(),
                (false, true, _) => b"E-TOU-C",
                (false, false, true) => b"E-1 NEM2",
                (false, false, false) => b"E-1",
            });
            o.t("</~tariffProfile>\n      </~UsageSummary>");
            o.entry_tail(stamp, stamp);
            self.stats.entries += 1;
            self.stats.usage_summaries += 1;
            end += 30;
        }
        self.o.maybe_flush()
    }
}

/// Write the feed for `opts`, calling `after_point(points_written, bytes_so_far)`
/// after each usage point; generation stops early when it returns `false`.
pub(crate) fn run<W: Write>(
    opts: &GenOptions,
    w: W,
    mut after_point: impl FnMut(u64, u64) -> bool,
) -> io::Result<GenSummary> {
    let style = Style::of(opts.prefix_style);
    let fr = Frags::new(&style);
    let feed_ms = (utc_of_local_midnight(opts.start_day + i64::from(opts.days)) + 6 * 3600) * 1000
        + (mix2(opts.seed, 0x71E) % 3_600_000) as i64;
    let mut g = Gen {
        o: Out {
            w,
            buf: Vec::with_capacity(FLUSH_AT + (1 << 16)),
            flushed: 0,
            style,
            fr,
            tp_head: Vec::with_capacity(128),
        },
        opts,
        feed_ms,
        stats: Stats::default(),
        day: DayData::default(),
        corr: DayData::default(),
        up_url: Vec::with_capacity(160),
        mr_url: [Vec::with_capacity(200), Vec::with_capacity(200)],
        rt_url: [Vec::with_capacity(120), Vec::with_capacity(120)],
        daily_totals: Vec::with_capacity(opts.days.min(4000) as usize),
    };
    g.header();
    match opts.order {
        EntryOrder::ByUsagePoint => {
            g.local_time_parameters();
            for index in 0..u64::from(opts.usage_points) {
                g.point(index)?;
                if !after_point(index + 1, g.o.total()) {
                    break;
                }
            }
        }
        EntryOrder::BlocksFirst => {
            let mut points = 0;
            for index in 0..u64::from(opts.usage_points) {
                let p = Point::new(opts, index);
                g.point_urls(&p);
                g.point_blocks(&p)?;
                points = index + 1;
                if !after_point(points, g.o.total()) {
                    break;
                }
            }
            g.local_time_parameters();
            for index in 0..points {
                let p = Point::new(opts, index);
                g.point_urls(&p);
                g.point_metadata(&p)?;
                g.point_daily_totals(&p);
                g.point_summaries(&p)?;
            }
        }
    }
    g.footer();
    g.o.flush_buf()?;
    g.o.w.flush()?;

    let s = &g.stats;
    let mut summary = GenSummary {
        bytes: g.o.flushed,
        entries: s.entries,
        usage_points: s.usage_points,
        meter_readings: s.meter_readings,
        interval_blocks: s.interval_blocks,
        correction_blocks: s.correction_blocks,
        readings: s.readings[0] + s.readings[1],
        usage_summaries: s.usage_summaries,
        ..GenSummary::default()
    };
    for (slot, flow) in [(0usize, 1i64), (1, 19)] {
        if s.readings[slot] > 0 {
            summary.readings_by_flow.insert(flow, s.readings[slot]);
            summary.raw_sum_by_flow.insert(flow, s.sums[slot]);
            summary
                .readings_latest_by_flow
                .insert(flow, s.readings[slot] - s.superseded_readings[slot]);
            summary
                .raw_sum_latest_by_flow
                .insert(flow, s.sums[slot] - s.superseded_sums[slot]);
        }
    }
    Ok(summary)
}

/// Bytes of the feed's closing tag.
pub(crate) fn footer_len(style: PrefixStyle) -> u64 {
    let mut v = Vec::new();
    Style::of(style).subst_into(&mut v, "\n</@feed>\n");
    v.len() as u64
}
