//! Text of elements and attributes.

/// `text` without leading and trailing white space, as [`str::trim`], with
/// the common case (nothing to trim: the first and last bytes are visible
/// ASCII) answered without decoding any character.
///
/// ```
/// use espi_model::text::trim;
/// assert_eq!(trim("UsagePoint/1"), "UsagePoint/1");
/// assert_eq!(trim("\n  72 \t"), "72");
/// assert_eq!(trim("\u{a0}x\u{a0}"), "x");
/// assert_eq!(trim(" "), "");
/// ```
#[inline]
pub fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    let bytes = text.as_bytes();
    if visible(bytes.first()) && visible(bytes.last()) {
        text
    } else {
        text.trim()
    }
}
