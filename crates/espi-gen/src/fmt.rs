//! Allocation-free number formatting into a reused byte buffer.

const DEC_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Append the decimal digits of `n`.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while n >= 100 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DEC_PAIRS[r..r + 2]);
    }
    if n >= 10 {
        let r = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DEC_PAIRS[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append the decimal digits of `n` (with a leading `-` when negative).
#[inline]
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Decimal digits of `n` in a stack buffer: `(buffer, length)`.
pub(crate) fn i64_digits(n: i64) -> ([u8; 24], usize) {
    let mut buf = [0u8; 24];
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    buf.copy_within(i.., 0);
    (buf, 24 - i)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `digits` lowercase hex digits of `v` (most significant first).
pub(crate) fn push_hex(out: &mut Vec<u8>, v: u64, digits: u32) {
    for k in (0..digits).rev() {
        out.push(HEX[((v >> (4 * k)) & 0xF) as usize]);
    }
}

/// Append a version-4-shaped UUID built from two random words.
pub(crate) fn push_uuid(out: &mut Vec<u8>, hi: u64, lo: u64) {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0xC << 60)) | (0x8 << 60);
    push_hex(out, hi >> 32, 8);
    out.push(b'-');
    push_hex(out, (hi >> 16) & 0xFFFF, 4);
    out.push(b'-');
    push_hex(out, hi & 0xFFFF, 4);
    out.push(b'-');
    push_hex(out, lo >> 48, 4);
    out.push(b'-');
    push_hex(out, lo & 0xFFFF_FFFF_FFFF, 12);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut v = Vec::new();
        for n in [
            0i64,
            7,
            10,
            99,
            100,
            101,
            12_345,
            -1,
            -900,
            i64::MIN,
            i64::MAX,
            1_717_225_200,
        ] {
            v.clear();
            push_i64(&mut v, n);
            assert_eq!(std::str::from_utf8(&v).unwrap(), n.to_string());
            let (b, len) = i64_digits(n);
            assert_eq!(std::str::from_utf8(&b[..len]).unwrap(), n.to_string());
        }
        for n in 0..100_000u64 {
            v.clear();
            push_u64(&mut v, n);
            assert_eq!(std::str::from_utf8(&v).unwrap(), n.to_string());
        }
    }

    #[test]
    fn uuid_shape() {
        let mut v = Vec::new();
        push_uuid(&mut v, u64::MAX, 0);
        let s = std::str::from_utf8(&v).unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(s, "ffffffff-ffff-4fff-8000-000000000000");
    }
}
