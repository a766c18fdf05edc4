//! The small tables: usage points, meter readings, reading types and every
//! other entry, kept whole while readings stream past.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use espi_model::codes;
use espi_model::links::{normalise_href, usage_point_key_of_meter_reading};
use espi_model::numbers::{parse_i64, parse_rfc3339_micros};
use espi_model::resource::{Entry, Namespace, ReadingAttributes, Resource, READING_TYPE_FIELDS};
use espi_model::units::normalise;

use crate::converter::{Interner, SeriesStats};
use crate::schema::timestamp_utc;

#[derive(Debug)]
pub(crate) struct MeterReadingMeta {
    pub(crate) key: String,
    related: Vec<String>,
    entry: Entry,
}

#[derive(Debug)]
pub(crate) struct ReadingTypeMeta {
    pub(crate) attrs: ReadingAttributes,
    entry: Entry,
    resource: Resource,
}

/// A non-IntervalBlock resource with its envelope.
#[derive(Debug)]
struct EntryRecord {
    entry: Entry,
    resource: Resource,
}

/// Metadata gathered from one input.
#[derive(Debug, Default)]
pub(crate) struct Metadata {
    meter_readings: HashMap<String, MeterReadingMeta>,
    meter_reading_order: Vec<String>,
    by_related: HashMap<String, String>,
    reading_types: HashMap<String, ReadingTypeMeta>,
    reading_type_order: Vec<String>,
    usage_points: Vec<usize>,
    records: Vec<EntryRecord>,
    pub(crate) warnings: Vec<String>,
}

/// The metadata tables of one input, as Arrow batches.
#[derive(Debug)]
pub struct MetadataTables {
    /// One row per UsagePoint (entries, and identities readings refer to).
    pub usage_points: RecordBatch,
    /// One row per MeterReading, with its reading count and date span.
    pub meter_readings: RecordBatch,
    /// One row per ReadingType, every field that appears.
    pub reading_types: RecordBatch,
    /// One row per resource other than IntervalBlock, with its fields as JSON.
    pub entries: RecordBatch,
    /// Problems found in metadata (for example a non-numeric ReadingType field).
    pub warnings: Vec<String>,
}

impl Metadata {
    pub(crate) fn add_entry(&mut self, source: &str, entry: &Entry, resources: Vec<Resource>) {
        for resource in resources {
            if resource.is("IntervalBlock") {
                continue;
            }
            let self_key = entry
                .self_href
                .as_deref()
                .map(|h| normalise_href(h).to_owned());
            match (resource.name.as_str(), &self_key) {
                ("MeterReading", Some(key)) => {
                    let related: Vec<String> = entry
                        .related_hrefs
                        .iter()
                        .map(|h| normalise_href(h).to_owned())
                        .collect();
                    for r in &related {
                        self.by_related
                            .entry(r.clone())
                            .or_insert_with(|| key.clone());
                    }
                    if !self.meter_readings.contains_key(key) {
                        self.meter_reading_order.push(key.clone());
                    }
                    self.meter_readings.insert(
                        key.clone(),
                        MeterReadingMeta {
                            key: key.clone(),
                            related,
                            entry: entry.clone(),
                        },
                    );
                }
                ("ReadingType", Some(key)) => {
                    let attrs = match ReadingAttributes::from_reading_type(&resource) {
                        Ok(a) => a,
                        Err((field, e)) => {
                            self.warnings.push(format!(
                                "{source}: entry #{} ReadingType {key}: {field}: {e}; the field is ignored",
                                entry.index
                            ));
                            lenient_attributes(&resource)
                        }
                    };
                    if let Some(existing) = self.reading_types.get(key) {
                        if existing.resource.fields != resource.fields {
                            let newer = is_newer(entry, &existing.entry);
                            self.warnings.push(format!(
                                "{source}: entry #{} redefines ReadingType {key} (first at entry #{}); {}",
                                entry.index,
                                existing.entry.index,
                                if newer { "its later `updated` wins" } else { "the first definition is kept (no later `updated`)" }
                            ));
                            if !newer {
                                self.records.push(EntryRecord {
                                    entry: entry.clone(),
                                    resource,
                                });
                                continue;
                            }
                        }
                    } else {
                        self.reading_type_order.push(key.clone());
                    }
                    self.reading_types.insert(
                        key.clone(),
                        ReadingTypeMeta {
                            attrs,
                            entry: entry.clone(),
                            resource: resource.clone(),
                        },
                    );
                }
                ("UsagePoint", _) => self.usage_points.push(self.records.len()),
                _ => {}
            }
            self.records.push(EntryRecord {
                entry: entry.clone(),
                resource,
            });
        }
    }

    pub(crate) fn meter_reading(&self, key: &str) -> Option<&MeterReadingMeta> {
        self.meter_readings.get(key)
    }

    pub(crate) fn meter_reading_by_related(&self, href: &str) -> Option<&MeterReadingMeta> {
        self.by_related
            .get(href)
            .and_then(|k| self.meter_readings.get(k))
    }

    pub(crate) fn reading_type_of(&self, mr: &MeterReadingMeta) -> Option<&ReadingTypeMeta> {
        mr.related.iter().find_map(|h| self.reading_types.get(h))
    }

    fn reading_type_key_of<'a>(&self, mr: &'a MeterReadingMeta) -> Option<&'a str> {
        mr.related
            .iter()
            .find(|h| self.reading_types.contains_key(h.as_str()))
            .map(String::as_str)
    }

    pub(crate) fn tables(
        &self,
        source: &str,
        keys: &Interner,
        series: &HashMap<u32, SeriesStats>,
    ) -> MetadataTables {
        MetadataTables {
            usage_points: self.usage_points_table(source, keys, series),
            meter_readings: self.meter_readings_table(source, keys, series),
            reading_types: self.reading_types_table(source),
            entries: self.entries_table(source),
            warnings: self.warnings.clone(),
        }
    }

    fn usage_points_table(
        &self,
        source: &str,
        keys: &Interner,
        series: &HashMap<u32, SeriesStats>,
    ) -> RecordBatch {
        let mut rows: Vec<(String, Option<&EntryRecord>)> = Vec::new();
        let mut seen: HashMap<String, ()> = HashMap::new();
        for &i in &self.usage_points {
            let rec = &self.records[i];
            let key = rec
                .entry
                .self_href
                .as_deref()
                .map(|h| normalise_href(h).to_owned())
                .unwrap_or_default();
            seen.insert(key.clone(), ());
            rows.push((key, Some(rec)));
        }
        let mut referenced: Vec<&String> = series
            .values()
            .map(|s| &keys.strings[s.usage_point as usize])
            .filter(|k| !seen.contains_key(k.as_str()))
            .collect();
        referenced.sort();
        referenced.dedup();
        rows.extend(referenced.into_iter().map(|k| (k.clone(), None)));

        let service_kind: Vec<Option<i64>> = rows
            .iter()
            .map(|(_, r)| r.and_then(|r| int_field(&r.resource, "ServiceCategory/kind")))
            .collect();
        let mut columns = envelope_columns(rows.iter().map(|(_, r)| r.map(|r| &r.entry)));
        let mut fields = vec![Field::new("usage_point", DataType::Utf8, false)];
        fields.extend(envelope_fields());
        let mut all: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(k, _)| k.as_str()),
        ))];
        all.append(&mut columns);
        fields.push(Field::new("service_kind", DataType::Int32, true));
        all.push(Arc::new(Int32Array::from_iter(
            service_kind.iter().map(|v| v.map(|v| v as i32)),
        )));
        fields.push(Field::new("service_kind_name", DataType::Utf8, true));
        all.push(Arc::new(StringArray::from_iter(
            service_kind
                .iter()
                .map(|v| v.and_then(codes::service_kind_name)),
        )));
        for (name, path) in [("status", "status"), ("role_flags", "roleFlags")] {
            fields.push(Field::new(name, DataType::Utf8, true));
            all.push(Arc::new(StringArray::from_iter(
                rows.iter()
                    .map(|(_, r)| r.and_then(|r| r.resource.field(path))),
            )));
        }
        fields.push(Field::new("fields", DataType::Utf8, true));
        all.push(Arc::new(StringArray::from_iter(
            rows.iter()
                .map(|(_, r)| r.map(|r| fields_json(&r.resource.fields))),
        )));
        push_source(&mut fields, &mut all, source, rows.len());
        batch(fields, all)
    }

    fn meter_readings_table(
        &self,
        source: &str,
        keys: &Interner,
        series: &HashMap<u32, SeriesStats>,
    ) -> RecordBatch {
        let mut ids: Vec<String> = self.meter_reading_order.clone();
        let mut extra: Vec<String> = series
            .keys()
            .map(|&id| keys.strings[id as usize].clone())
            .filter(|k| !self.meter_readings.contains_key(k))
            .collect();
        extra.sort();
        ids.extend(extra);
        let stats: Vec<Option<SeriesStats>> = ids
            .iter()
            .map(|k| keys.get(k).and_then(|id| series.get(&id).copied()))
            .collect();
        let metas: Vec<Option<&MeterReadingMeta>> =
            ids.iter().map(|k| self.meter_readings.get(k)).collect();

        let mut fields = vec![
            Field::new("meter_reading", DataType::Utf8, false),
            Field::new("usage_point", DataType::Utf8, false),
            Field::new("reading_type", DataType::Utf8, true),
        ];
        let mut all: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(ids.iter())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|k| usage_point_key_of_meter_reading(k)),
            )),
            Arc::new(StringArray::from_iter(
                metas
                    .iter()
                    .map(|m| m.and_then(|m| self.reading_type_key_of(m))),
            )),
        ];
        fields.extend(envelope_fields());
        all.extend(envelope_columns(metas.iter().map(|m| m.map(|m| &m.entry))));
        fields.push(Field::new("readings", DataType::UInt64, false));
        all.push(Arc::new(UInt64Array::from_iter_values(
            stats.iter().map(|s| s.map_or(0, |s| s.readings)),
        )));
        fields.push(Field::new("first_start", timestamp_utc(), true));
        all.push(Arc::new(
            TimestampMicrosecondArray::from_iter(stats.iter().map(|s| s.map(|s| s.first_start_us)))
                .with_timezone("UTC"),
        ));
        fields.push(Field::new("last_start", timestamp_utc(), true));
        all.push(Arc::new(
            TimestampMicrosecondArray::from_iter(stats.iter().map(|s| s.map(|s| s.last_start_us)))
                .with_timezone("UTC"),
        ));
        push_source(&mut fields, &mut all, source, ids.len());
        batch(fields, all)
    }

    fn reading_types_table(&self, source: &str) -> RecordBatch {
        let rts: Vec<(&String, &ReadingTypeMeta)> = self
            .reading_type_order
            .iter()
            .map(|k| (k, &self.reading_types[k]))
            .collect();
        let mut fields = vec![Field::new("reading_type", DataType::Utf8, false)];
        let mut all: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
            rts.iter().map(|(k, _)| k.as_str()),
        ))];
        fields.extend(envelope_fields());
        all.extend(envelope_columns(rts.iter().map(|(_, m)| Some(&m.entry))));
        for (path, column) in READING_TYPE_FIELDS {
            fields.push(Field::new(*column, DataType::Int64, true));
            all.push(Arc::new(Int64Array::from_iter(
                rts.iter().map(|(_, m)| int_field(&m.resource, path)),
            )));
        }
        let named: [(&str, CodeName, &str); 7] = [
            ("uom_symbol", codes::uom_symbol, "uom"),
            (
                "flow_direction_name",
                codes::flow_direction_name,
                "flowDirection",
            ),
            ("kind_name", codes::measurement_kind_name, "kind"),
            ("commodity_name", codes::commodity_name, "commodity"),
            (
                "accumulation_behaviour_name",
                codes::accumulation_behaviour_name,
                "accumulationBehaviour",
            ),
            (
                "data_qualifier_name",
                codes::data_qualifier_name,
                "dataQualifier",
            ),
            ("currency_code", codes::currency_code, "currency"),
        ];
        for (column, name_of, path) in named {
            fields.push(Field::new(column, DataType::Utf8, true));
            all.push(Arc::new(StringArray::from_iter(
                rts.iter()
                    .map(|(_, m)| int_field(&m.resource, path).and_then(name_of)),
            )));
        }
        fields.push(Field::new("unit", DataType::Utf8, true));
        all.push(Arc::new(StringArray::from_iter(rts.iter().map(
            |(_, m)| {
                m.attrs.uom.map(|u| {
                    normalise(u)
                        .symbol()
                        .map_or_else(|| format!("uom:{u}"), str::to_owned)
                })
            },
        ))));
        fields.push(Field::new("other_fields", DataType::Utf8, true));
        all.push(Arc::new(StringArray::from_iter(rts.iter().map(
            |(_, m)| {
                let other: Vec<(String, String)> = m
                    .resource
                    .fields
                    .iter()
                    .filter(|(p, _)| !READING_TYPE_FIELDS.iter().any(|(k, _)| k == p))
                    .cloned()
                    .collect();
                (!other.is_empty()).then(|| fields_json(&other))
            },
        ))));
        push_source(&mut fields, &mut all, source, rts.len());
        batch(fields, all)
    }

    fn entries_table(&self, source: &str) -> RecordBatch {
        let recs = &self.records;
        let mut fields = vec![
            Field::new("resource", DataType::Utf8, false),
            Field::new("namespace", DataType::Utf8, false),
        ];
        let mut all: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                recs.iter().map(|r| r.resource.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                recs.iter().map(|r| namespace_name(r.resource.namespace)),
            )),
        ];
        fields.extend(envelope_fields());
        all.extend(envelope_columns(recs.iter().map(|r| Some(&r.entry))));
        fields.push(Field::new("fields", DataType::Utf8, false));
        all.push(Arc::new(StringArray::from_iter_values(
            recs.iter().map(|r| fields_json(&r.resource.fields)),
        )));
        push_source(&mut fields, &mut all, source, recs.len());
        batch(fields, all)
    }
}

/// Does `candidate` replace `current`: a strictly later Atom `updated`.
fn is_newer(candidate: &Entry, current: &Entry) -> bool {
    let time = |e: &Entry| e.updated.as_deref().and_then(parse_rfc3339_micros);
    match (time(candidate), time(current)) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A code table lookup (see [`espi_model::codes`]).
type CodeName = fn(i64) -> Option<&'static str>;

fn lenient_attributes(rt: &Resource) -> ReadingAttributes {
    ReadingAttributes {
        power_of_ten_multiplier: int_field(rt, "powerOfTenMultiplier").unwrap_or(0),
        uom: int_field(rt, "uom"),
        flow_direction: int_field(rt, "flowDirection"),
        interval_length: int_field(rt, "intervalLength"),
    }
}

fn int_field(r: &Resource, path: &str) -> Option<i64> {
    r.field(path).and_then(|v| parse_i64(v.as_bytes()).ok())
}

fn namespace_name(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Espi => "espi",
        Namespace::Customer => "customer",
        Namespace::Atom => "atom",
        Namespace::None => "none",
        _ => "other",
    }
}

/// Fields as a JSON object; a path seen more than once maps to an array.
fn fields_json(fields: &[(String, String)]) -> String {
    let mut map = serde_json::Map::new();
    for (path, value) in fields {
        match map.get_mut(path) {
            None => {
                map.insert(path.clone(), serde_json::Value::String(value.clone()));
            }
            Some(serde_json::Value::Array(items)) => {
                items.push(serde_json::Value::String(value.clone()))
            }
            Some(existing) => {
                let first = existing.take();
                *existing =
                    serde_json::Value::Array(vec![first, serde_json::Value::String(value.clone())]);
            }
        }
    }
    serde_json::Value::Object(map).to_string()
}

fn envelope_fields() -> Vec<Field> {
    vec![
        Field::new("entry_id", DataType::Utf8, true),
        Field::new("entry_index", DataType::UInt64, true),
        Field::new("entry_offset", DataType::UInt64, true),
        Field::new("self_href", DataType::Utf8, true),
        Field::new("up_href", DataType::Utf8, true),
        Field::new(
            "related_hrefs",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        ),
        Field::new("title", DataType::Utf8, true),
        Field::new("published", timestamp_utc(), true),
        Field::new("updated", timestamp_utc(), true),
        Field::new("published_text", DataType::Utf8, true),
        Field::new("updated_text", DataType::Utf8, true),
    ]
}

fn envelope_columns<'a>(entries: impl Iterator<Item = Option<&'a Entry>> + Clone) -> Vec<ArrayRef> {
    let e = entries.collect::<Vec<_>>();
    let text = |f: fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(e.iter().map(|x| x.and_then(f))))
    };
    let time = |f: fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter(
                e.iter()
                    .map(|x| x.and_then(f).and_then(parse_rfc3339_micros)),
            )
            .with_timezone("UTC"),
        )
    };
    let mut related = ListBuilder::new(StringBuilder::new());
    for x in &e {
        match x {
            Some(entry) => {
                for h in &entry.related_hrefs {
                    related.values().append_value(h.trim());
                }
                related.append(true);
            }
            None => related.append(false),
        }
    }
    vec![
        text(|x| x.id.as_deref()),
        Arc::new(UInt64Array::from_iter(e.iter().map(|x| x.map(|x| x.index)))),
        Arc::new(UInt64Array::from_iter(
            e.iter().map(|x| x.map(|x| x.offset)),
        )),
        text(|x| x.self_href.as_deref().map(str::trim)),
        text(|x| x.up_href.as_deref().map(str::trim)),
        Arc::new(related.finish()),
        text(|x| x.title.as_deref()),
        time(|x| x.published.as_deref()),
        time(|x| x.updated.as_deref()),
        text(|x| x.published.as_deref()),
        text(|x| x.updated.as_deref()),
    ]
}

fn push_source(fields: &mut Vec<Field>, all: &mut Vec<ArrayRef>, source: &str, rows: usize) {
    fields.push(Field::new("source_file", DataType::Utf8, false));
    all.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(source, rows),
    )));
}

fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("metadata columns match their fields")
}
