//! Unit normalisation and exact scaling of ESPI values.
//!
//! A reading's quantity is `value x 10^powerOfTenMultiplier` in the ReadingType's
//! `uom`. espi reports energy in kWh, power in kW and reactive or apparent energy
//! and power in kVArh, kVAr, kVAh and kVA; every other unit keeps its base
//! (therm, m3, ft3, ...). The scaling stays in integers until one final, correctly
//! rounded conversion to `f64`.

use crate::codes::uom_symbol;

/// The unit a value is reported in after normalisation.
///
/// ```
/// let u = espi_model::units::normalise(38); // W
/// assert_eq!((u.symbol(), u.exponent_shift), (Some("kW"), -3));
/// let gas = espi_model::units::normalise(169); // therm
/// assert_eq!((gas.symbol(), gas.exponent_shift), (Some("therm"), 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalisedUnit {
    /// The ESPI UnitSymbolKind code it came from.
    pub uom: i64,
    /// Power of ten added to `powerOfTenMultiplier` to express the value in
    /// [`NormalisedUnit::symbol`] (-3 for Wh to kWh).
    pub exponent_shift: i32,
    symbol: Option<&'static str>,
}

impl NormalisedUnit {
    /// The normalised unit's symbol (`"kWh"`, `"therm"`); `None` for a code
    /// outside the schema, which callers should report by number.
    pub fn symbol(&self) -> Option<&'static str> {
        self.symbol
    }
}

/// Normalise an ESPI `uom` code: Wh, W, VArh, VAr, VAh and VA become their kilo
/// forms; other units keep their base symbol.
pub fn normalise(uom: i64) -> NormalisedUnit {
    let kilo = match uom {
        72 => Some("kWh"),
        38 => Some("kW"),
        73 => Some("kVArh"),
        63 => Some("kVAr"),
        71 => Some("kVAh"),
        61 => Some("kVA"),
        _ => None,
    };
    match kilo {
        Some(symbol) => NormalisedUnit {
            uom,
            exponent_shift: -3,
            symbol: Some(symbol),
        },
        None => NormalisedUnit {
            uom,
            exponent_shift: 0,
            symbol: uom_symbol(uom),
        },
    }
}

/// Largest integer below which every `i64` converts to `f64` exactly.
const EXACT_F64_INT: u64 = 1 << 53;
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `raw x 10^exponent` as the nearest `f64` (correctly rounded, one rounding).
///
/// Returns `None` when the result is not finite (an absurd multiplier).
///
/// ```
/// use espi_model::units::scale_exact;
/// assert_eq!(scale_exact(1, -1), Some(0.1));
/// assert_eq!(scale_exact(-275, -3), Some(-0.275));
/// assert_eq!(scale_exact(7, 3), Some(7000.0));
/// assert_eq!(scale_exact(1, 4096), None);
/// ```
pub fn scale_exact(raw: i64, exponent: i32) -> Option<f64> {
    if raw == 0 {
        return Some(0.0);
    }
    if raw.unsigned_abs() <= EXACT_F64_INT {
        // Both operands are exact in f64, so IEEE multiplication and division
        // round the exact result once.
        let x = raw as f64;
        if exponent == 0 {
            return Some(x);
        }
        if (1..=22).contains(&exponent) {
            let y = x * POW10[exponent as usize];
            return y.is_finite().then_some(y);
        }
        if (-22..=-1).contains(&exponent) {
            return Some(x / POW10[(-exponent) as usize]);
        }
    }
    scale_by_decimal_parse(raw, exponent)
}

/// Slow path: let the standard library's correctly rounded decimal parser do
/// the work on `"{raw}e{exponent}"`, formatted on the stack.
fn scale_by_decimal_parse(raw: i64, exponent: i32) -> Option<f64> {
    use std::io::Write;
    let mut buf = [0u8; 48];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write!(cursor, "{raw}e{exponent}").ok()?;
    let len = cursor.position() as usize;
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// A cost in hundred-thousandths of the currency, in currency units.
///
/// ```
/// assert_eq!(espi_model::units::cost_in_currency(1_234_567), Some(12.34567));
/// ```
pub fn cost_in_currency(cost_raw: i64) -> Option<f64> {
    scale_exact(cost_raw, -5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_matches_decimal_parsing() {
        let cases: &[(i64, i32)] = &[
            (1, -1),
            (3, -1),
            (123456789, -6),
            (-987654321, -5),
            (1 << 60, -3),
            (i64::MAX, -14),
            (i64::MIN, 2),
            (999, 22),
            (999, 23),
            (5, -30),
        ];
        for &(raw, exp) in cases {
            let expected: f64 = format!("{raw}e{exp}").parse().unwrap();
            assert_eq!(scale_exact(raw, exp), Some(expected), "{raw}e{exp}");
        }
    }

    #[test]
    fn absurd_exponents_are_not_finite() {
        assert_eq!(scale_exact(1, 4096), None);
        assert_eq!(scale_exact(1, -4096), Some(0.0));
    }

    #[test]
    fn normalisation_table() {
        for (uom, symbol, shift) in [
            (72, "kWh", -3),
            (38, "kW", -3),
            (73, "kVArh", -3),
            (63, "kVAr", -3),
            (71, "kVAh", -3),
            (61, "kVA", -3),
            (169, "therm", 0),
            (42, "m3", 0),
            (119, "ft3", 0),
            (132, "btu", 0),
            (128, "usGal", 0),
        ] {
            let u = normalise(uom);
            assert_eq!((u.symbol(), u.exponent_shift), (Some(symbol), shift));
        }
        assert_eq!(normalise(65535).symbol(), None);
    }
}
