//! `LocalTimeParameters` never panics, whatever the rules, offsets, years and
//! instants, and `LocalClock` (which caches the stretch between transitions)
//! gives exactly what `offset_at` gives: local = UTC + offset, same DST flag.
#![no_main]

use espi_model::local_time::{DstRule, LocalClock, LocalTimeParameters, MAX_OFFSET_S};
use libfuzzer_sys::fuzz_target;

const US: i64 = 1_000_000;

/// Reads fixed-size values from the front of the input (zeros when short).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
}

/// `offset_at` is tzOffset, or tzOffset + dstOffset while DST is in force.
fn check_offset(p: &LocalTimeParameters, utc_s: i64) -> (i64, bool) {
    let (offset, dst) = p.offset_at(utc_s);
    if dst {
        assert!(p.has_dst(), "DST without DST rules: {p:?} at {utc_s}");
        assert_eq!(
            offset,
            p.tz_offset_s.saturating_add(p.dst_offset_s),
            "{p:?} at {utc_s}"
        );
    } else {
        assert_eq!(offset, p.tz_offset_s, "{p:?} at {utc_s}");
    }
    (offset, dst)
}

/// One clock over `instants` in order (exercising its cache), and a fresh
/// clock for each, agree with `offset_at`.
fn check_clock(p: LocalTimeParameters, instants: &[i64]) {
    let mut clock = LocalClock::new(p);
    for &t in instants {
        let (offset, dst) = check_offset(&p, t.div_euclid(US));
        let expected = (t.saturating_add(offset.saturating_mul(US)), dst);
        assert_eq!(clock.local_us(t), expected, "cached clock, {p:?} at {t} us");
        assert_eq!(
            LocalClock::new(p).local_us(t),
            expected,
            "fresh clock, {p:?} at {t} us"
        );
    }
}

/// Instants around `t` and around the DST transitions near it.
fn instants(p: &LocalTimeParameters, t: i64, year: i32) -> Vec<i64> {
    let mut out = vec![
        t,
        t.saturating_add(1),
        t.saturating_sub(1),
        i64::MIN,
        i64::MAX,
        0,
        t,
    ];
    let t_year = 1970 + t.div_euclid(US).div_euclid(31_556_952);
    let t_year = i32::try_from(t_year).unwrap_or(0);
    for y in [
        year,
        t_year.saturating_sub(1),
        t_year,
        t_year.saturating_add(1),
    ] {
        if let Some((start, end)) = p.transitions(y) {
            for at in [start, end] {
                let at_us = at.saturating_mul(US);
                out.extend([
                    at_us,
                    at_us.saturating_sub(1),
                    at_us.saturating_add(1),
                    at_us.saturating_sub(US),
                    at_us.saturating_add(US),
                ]);
            }
        }
    }
    out.push(t);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let start_bits = b.u32();
    let end_bits = b.u32();
    let tz = i64::from(b.i32()) % (MAX_OFFSET_S + 2);
    let dst = i64::from(b.i32()) % (MAX_OFFSET_S + 2);
    let t = b.i64();
    let year = b.i32();
    let mode = b.u8();

    // Bits and their hex text decode alike.
    for bits in [start_bits, end_bits] {
        let rule = DstRule::from_bits(bits);
        assert_eq!(DstRule::parse(&format!("{bits:08X}")).unwrap(), rule);
        assert_eq!(DstRule::parse(&format!(" 0x{bits:x}\n")).unwrap(), rule);
        if let Some(r) = rule {
            let _ = r.local_seconds_in(year);
        }
    }

    // Rules and offsets as element text: always the hex and decimal forms,
    // plus, by `mode`, the rest of the input as arbitrary text.
    let rest = String::from_utf8_lossy(b.0).into_owned();
    let _ = DstRule::parse(&rest);
    let start_text = format!("{start_bits:08X}");
    let end_text = format!("{end_bits:08X}");
    let tz_text = tz.to_string();
    let dst_text = dst.to_string();
    let fields: [&str; 4] = match mode % 4 {
        0 => [&tz_text, &dst_text, &start_text, &end_text],
        1 => [&rest, &dst_text, &start_text, &end_text],
        2 => [&tz_text, &rest, &start_text, &end_text],
        _ => [&tz_text, &dst_text, &rest, &rest],
    };
    let absent = mode & 0x70;
    let parsed = LocalTimeParameters::from_fields(
        fields[0],
        (absent & 0x10 == 0).then_some(fields[1]),
        (absent & 0x20 == 0).then_some(fields[2]),
        (absent & 0x40 == 0).then_some(fields[3]),
    );
    if let Ok(p) = parsed {
        assert!(p.tz_offset_s.abs() <= MAX_OFFSET_S && p.dst_offset_s.abs() <= MAX_OFFSET_S);
        assert_eq!(p.transitions(year).is_some(), p.has_dst());
        check_clock(p, &instants(&p, t, year));
    }

    // Rules built field by field, any values (outside the schema's ranges
    // too), offsets within range: still no panic and the clock agrees.
    let hand_rule = |b: &mut Bytes| DstRule {
        month: b.u8(),
        operator: b.u8(),
        day_of_week: b.u8(),
        day_of_month: b.u8(),
        hour: b.u8(),
        seconds: b.u16(),
    };
    let mut b = Bytes(b.0);
    let (r1, r2) = (hand_rule(&mut b), hand_rule(&mut b));
    let _ = r1.local_seconds_in(year);
    let _ = r2.local_seconds_in(i32::MIN);
    let _ = r2.local_seconds_in(i32::MAX);
    let p = LocalTimeParameters {
        tz_offset_s: tz.clamp(-MAX_OFFSET_S, MAX_OFFSET_S),
        dst_offset_s: dst.clamp(-MAX_OFFSET_S, MAX_OFFSET_S),
        dst_start: Some(r1),
        dst_end: Some(r2),
    };
    check_clock(p, &instants(&p, t, year));

    // Offsets set by hand far out of range: no panic.
    let wild = LocalTimeParameters {
        tz_offset_s: b.i64(),
        dst_offset_s: b.i64(),
        ..p
    };
    let _ = wild.transitions(year);
    let _ = wild.offset_at(t);
    let _ = LocalClock::new(wild).local_us(t);
});
