//! Reading quality: the flags users filter on, decoded from every
//! `ReadingQuality/quality` code (QualityOfReading) of a reading.

/// Which kinds of quality a reading's codes carry.
///
/// A reading may have several ReadingQuality elements; a flag is set when any
/// of its codes is of that kind:
///
/// | flag | codes |
/// |---|---|
/// | `estimated` | 8 estimated using reference day, 9 estimated using linear interpolation |
/// | `edited` | 7 manually edited |
/// | `validated` | 17 validated, 18 verified, 19 revenue quality |
/// | `raw` | 14 raw |
///
/// ```
/// use espi_model::quality::QualityFlags;
/// let f = QualityFlags::of(&[17, 8]);
/// assert!(f.estimated() && f.validated() && !f.edited() && !f.raw());
/// assert_eq!(QualityFlags::of(&[]), QualityFlags::default());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityFlags(u8);

const ESTIMATED: u8 = 1;
const EDITED: u8 = 2;
const VALIDATED: u8 = 4;
const RAW: u8 = 8;

impl QualityFlags {
    /// The flags of a reading with these quality codes.
    pub fn of(codes: &[i32]) -> QualityFlags {
        QualityFlags(codes.iter().fold(0, |acc, &c| acc | flag_of(c)))
    }

    /// An estimate (codes 8, 9).
    pub fn estimated(self) -> bool {
        self.0 & ESTIMATED != 0
    }

    /// Manually edited (code 7).
    pub fn edited(self) -> bool {
        self.0 & EDITED != 0
    }

    /// Validated, verified or revenue quality (codes 17, 18, 19).
    pub fn validated(self) -> bool {
        self.0 & VALIDATED != 0
    }

    /// Raw, not yet validated (code 14).
    pub fn raw(self) -> bool {
        self.0 & RAW != 0
    }
}

fn flag_of(code: i32) -> u8 {
    match code {
        8 | 9 => ESTIMATED,
        7 => EDITED,
        17..=19 => VALIDATED,
        14 => RAW,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::QualityFlags;

    #[test]
    fn every_code_of_a_reading_counts() {
        let f = QualityFlags::of(&[7, 14]);
        assert!(f.edited() && f.raw() && !f.estimated() && !f.validated());
        for code in [0, 10, 11, 12, 13, 15, 16, -1, 1000] {
            assert_eq!(QualityFlags::of(&[code]), QualityFlags::default(), "{code}");
        }
        for code in [17, 18, 19] {
            assert!(QualityFlags::of(&[code]).validated());
        }
        assert!(QualityFlags::of(&[9]).estimated());
    }
}
