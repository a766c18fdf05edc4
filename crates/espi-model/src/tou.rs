//! Names of time-of-use (TOU) period codes.
//!
//! ESPI carries a TOU period as a bare integer (`IntervalReading/tou`, or
//! `ReadingType/tou` for a whole series); what each code means is published by
//! the utility for its tariffs. espi ships a default that follows the common
//! summer/winter x peak/off-peak numbering (the one `espi gen` writes) and
//! reads a utility's own mapping from a small CSV file.

use std::collections::BTreeMap;
use std::fmt;

/// A mapping from TOU codes to names.
///
/// Codes without a name are shown as `tou_<code>`.
///
/// ```
/// use espi_model::tou::TouNames;
/// let names = TouNames::default();
/// assert_eq!(names.name(1), "summer_peak");
/// assert_eq!(names.name(9), "tou_9");
/// let pge = TouNames::parse("code,name\n1,Summer On-Peak\n# comment\n2, Summer Part-Peak\n").unwrap();
/// assert_eq!(pge.name(2), "Summer Part-Peak");
/// assert_eq!(pge.name(3), "tou_3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouNames {
    names: BTreeMap<i64, String>,
}

/// The default names: 1 summer peak, 2 summer off-peak, 3 winter peak,
/// 4 winter off-peak, 5 critical peak, 0 none.
pub const DEFAULT_TOU_NAMES: &[(i64, &str)] = &[
    (0, "none"),
    (1, "summer_peak"),
    (2, "summer_off_peak"),
    (3, "winter_peak"),
    (4, "winter_off_peak"),
    (5, "critical_peak"),
];

impl Default for TouNames {
    fn default() -> Self {
        TouNames {
            names: DEFAULT_TOU_NAMES
                .iter()
                .map(|&(c, n)| (c, n.to_owned()))
                .collect(),
        }
    }
}

/// A line of a TOU mapping file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouMapError {
    /// Line number, from 1.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for TouMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TouMapError {}

impl TouNames {
    /// Read a mapping: one `code,name` per line; blank lines, `#` comments and
    /// a `code,name` header are skipped. Only the codes listed get names.
    pub fn parse(text: &str) -> Result<TouNames, TouMapError> {
        let mut names = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim().trim_start_matches('\u{feff}');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| TouMapError {
                line: i + 1,
                message,
            };
            let Some((code, name)) = line.split_once(',') else {
                return Err(err(format!("expected `code,name`, found {line:?}")));
            };
            let (code, name) = (code.trim(), name.trim().trim_matches('"'));
            if i == 0 && code.eq_ignore_ascii_case("code") {
                continue;
            }
            let code: i64 = code
                .parse()
                .map_err(|_| err(format!("TOU code {code:?} is not an integer")))?;
            if name.is_empty() {
                return Err(err(format!("TOU code {code} has an empty name")));
            }
            if names.insert(code, name.to_owned()).is_some() {
                return Err(err(format!("TOU code {code} is named twice")));
            }
        }
        Ok(TouNames { names })
    }

    /// The name of `code`.
    pub fn name(&self, code: i64) -> std::borrow::Cow<'_, str> {
        match self.names.get(&code) {
            Some(n) => n.as_str().into(),
            None => format!("tou_{code}").into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TouNames;

    #[test]
    fn bad_lines_are_errors_with_their_line() {
        let e = TouNames::parse("1,peak\nx,off\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(TouNames::parse("1,peak\n1,again\n").is_err());
        assert!(TouNames::parse("1,\n").is_err());
        assert!(TouNames::parse("just a name\n").is_err());
        let ok = TouNames::parse("\u{feff}code,name\r\n7,\"Off Peak\"\r\n").unwrap();
        assert_eq!(ok.name(7), "Off Peak");
        assert_eq!(ok.name(-2), "tou_-2");
    }
}
