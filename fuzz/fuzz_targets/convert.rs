//! Converting any bytes to Arrow batches never panics, and every reading read
//! is accounted for: written, rejected or (with `latest_only`) dropped as
//! superseded, with exactly `readings_written` rows in the readings batches.
#![no_main]

use espi_arrow::{convert_slice, ConvertOptions, Table};
use libfuzzer_sys::fuzz_target;

/// Checks one conversion; returns its (read, written, rejected, superseded)
/// counts.
fn check(data: &[u8], options: &ConvertOptions) -> (u64, u64, u64, u64) {
    let Ok((batches, conversion)) = convert_slice("fuzz.xml", data, options) else {
        return (0, 0, 0, 0);
    };
    let c = &conversion.counts;
    assert_eq!(
        c.readings_read,
        c.readings_written + c.readings_rejected + c.readings_superseded_dropped,
        "readings unaccounted for: {c:?}"
    );
    let rows: usize = batches
        .get(&Table::Readings)
        .map_or(0, |b| b.iter().map(|b| b.num_rows()).sum());
    assert_eq!(
        rows as u64, c.readings_written,
        "readings rows vs written: {c:?}"
    );
    if !options.latest_only {
        assert_eq!(
            c.readings_superseded_dropped, 0,
            "dropped without latest_only"
        );
    }
    (
        c.readings_read,
        c.readings_written,
        c.readings_rejected,
        c.readings_superseded,
    )
}

fuzz_target!(|data: &[u8]| {
    let counts = check(data, &ConvertOptions::default());
    // Superseded readings exist: leave them out too.
    if counts.3 > 0 {
        check(
            data,
            &ConvertOptions {
                latest_only: true,
                ..Default::default()
            },
        );
    }
    // Tiny batches: batch boundaries everywhere; and the rest of the
    // document read ahead as soon as one reading waits for its metadata,
    // which writes the same readings.
    if data.len() < 4096 {
        check(
            data,
            &ConvertOptions {
                batch_size: 1,
                ..Default::default()
            },
        );
        let read_ahead = check(
            data,
            &ConvertOptions {
                batch_size: 1,
                look_ahead_rows: 0,
                ..Default::default()
            },
        );
        assert_eq!(read_ahead, counts, "reading ahead changed the counts");
    }
});
