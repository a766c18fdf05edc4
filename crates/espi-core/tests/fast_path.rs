//! The IntervalReading scanner and the general quick-xml path give identical
//! results: same readings, entries, rejections and error positions.

mod common;

use espi_core::{parse_slice, ParseError, ParseOptions, Reading, Sink};
use espi_model::resource::{Entry, Resource};

#[derive(Default, PartialEq, Debug)]
struct Recorder {
    events: Vec<String>,
}

impl Sink for Recorder {
    fn reading(&mut self, r: &Reading) {
        self.events.push(format!("{r:?}"));
    }
    fn entry(&mut self, e: Entry, resources: Vec<Resource>) {
        self.events.push(format!("{e:?} {resources:?}"));
    }
    fn entry_rejected(&mut self, error: &ParseError, readings: u64) {
        self.events.push(format!("rejected {error:?} {readings}"));
    }
}

fn both_paths(xml: &[u8], skip: bool) -> (String, String) {
    let run = |fast: bool| {
        let mut rec = Recorder::default();
        let options = ParseOptions {
            skip_bad_entries: skip,
            fast_readings: fast,
            ..Default::default()
        };
        let result = parse_slice(xml, &options, &mut rec);
        format!("{result:?}\n{}", rec.events.join("\n"))
    };
    (run(true), run(false))
}

fn assert_same(xml: &[u8], label: &str) {
    for skip in [false, true] {
        let (fast, general) = both_paths(xml, skip);
        if fast != general {
            // The first line that differs, then both in full.
            let (f, g) = fast
                .lines()
                .zip(general.lines())
                .find(|(f, g)| f != g)
                .unwrap_or_default();
            panic!("{label} (skip {skip}): first difference:\nfast:    {f}\ngeneral: {g}\n\nfast:\n{fast}\ngeneral:\n{general}");
        }
    }
}

#[test]
fn every_sample_reads_the_same_on_both_paths() {
    for path in common::sample_files() {
        assert_same(&std::fs::read(&path).unwrap(), &path.display().to_string());
    }
}

const READING: &str = "<p:IntervalReading><p:cost>100</p:cost><p:ReadingQuality><p:quality>17</p:quality></p:ReadingQuality><p:timePeriod><p:duration>900</p:duration><p:start>1700000000</p:start></p:timePeriod><p:value>42</p:value><p:tou>1</p:tou></p:IntervalReading>";

fn feed(readings: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:p=\"http://naesb.org/espi\">\n\
         <a:entry><a:id>e1</a:id><a:link rel=\"up\" href=\"/UsagePoint/1/MeterReading/1/IntervalBlock\"/><a:content><p:IntervalBlock>\
         <p:interval><p:duration>86400</p:duration><p:start>1700000000</p:start></p:interval>\n{}\n</p:IntervalBlock></a:content></a:entry>\n\
         <a:entry><a:id>e2</a:id><a:content><p:IntervalBlock>{}</p:IntervalBlock></a:content></a:entry>\n</a:feed>\n",
        readings.join("\n  "),
        READING
    )
}

/// Variations of one reading that the scanner must either read exactly like
/// the general path or leave to it.
#[test]
fn variations_read_the_same_on_both_paths() {
    let variations = [
        READING.to_owned(),
        READING.replace("<p:value>42", "<p:value>  -42\r\n"),
        READING.replace("<p:value>42", "<p:value>4x2"),
        READING.replace("<p:value>42", "<p:value>99999999999999999999"),
        READING.replace("<p:value>42</p:value>", "<p:value/>"),
        READING.replace("<p:value>42", "<p:value>&#52;2"),
        READING.replace("<p:value>42", "<p:value><![CDATA[42]]>"),
        READING.replace("<p:value>42", "<p:value><!-- c -->42"),
        READING.replace("<p:cost>", "<p:cost xmlns:q=\"urn:x\">"),
        READING.replace("<p:tou>1", "<p:tou>4294967296"),
        READING.replace("<p:duration>900", "<p:duration>-900"),
        READING.replace("<p:start>1700000000", "<p:start>1700000000.25"),
        READING.replace("<p:start>1700000000", "<p:start>"),
        READING.replace("<p:timePeriod>", "<p:timePeriod>\n\t"),
        READING.replace(
            "</p:ReadingQuality>",
            "</p:ReadingQuality><p:ReadingQuality><p:quality>8</p:quality></p:ReadingQuality>",
        ),
        READING.replace("<p:tou>1</p:tou>", "<p:extra>1</p:extra>"),
        READING.replace(
            "<p:tou>1</p:tou>",
            "<q:tou xmlns:q=\"http://naesb.org/espi\">1</q:tou>",
        ),
        READING.replace("<p:tou>1</p:tou>", "<z:tou>1</z:tou>"),
        READING.replace("</p:IntervalReading>", "</p:IntervalReading >"),
        READING.replace("<p:value>42</p:value>", ""),
        READING.replace("<p:IntervalReading>", "<p:IntervalReading>\n<?pi x?>"),
    ];
    for (i, v) in variations.iter().enumerate() {
        let readings = vec![READING.to_owned(), v.clone(), READING.to_owned()];
        assert_same(feed(&readings).as_bytes(), &format!("variation {i}: {v}"));
    }
}

#[test]
fn errors_after_scanned_readings_keep_their_position() {
    let readings: Vec<String> = (0..50).map(|_| READING.to_owned()).collect();
    let mut xml = feed(&readings);
    xml.push_str("<second-root/>");
    assert_same(xml.as_bytes(), "second root");
    let truncated = &feed(&readings)[..2000];
    assert_same(truncated.as_bytes(), "truncated");
}

const ENVELOPE: &str = "<a:id>urn:uuid:1</a:id>\n  <a:link rel=\"self\" href=\"/UsagePoint/1/MeterReading/1\"/>\n  <a:link rel=\"up\" href=\"/UsagePoint/1/MeterReading\"></a:link>\n  <a:link rel=\"related\" href='/ReadingType/1'/>\n  <a:title>Energy Delivered</a:title>\n  <a:published>2024-06-01T00:00:00Z</a:published>\n  <a:updated>2024-06-02T00:00:00Z</a:updated>";

fn envelope_feed(envelope: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:p=\"http://naesb.org/espi\">\n\
         <a:entry>{ENVELOPE}<a:content><p:MeterReading/></a:content></a:entry>\n\
         <a:entry>\n  {envelope}\n  <a:content><p:ReadingType><p:uom>72</p:uom></p:ReadingType></a:content>\n  {envelope}\n</a:entry>\n\
         <a:entry>{ENVELOPE}<a:content><p:IntervalBlock>{READING}</p:IntervalBlock></a:content></a:entry>\n</a:feed>\n"
    )
}

/// Variations of an entry's Atom children that the envelope scanner must
/// either read exactly like the general path or leave to it.
#[test]
fn envelope_variations_read_the_same_on_both_paths() {
    let variations = [
        ENVELOPE.to_owned(),
        ENVELOPE.replace("<a:title>", "<a:title type=\"text\">"),
        ENVELOPE.replace("Energy Delivered", "Energy &amp; Delivered"),
        ENVELOPE.replace("Energy Delivered", "Energy &#x263A; Delivered"),
        ENVELOPE.replace("Energy Delivered", "<![CDATA[Energy]]> Delivered"),
        ENVELOPE.replace("Energy Delivered", "Énergie livrée ☺"),
        ENVELOPE.replace("urn:uuid:1", "  urn:uuid:1\r\n  "),
        ENVELOPE.replace("urn:uuid:1", "\n    urn:uuid:1\n  "),
        ENVELOPE.replace("Energy Delivered", " Energy\tDelivered "),
        ENVELOPE.replace("<a:title>Energy Delivered</a:title>", "<a:title/>"),
        ENVELOPE.replace("<a:title>Energy Delivered</a:title>", "<a:title></a:title>"),
        ENVELOPE.replace("/MeterReading/1\"", "/MeterReading/&#49;\""),
        ENVELOPE.replace("/MeterReading/1\"", "/MeterReading/\n1\""),
        ENVELOPE.replace("rel=\"self\"", "rel=\" self \""),
        ENVELOPE.replace("rel=\"self\"", "rel = 'self'"),
        ENVELOPE.replace("rel=\"self\"", "rel=\"self\" rel=\"up\""),
        ENVELOPE.replace(
            "rel=\"self\"",
            "rel=\"self\" type=\"espi-entry\" x=\"1\" x=\"2\"",
        ),
        ENVELOPE.replace("rel=\"self\"", "xmlns=\"urn:other\" rel=\"self\""),
        ENVELOPE.replace("rel=\"self\"", "a:rel=\"self\""),
        ENVELOPE.replace("rel=\"self\" href", "rel=\"self\"href"),
        ENVELOPE.replace("rel=\"up\"", "re\"=\"up\""),
        ENVELOPE.replace("rel=\"up\"", "r@l=\"up\" x-y.z_1=\"2\""),
        ENVELOPE.replace("rel=\"up\"", "1rel=\"up\""),
        ENVELOPE.replace("rel=\"self\"", ""),
        ENVELOPE.replace("></a:link>", ">text</a:link>"),
        ENVELOPE.replace("<a:id>urn:uuid:1</a:id>", "<id>urn:uuid:1</id>"),
        ENVELOPE.replace(
            "<a:id>urn:uuid:1</a:id>",
            "<b:id xmlns:b=\"http://www.w3.org/2005/Atom\">x</b:id>",
        ),
        ENVELOPE.replace("<a:title>", "<!-- c --><a:title>"),
        ENVELOPE.replace("<a:title>", "<?pi x?><a:title>"),
        ENVELOPE.replace("<a:title>", "stray text<a:title>"),
        ENVELOPE.replace("</a:title>", "</a:title >"),
        ENVELOPE.replace("<a:published>", "<a:extra>1</a:extra><a:published>"),
        ENVELOPE.replace("</a:updated>", "</a:updatedx>"),
        format!("{ENVELOPE}<a:title>second title</a:title>"),
    ];
    for (i, v) in variations.iter().enumerate() {
        assert_same(
            envelope_feed(v).as_bytes(),
            &format!("envelope variation {i}: {v}"),
        );
    }
    // Cut anywhere in an envelope: the same error at the same position.
    let xml = envelope_feed(ENVELOPE);
    let second = xml.find("<a:entry>\n").unwrap();
    for cut in (second..second + 400).step_by(7) {
        assert_same(&xml.as_bytes()[..cut], &format!("cut at {cut}"));
    }
}

/// Blocks spelled with different prefixes, one after another (the scanner
/// spells its tags once per prefix and keeps them while the prefix stays):
/// every reading, as the general path reads it.
#[test]
fn blocks_with_changing_prefixes_read_the_same_on_both_paths() {
    let block = |p: &str, value: u32| {
        let q = if p.is_empty() {
            String::new()
        } else {
            format!("{p}:")
        };
        let xmlns = if p.is_empty() {
            " xmlns=\"http://naesb.org/espi\"".to_owned()
        } else {
            format!(" xmlns:{p}=\"http://naesb.org/espi\"")
        };
        format!(
            "<a:entry><a:content><{q}IntervalBlock{xmlns}><{q}IntervalReading><{q}timePeriod>\
             <{q}duration>900</{q}duration><{q}start>{}</{q}start></{q}timePeriod>\
             <{q}value>{value}</{q}value></{q}IntervalReading></{q}IntervalBlock></a:content></a:entry>",
            1_700_000_000 + 900 * value
        )
    };
    let entries: String = [("p", 1), ("p", 2), ("q", 3), ("", 4), ("p", 5), ("pq", 6)]
        .iter()
        .map(|&(p, v)| block(p, v))
        .collect();
    let xml = format!("<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\">{entries}</a:feed>");
    assert_same(xml.as_bytes(), "changing prefixes");
    let mut rec = Recorder::default();
    parse_slice(xml.as_bytes(), &ParseOptions::default(), &mut rec).unwrap();
    let values: Vec<String> = rec
        .events
        .iter()
        .filter(|e| e.starts_with("Reading"))
        .map(|e| {
            e.split("value: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        values,
        ["Some(1)", "Some(2)", "Some(3)", "Some(4)", "Some(5)", "Some(6)"]
    );
}

const FIELDS: &str = "\n    <p:ServiceCategory>\n      <p:kind>0</p:kind>\n    </p:ServiceCategory>\n    <p:status> 1 </p:status>\n    <p:flag/>\n    <p:blank></p:blank>\n    <p:costAdditionalDetailLastPeriod><p:amount>-250</p:amount><p:note>Énergie ☺</p:note></p:costAdditionalDetailLastPeriod>\n  ";

fn fields_feed(fields: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\" xmlns:p=\"http://naesb.org/espi\">\n\
         <a:entry>{ENVELOPE}<a:content><p:UsagePoint>{FIELDS}</p:UsagePoint></a:content></a:entry>\n\
         <a:entry>{ENVELOPE}\n  <a:content><p:UsageSummary>{fields}</p:UsageSummary></a:content>\n</a:entry>\n\
         <a:entry>{ENVELOPE}<a:content><UsagePoint xmlns=\"http://naesb.org/espi\">{f}</UsagePoint></a:content></a:entry>\n\
         <a:entry>{ENVELOPE}<a:content><p:IntervalBlock>{READING}</p:IntervalBlock></a:content></a:entry>\n</a:feed>\n",
        f = fields.replace("p:", "")
    )
}

/// Variations of a resource's fields that the field scanner must either
/// read exactly like the general path or leave to it (errors included).
#[test]
fn resource_field_variations_read_the_same_on_both_paths() {
    let variations = [
        FIELDS.to_owned(),
        FIELDS.replace("<p:kind>", "<p:kind unit=\"x\">"),
        FIELDS.replace(
            "<p:ServiceCategory>",
            "<p:ServiceCategory xmlns:p=\"urn:other\">",
        ),
        FIELDS.replace(
            "<p:ServiceCategory>",
            "<p:ServiceCategory xmlns:q=\"urn:q\">",
        ),
        FIELDS.replace("<p:kind>0</p:kind>", "<q:kind xmlns:q=\"urn:q\">0</q:kind>"),
        FIELDS.replace("<p:kind>0</p:kind>", "<q:kind>0</q:kind>"),
        FIELDS.replace("<p:kind>0</p:kind>", "<kind>0</kind>"),
        FIELDS.replace("<p:kind>0</p:kind>", "<a:kind>0</a:kind>"),
        FIELDS.replace(">0<", ">0 &amp; 1<"),
        FIELDS.replace(">0<", ">&#48;<"),
        FIELDS.replace(">0<", "><![CDATA[0]]><"),
        FIELDS.replace(">0<", "><!-- c -->0<"),
        FIELDS.replace(">0<", "><?pi?>0<"),
        FIELDS.replace(">0<", ">0\r\n<"),
        FIELDS.replace(">0<", ">\n  0\t<"),
        FIELDS.replace(">0<", "><"),
        FIELDS.replace(">0<", ">&undefined;<"),
        FIELDS.replace("</p:kind>", "</p:kind >"),
        FIELDS.replace("</p:kind>", "</p:kinds>"),
        FIELDS.replace("</p:kind>", ""),
        FIELDS.replace("<p:kind>", "<p:kind >"),
        FIELDS.replace("<p:flag/>", "<p:flag />"),
        FIELDS.replace("<p:flag/>", "<p:flag a='1'/>"),
        FIELDS.replace("<p:ServiceCategory>", "<p:ServiceCategory>text"),
        FIELDS.replace("</p:ServiceCategory>", "text</p:ServiceCategory>"),
        FIELDS.replace("<p:status>", "<p:status><p:status>1</p:status>"),
        FIELDS.replace(
            "<p:status> 1 </p:status>",
            "<p:status>1</p:status><p:status>2</p:status>",
        ),
        FIELDS
            .replace("<p:status>", "<p:1status>")
            .replace("</p:status>", "</p:1status>"),
        FIELDS
            .replace("<p:status>", "<p:sta-tus.x_y>")
            .replace("</p:status>", "</p:sta-tus.x_y>"),
        FIELDS
            .replace("<p:status>", "<p:état>")
            .replace("</p:status>", "</p:état>"),
        FIELDS
            .replace("<p:status>", "<p:a:b>")
            .replace("</p:status>", "</p:a:b>"),
        format!("<p:x>{}1{}</p:x>", "<p:d>".repeat(20), "</p:d>".repeat(20)),
        format!("text{FIELDS}"),
        format!("{FIELDS}<p:more><p:x>1</p:x>"),
        "<p:big>".to_owned() + &"7".repeat(espi_core::MAX_TEXT_BYTES + 1) + "</p:big>",
    ];
    for (i, v) in variations.iter().enumerate() {
        let label = format!("field variation {i}: {}", &v[..v.len().min(300)]);
        assert_same(fields_feed(v).as_bytes(), &label);
    }
    // Cut anywhere in the fields: the same error at the same position.
    let xml = fields_feed(FIELDS);
    let second = xml.find("<p:UsageSummary>").unwrap();
    for cut in second..second + FIELDS.len() + 20 {
        assert_same(&xml.as_bytes()[..cut], &format!("cut at {cut}"));
    }
}

/// Samples damaged at random places in their envelopes and metadata
/// resources (bytes deleted, doubled or replaced by markup characters):
/// whatever the damage, both paths read the same values and report the
/// same errors.
#[test]
fn damaged_resources_read_the_same_on_both_paths() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    const DAMAGE: &[u8] = b"<>/&:\"' \r\n=!?-xp";
    let mut tried = 0;
    for path in common::sample_files() {
        let xml = std::fs::read(&path).unwrap();
        if xml.len() > 400_000 {
            continue;
        }
        // Places in entries outside their IntervalBlocks: the envelopes
        // and the other resources, from each `content>` on.
        let text = String::from_utf8_lossy(&xml);
        let mut places = Vec::new();
        for (start, _) in text.match_indices("content>") {
            let stop = text[start..]
                .find("IntervalBlock")
                .map_or(text.len(), |b| start + b)
                .min(start + 600)
                .min(xml.len());
            places.extend(start..stop);
        }
        if places.is_empty() {
            continue;
        }
        for _ in 0..40 {
            let at = places[next(places.len())];
            let mut damaged = xml.clone();
            match next(3) {
                0 => {
                    damaged.remove(at);
                }
                1 => damaged.insert(at, xml[at]),
                _ => damaged[at] = DAMAGE[next(DAMAGE.len())],
            }
            assert_same(&damaged, &format!("{} damaged at {at}", path.display()));
            tried += 1;
        }
    }
    assert!(tried >= 12);
}
