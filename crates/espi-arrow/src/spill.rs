//! The readings of one very large entry, kept in a temporary file until the
//! entry ends.
//!
//! An entry's readings can only be linked once the entry is complete (its
//! links and `updated` may follow its content, and a bad value anywhere in
//! it voids the entry), so they are held until its end tag. An IntervalBlock
//! of millions of readings would hold them all in memory: past
//! [`ConvertOptions::spill_rows`](crate::ConvertOptions::spill_rows) rows
//! they go to an anonymous temporary file instead, and are read back a batch
//! at a time when the entry ends.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use espi_core::Reading;

use crate::converter::RawReadings;

/// Rows of one entry written to a temporary file, in order.
pub(crate) struct SpilledRows {
    file: File,
    rows: usize,
    buffer: Vec<u8>,
}

// One row: a byte of flags (which fields are present), the present fields
// (little-endian), the number of quality codes (u32) and the codes.
const START: u8 = 1;
const FRACTIONAL: u8 = 2;
const DURATION: u8 = 4;
const VALUE: u8 = 8;
const COST: u8 = 16;
const TOU: u8 = 32;
const TIER: u8 = 64;
const CPP: u8 = 128;

impl SpilledRows {
    /// An empty spill in a new anonymous temporary file.
    pub(crate) fn new() -> io::Result<SpilledRows> {
        Ok(SpilledRows {
            file: tempfile::tempfile()?,
            rows: 0,
            buffer: Vec::new(),
        })
    }

    /// Append `rows` of `raw`. On an error the rows appended before stay
    /// readable, and these count as not appended.
    pub(crate) fn append(&mut self, raw: &RawReadings, rows: Range<usize>) -> io::Result<()> {
        self.buffer.clear();
        let n = rows.len();
        for i in rows {
            encode_row(raw, i, &mut self.buffer);
        }
        self.file.seek(SeekFrom::End(0))?;
        self.file.write_all(&self.buffer)?;
        self.rows += n;
        Ok(())
    }

    /// Read the rows back from the first.
    pub(crate) fn into_reader(mut self) -> io::Result<SpillReader> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(SpillReader {
            reader: BufReader::with_capacity(1 << 20, self.file),
            left: self.rows,
            row: Reading::default(),
        })
    }
}

/// Reads a [`SpilledRows`] back in order.
pub(crate) struct SpillReader {
    reader: BufReader<File>,
    left: usize,
    row: Reading,
}

impl SpillReader {
    /// Rows not read yet.
    pub(crate) fn left(&self) -> usize {
        self.left
    }

    /// Append up to `max` rows to `raw`; returns how many.
    pub(crate) fn read_into(&mut self, raw: &mut RawReadings, max: usize) -> io::Result<usize> {
        let n = max.min(self.left);
        for _ in 0..n {
            decode_row(&mut self.reader, &mut self.row)?;
            raw.push(&self.row);
            self.left -= 1;
        }
        Ok(n)
    }
}

fn encode_row(raw: &RawReadings, i: usize, out: &mut Vec<u8>) {
    let mut flags = 0u8;
    let mut set = |bit: u8, present: bool| {
        if present {
            flags |= bit;
        }
    };
    set(START, raw.start[i].is_some());
    set(FRACTIONAL, raw.fractional[i]);
    set(DURATION, raw.duration[i].is_some());
    set(VALUE, raw.value[i].is_some());
    set(COST, raw.cost[i].is_some());
    set(TOU, raw.tou[i].is_some());
    set(TIER, raw.tier[i].is_some());
    set(CPP, raw.cpp[i].is_some());
    out.push(flags);
    for v in [raw.start[i], raw.duration[i], raw.value[i], raw.cost[i]]
        .into_iter()
        .flatten()
    {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [raw.tou[i], raw.tier[i], raw.cpp[i]].into_iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let qualities = raw.qualities_of(i);
    out.extend_from_slice(&(qualities.len() as u32).to_le_bytes());
    for q in qualities {
        out.extend_from_slice(&q.to_le_bytes());
    }
}

fn read_bytes<const N: usize>(reader: &mut impl Read) -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    reader.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A field of `N` bytes, when present.
fn read_if<const N: usize, T>(
    reader: &mut impl Read,
    present: bool,
    from_bytes: fn([u8; N]) -> T,
) -> io::Result<Option<T>> {
    present
        .then(|| read_bytes(reader).map(from_bytes))
        .transpose()
}

/// Read one row into `row` (its quality codes' buffer reused).
fn decode_row(reader: &mut impl Read, row: &mut Reading) -> io::Result<()> {
    let [flags] = read_bytes::<1>(reader)?;
    let has = |bit: u8| flags & bit != 0;
    row.start_us = read_if(reader, has(START), i64::from_le_bytes)?;
    row.duration_s = read_if(reader, has(DURATION), i64::from_le_bytes)?;
    row.value = read_if(reader, has(VALUE), i64::from_le_bytes)?;
    row.cost = read_if(reader, has(COST), i64::from_le_bytes)?;
    row.tou = read_if(reader, has(TOU), i32::from_le_bytes)?;
    row.consumption_tier = read_if(reader, has(TIER), i32::from_le_bytes)?;
    row.cpp = read_if(reader, has(CPP), i32::from_le_bytes)?;
    row.start_fractional = has(FRACTIONAL);
    let count = u32::from_le_bytes(read_bytes(reader)?);
    row.qualities.clear();
    for _ in 0..count {
        row.qualities.push(i32::from_le_bytes(read_bytes(reader)?));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_equal_the_rows_written() {
        let mut raw = RawReadings::default();
        let readings = [
            Reading {
                start_us: Some(1_700_000_000_000_000),
                start_fractional: true,
                duration_s: Some(900),
                value: Some(-42),
                cost: Some(i64::MAX),
                tou: Some(2),
                consumption_tier: Some(-1),
                cpp: Some(0),
                qualities: vec![8, 17, 19],
            },
            Reading::default(),
            Reading {
                value: Some(7),
                qualities: vec![0],
                ..Reading::default()
            },
        ];
        for r in readings.iter().cycle().take(10) {
            raw.push(r);
        }
        let mut spill = SpilledRows::new().unwrap();
        spill.append(&raw, 0..4).unwrap();
        spill.append(&raw, 4..10).unwrap();
        let mut reader = spill.into_reader().unwrap();
        assert_eq!(reader.left(), 10);
        let mut back = RawReadings::default();
        assert_eq!(reader.read_into(&mut back, 3).unwrap(), 3);
        assert_eq!(reader.left(), 7);
        assert_eq!(reader.read_into(&mut back, 100).unwrap(), 7);
        assert_eq!(reader.read_into(&mut back, 100).unwrap(), 0);
        assert_eq!(back, raw);
    }
}
