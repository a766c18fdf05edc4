//! The metadata of an Atom entry and the ESPI resources it carries.
//!
//! Readings stream past without being kept; everything else in a feed is
//! small and is kept as a [`Resource`]: its element name and its leaf fields
//! (path below the resource element, text), from which typed values are read
//! on demand. Unknown elements are therefore never lost.

use crate::numbers::{parse_i64, NumberError};

/// Where a resource element's name is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Namespace {
    /// `http://naesb.org/espi`
    Espi,
    /// `http://naesb.org/espi/customer`
    Customer,
    /// `http://www.w3.org/2005/Atom` (seen on resources in real files)
    Atom,
    /// No namespace.
    None,
    /// Any other namespace.
    Other,
}

/// The Atom envelope of one entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Atom `id`.
    pub id: Option<String>,
    /// Atom `title`.
    pub title: Option<String>,
    /// `link rel="self"` href, as written.
    pub self_href: Option<String>,
    /// `link rel="up"` href, as written.
    pub up_href: Option<String>,
    /// Every `link rel="related"` href, as written.
    pub related_hrefs: Vec<String>,
    /// Atom `published`, as written.
    pub published: Option<String>,
    /// Atom `updated`, as written.
    pub updated: Option<String>,
    /// Byte offset of the entry's start tag in its input.
    pub offset: u64,
    /// Byte offset just after the entry's end tag, when the input is read
    /// from memory (and the entry is not an empty element).
    pub end_offset: Option<u64>,
    /// Position of the entry in its input, from 0.
    pub index: u64,
}

/// One resource found inside an entry's `content`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Local name of the resource element (`ReadingType`, `UsagePoint`, ...).
    pub name: String,
    /// Namespace of the resource element.
    pub namespace: Namespace,
    /// Leaf elements below the resource: (`/`-joined local names, trimmed text),
    /// in document order. Elements with attributes only keep them as
    /// `path@attr`.
    pub fields: Vec<(String, String)>,
    /// Number of IntervalReadings (IntervalBlock only).
    pub readings: u64,
}

impl Resource {
    /// A new resource with no fields.
    pub fn new(name: &str, namespace: Namespace) -> Self {
        Resource {
            name: name.to_owned(),
            namespace,
            fields: Vec::new(),
            readings: 0,
        }
    }

    /// The text of the first field at `path`.
    ///
    /// ```
    /// use espi_model::resource::{Namespace, Resource};
    /// let mut rt = Resource::new("ReadingType", Namespace::Espi);
    /// rt.fields.push(("uom".into(), "72".into()));
    /// assert_eq!(rt.field("uom"), Some("72"));
    /// assert_eq!(rt.int("uom"), Some(Ok(72)));
    /// assert_eq!(rt.int("kind"), None);
    /// ```
    pub fn field(&self, path: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }

    /// The first field at `path` as an integer: `None` when absent.
    pub fn int(&self, path: &str) -> Option<Result<i64, NumberError>> {
        self.field(path).map(|v| parse_i64(v.as_bytes()))
    }

    /// Is this the resource named `name` (in any namespace)?
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }
}

/// The ReadingType fields espi knows by name: (element path, column name).
/// Fields outside this list are still kept (see [`Resource::fields`]).
pub const READING_TYPE_FIELDS: &[(&str, &str)] = &[
    ("accumulationBehaviour", "accumulation_behaviour"),
    ("commodity", "commodity"),
    ("consumptionTier", "consumption_tier"),
    ("currency", "currency"),
    ("dataQualifier", "data_qualifier"),
    ("defaultQuality", "default_quality"),
    ("flowDirection", "flow_direction"),
    ("intervalLength", "interval_length"),
    ("kind", "kind"),
    ("phase", "phase"),
    ("powerOfTenMultiplier", "power_of_ten_multiplier"),
    ("timeAttribute", "time_attribute"),
    ("tou", "tou"),
    ("uom", "uom"),
    ("cpp", "cpp"),
    ("measuringPeriod", "measuring_period"),
    ("interharmonic/numerator", "interharmonic_numerator"),
    ("interharmonic/denominator", "interharmonic_denominator"),
    ("argument/numerator", "argument_numerator"),
    ("argument/denominator", "argument_denominator"),
    ("aggregate", "aggregate"),
];

/// The attributes of a ReadingType that every reading linked to it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReadingAttributes {
    /// `powerOfTenMultiplier` (0 when the element is absent).
    pub power_of_ten_multiplier: i64,
    /// `uom` code.
    pub uom: Option<i64>,
    /// `flowDirection` code.
    pub flow_direction: Option<i64>,
    /// `intervalLength` in seconds.
    pub interval_length: Option<i64>,
    /// `accumulationBehaviour` code (4 deltaData, 3 cumulative, ...).
    pub accumulation_behaviour: Option<i64>,
    /// `tou` code of the whole series, when the ReadingType has one.
    pub tou: Option<i64>,
}

impl ReadingAttributes {
    /// Read the attributes of a ReadingType resource. A field that is present
    /// but not an integer is an error naming the field.
    ///
    /// ```
    /// use espi_model::resource::{Namespace, ReadingAttributes, Resource};
    /// let mut rt = Resource::new("ReadingType", Namespace::Espi);
    /// rt.fields.push(("powerOfTenMultiplier".into(), " -3 ".into()));
    /// rt.fields.push(("uom".into(), "72".into()));
    /// let a = ReadingAttributes::from_reading_type(&rt).unwrap();
    /// assert_eq!((a.power_of_ten_multiplier, a.uom, a.flow_direction), (-3, Some(72), None));
    /// ```
    pub fn from_reading_type(rt: &Resource) -> Result<Self, (&'static str, NumberError)> {
        let get = |name: &'static str| rt.int(name).transpose().map_err(|e| (name, e));
        Ok(ReadingAttributes {
            power_of_ten_multiplier: get("powerOfTenMultiplier")?.unwrap_or(0),
            uom: get("uom")?,
            flow_direction: get("flowDirection")?,
            interval_length: get("intervalLength")?,
            accumulation_behaviour: get("accumulationBehaviour")?,
            tou: get("tou")?,
        })
    }
}
