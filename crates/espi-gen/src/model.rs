//! Usage-point profiles and the per-day load / solar / gas models.
//!
//! Every value is a pure function of (seed, usage point index, local day), so a
//! day can be regenerated (for billing summaries and corrections) without
//! keeping earlier output.

use crate::rng::{mix2, mix3, unit, Rng};
use crate::time::{civil_from_days, cos_turns, days_from_civil, weekday, LocalDay};
use crate::GenOptions;

/// Most readings a local day can hold (15-minute data on a 25-hour day).
pub(crate) const MAX_READINGS: usize = 100;

/// Quality marker for "two ReadingQuality elements" (9 then 17).
pub(crate) const Q_PAIR: u8 = 255;
/// No ReadingQuality element.
pub(crate) const Q_NONE: u8 = 0;

/// The kind of meter behind a usage point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Meter {
    /// Electric, 15-minute intervals.
    Elec15,
    /// Electric, hourly intervals.
    ElecHourly,
    /// Gas, daily.
    GasDaily,
}

impl Meter {
    /// Interval length in seconds (daily gas: nominal 86 400).
    pub(crate) fn interval(self) -> i64 {
        match self {
            Meter::Elec15 => 900,
            Meter::ElecHourly => 3600,
            Meter::GasDaily => 86_400,
        }
    }

    pub(crate) fn is_gas(self) -> bool {
        self == Meter::GasDaily
    }
}

/// A day whose first delivery had an estimated run that a later block corrects.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Correction {
    /// Local day re-delivered.
    pub day: i64,
    start_raw: u64,
    len_raw: u64,
}

impl Correction {
    /// (first index, length) of the corrected run for a day of `n` readings.
    pub(crate) fn run(&self, n: usize) -> (usize, usize) {
        let n = n as u64;
        let start = self.start_raw % n;
        let max_len = (n / 4).max(1);
        let len = (1 + self.len_raw % max_len).min(n - start);
        (start as usize, len as usize)
    }
}

/// Everything fixed about one usage point.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub seed: u64,
    pub sub_id: u64,
    pub up_id: u64,
    pub meter: Meter,
    /// Net-metered (second MeterReading, flowDirection 19).
    pub net: bool,
    /// powerOfTenMultiplier of the readings (0 or -3).
    pub mult: i64,
    pub cost: bool,
    pub tou: bool,
    pub quality: bool,
    pub mr_ids: [u64; 2],
    /// First day (days since 1970) of the billing cycle grid, modulo 30.
    pub bill_offset: i64,
    pub correction: Option<Correction>,
    base_w: f64,
    morning_w: f64,
    morning_h: f64,
    evening_w: f64,
    cool_w: f64,
    heat_w: f64,
    pv_w: f64,
    gas_base: f64,
    gas_heat: f64,
}

impl Point {
    /// The profile of usage point `index` for these options.
    pub(crate) fn new(opts: &GenOptions, index: u64) -> Self {
        let seed = mix2(opts.seed, index);
        let mut r = Rng::new(seed);
        let u = r.f64();
        let meter = if u < 0.72 {
            Meter::Elec15
        } else if u < 0.88 {
            Meter::ElecHourly
        } else {
            Meter::GasDaily
        };
        let elec = !meter.is_gas();
        let net = r.f64() < 0.15 && elec;
        let mult = if r.f64() < if elec { 0.2 } else { 0.5 } {
            -3
        } else {
            0
        };
        let cost = r.f64() < 0.3;
        let tou = r.f64() < 0.4 && elec;
        let quality = r.f64() < 0.85;
        let mut mr_ids = [r.next_u64() >> 4, r.next_u64() >> 4];
        if mr_ids[0] == mr_ids[1] {
            mr_ids[1] ^= 1;
        }
        // Bijective in index (odd multiplier modulo 2^32), so ids never collide.
        let idx = index & 0xFFFF_FFFF;
        let salt = mix2(opts.seed, 0x1D5);
        let up_id = 1_000_000_000 + ((idx.wrapping_mul(0x9E37_79B1) ^ salt) & 0xFFFF_FFFF);
        let sub_id = 100_000 + ((idx.wrapping_mul(0x85EB_CA6B) ^ (salt >> 32)) & 0x3FFF_FFFF);
        let bill_offset = r.below(30) as i64;
        let u1 = r.f64();
        let u2 = r.f64();
        let u3 = r.f64();
        let u4 = r.f64();
        let u5 = r.f64();
        let u6 = r.f64();
        let u7 = r.f64();
        let u8 = r.f64();
        let u9 = r.f64();
        let correction = if r.f64() < opts.corrections {
            let day = if opts.days >= 2 {
                opts.start_day + r.below(u64::from(opts.days) - 1) as i64
            } else {
                opts.start_day - 1 - r.below(30) as i64
            };
            Some(Correction {
                day,
                start_raw: r.next_u64(),
                len_raw: r.next_u64(),
            })
        } else {
            None
        };
        Point {
            seed,
            sub_id,
            up_id,
            meter,
            net,
            mult,
            cost,
            tou,
            quality,
            mr_ids,
            bill_offset,
            correction,
            base_w: 120.0 + 300.0 * u1 * u1,
            morning_w: 300.0 + 1200.0 * u2,
            morning_h: 6.5 + 2.0 * u3,
            evening_w: 600.0 + 1900.0 * u4,
            cool_w: 3000.0 * u5 * u5 * u5,
            heat_w: 1500.0 * u6 * u6 * u6,
            pv_w: 3000.0 + 6000.0 * u7,
            gas_base: 0.3 + 0.9 * u8,
            gas_heat: 1.5 + 4.5 * u9,
        }
    }

    /// Number of meter readings (1, or 2 when net-metered).
    pub(crate) fn meter_readings(&self) -> usize {
        if self.net {
            2
        } else {
            1
        }
    }

    /// Cost of one reading, in hundred-thousandths of a dollar.
    #[inline]
    pub(crate) fn cost_of(&self, value: i64, tou: u8) -> i64 {
        let rate = match (self.meter.is_gas(), self.tou, tou) {
            (true, _, _) => 180_000,
            (false, true, 1) => 48,
            (false, true, 2) => 31,
            (false, true, 3) => 38,
            (false, true, _) => 29,
            (false, false, _) => 33,
        };
        if self.mult == -3 {
            (value * rate + 500) / 1000
        } else {
            value * rate
        }
    }

    /// Bill for a period's consumption, in hundred-thousandths of a dollar.
    pub(crate) fn bill_of(&self, total: i64) -> i64 {
        let energy = if self.meter.is_gas() {
            total * 180_000
        } else {
            total * 33
        };
        let energy = if self.mult == -3 {
            (energy + 500) / 1000
        } else {
            energy
        };
        1_000_000 + energy
    }
}

/// The readings of one usage point for one local day.
#[derive(Clone, Copy)]
pub(crate) struct DayData {
    pub local: LocalDay,
    pub n: usize,
    /// Reading duration in seconds.
    pub step: i64,
    /// Delivered (flowDirection 1) values.
    pub delivered: [i64; MAX_READINGS],
    /// Received (flowDirection 19) values (net-metered points only).
    pub received: [i64; MAX_READINGS],
    /// TOU period code 1..4 of each reading.
    pub tou: [u8; MAX_READINGS],
    /// Reading quality of the delivered series (see `Q_*`).
    pub q_delivered: [u8; MAX_READINGS],
    /// Reading quality of the received series.
    pub q_received: [u8; MAX_READINGS],
}

impl Default for DayData {
    fn default() -> Self {
        DayData {
            local: LocalDay::new(0),
            n: 0,
            step: 900,
            delivered: [0; MAX_READINGS],
            received: [0; MAX_READINGS],
            tou: [0; MAX_READINGS],
            q_delivered: [0; MAX_READINGS],
            q_received: [0; MAX_READINGS],
        }
    }
}

impl DayData {
    /// Sum of the delivered values.
    pub(crate) fn delivered_total(&self) -> i64 {
        self.delivered[..self.n].iter().sum()
    }

    /// UTC start of reading `i`.
    #[inline]
    pub(crate) fn start_of(&self, i: usize) -> i64 {
        self.local.utc_start + i as i64 * self.step
    }
}

/// Smooth bump: `(1 - x^2)^2` on (-1, 1), zero outside.
#[inline]
fn bump(x: f64) -> f64 {
    if x <= -1.0 || x >= 1.0 {
        0.0
    } else {
        let y = 1.0 - x * x;
        y * y
    }
}

#[inline]
fn quality_code(bits: u64) -> u8 {
    // 11 bits: 1 in 2048 readings gets two ReadingQuality elements.
    match bits & 0x7FF {
        0 => Q_PAIR,
        1..=30 => 8,
        31..=60 => 9,
        _ => 17,
    }
}

#[inline]
fn to_units(x: f64, mult: i64) -> i64 {
    let scaled = if mult == -3 { x * 1000.0 } else { x };
    if scaled <= 0.0 {
        0
    } else {
        (scaled + 0.5) as i64
    }
}

/// Fill `d` with the first delivery of `day` for point `p` (an estimated run,
/// linearly interpolated, when the day is the point's correction day).
pub(crate) fn fill_day(p: &Point, day: i64, d: &mut DayData) {
    let true_run = fill_day_true(p, day, d);
    if let Some((start, len)) = true_run {
        // Replace the run by a linear interpolation between its neighbours.
        let n = d.n;
        if len == n {
            // Nothing to interpolate from (daily gas): estimate from a reference day.
            for k in 0..len {
                let v = d.delivered[k];
                let est = v * 9 / 10;
                d.delivered[k] = if est == v { v + 1 } else { est };
                if p.quality {
                    d.q_delivered[k] = 8;
                }
            }
            return;
        }
        let left = if start > 0 {
            d.delivered[start - 1]
        } else {
            d.delivered[start + len]
        };
        let right = if start + len < n {
            d.delivered[start + len]
        } else {
            left
        };
        for k in 0..len {
            let f = (k as i64 + 1) * 1000 / (len as i64 + 1);
            d.delivered[start + k] = left + (right - left) * f / 1000;
            if p.quality {
                d.q_delivered[start + k] = 9;
            }
        }
    }
}

/// Fill `d` with the corrected (true) delivery of `day`: validated values.
pub(crate) fn fill_corrected_day(p: &Point, day: i64, d: &mut DayData) {
    if let Some((start, len)) = fill_day_true(p, day, d) {
        if p.quality {
            for q in &mut d.q_delivered[start..start + len] {
                *q = 17;
            }
        }
    }
}

/// Fill the true values; returns the correction run when `day` is the
/// correction day.
fn fill_day_true(p: &Point, day: i64, d: &mut DayData) -> Option<(usize, usize)> {
    let local = LocalDay::new(day);
    d.local = local;
    let (year, month, _) = civil_from_days(day);
    let doy = day - days_from_civil(year, 1, 1);
    // +1 around 19 July, -1 around 17 January.
    let season = cos_turns((doy as f64 - 200.0) / 365.25);
    let summer = season.max(0.0);
    let winter = (-season).max(0.0);
    let summer_months = (6..=9).contains(&month);
    let mut r = Rng::new(mix3(p.seed, day as u64, 0xDA7));
    let temp = 0.7 + 0.6 * r.f64();
    let cloud = if r.f64() < 0.7 {
        0.85 + 0.15 * r.f64()
    } else {
        0.15 + 0.6 * r.f64()
    };
    let wd = weekday(day);
    let weekend = wd == 0 || wd == 6;

    if p.meter.is_gas() {
        d.n = 1;
        d.step = local.len;
        let therms = (p.gas_base + p.gas_heat * winter * temp) * (0.85 + 0.3 * r.f64());
        d.delivered[0] = to_units(therms, p.mult);
        d.tou[0] = if summer_months { 2 } else { 4 };
        d.q_delivered[0] = if p.quality {
            quality_code(r.next_u64())
        } else {
            Q_NONE
        };
    } else {
        let step = p.meter.interval();
        let n = (local.len / step) as usize;
        d.n = n;
        d.step = step;
        let hours = step as f64 / 3600.0;
        let morning_h = if weekend {
            p.morning_h + 1.5
        } else {
            p.morning_h
        };
        let base = if weekend { p.base_w * 1.1 } else { p.base_w };
        let cool = p.cool_w * summer * temp;
        let heat = p.heat_w * winter * temp;
        // Half the daylight span in hours: about 4.7 h at the winter solstice,
        // 7.3 h at the summer solstice (California).
        let half_day = 6.0 + 1.3 * cos_turns((doy as f64 - 172.0) / 365.25);
        let pv = p.pv_w * cloud;
        // Standard-time seconds of local midnight, for the sun's position.
        let std_midnight = day * 86_400 - crate::time::TZ_OFFSET;
        for i in 0..n {
            let start = local.utc_start + i as i64 * step;
            let mid = start + step / 2;
            let wall_h = local.wall_second(mid - local.utc_start) as f64 / 3600.0;
            let bits = r.next_u64();
            let mut load = base
                + p.morning_w * bump((wall_h - morning_h) / 1.5)
                + p.evening_w * bump((wall_h - 19.5) / 2.5)
                + cool * bump((wall_h - 16.5) / 4.0)
                + heat * (bump((wall_h - 7.0) / 2.0) + 0.8 * bump((wall_h - 20.0) / 3.0));
            load *= 0.8 + 0.4 * unit(bits);
            let bits2 = r.next_u64();
            if bits2 & 0x3F == 0 {
                // An appliance cycle (oven, dryer, EV...).
                load += 800.0 + 1700.0 * unit(bits2);
            }
            let wall_hour = (wall_h as i64).clamp(0, 23);
            let peak = (16..21).contains(&wall_hour);
            d.tou[i] = match (summer_months, peak) {
                (true, true) => 1,
                (true, false) => 2,
                (false, true) => 3,
                (false, false) => 4,
            };
            if p.net {
                let std_h = (mid - std_midnight) as f64 / 3600.0;
                let sun = bump((std_h - 12.25) / half_day);
                let gen = pv * sun * (0.9 + 0.2 * unit(bits2.rotate_left(17)));
                let net = (load - gen) * hours;
                d.delivered[i] = to_units(net, p.mult);
                d.received[i] = to_units(-net, p.mult);
                d.q_received[i] = if p.quality {
                    quality_code(bits2 >> 40)
                } else {
                    Q_NONE
                };
            } else {
                d.delivered[i] = to_units(load * hours, p.mult);
            }
            d.q_delivered[i] = if p.quality {
                quality_code(bits2 >> 20)
            } else {
                Q_NONE
            };
        }
    }
    match p.correction {
        Some(c) if c.day == day => Some(c.run(d.n)),
        _ => None,
    }
}
