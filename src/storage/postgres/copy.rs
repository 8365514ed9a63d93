//! The batch encoder of the write path: a batch of readings as `readings_staging` rows in
//! PostgreSQL's binary COPY format, built in one buffer and sent as one message (row by row
//! through an async writer costs an await per row).
//!
//! Format (PostgreSQL docs, "COPY", binary format): the 11-byte signature, flags and header
//! extension length (both 0); per row the field count (i16) and per field its length (i32) and
//! bytes, big-endian; the trailer -1 (i16). `timestamptz` travels as microseconds since
//! 2000-01-01 UTC.

use bytes::{BufMut, Bytes, BytesMut};
use iochub_devices::Reading;

use super::error::{PG_MAX_MS, PG_MIN_MS};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// The Unix time of PostgreSQL's epoch, 2000-01-01T00:00:00Z, in ms.
const PG_EPOCH_MS: i64 = 946_684_800_000;
/// (ord int8, series int8, ts timestamptz, value float8): 4 fields of 8 bytes.
const FIELDS: i16 = 4;
const ROW_BYTES: usize = 2 + FIELDS as usize * (4 + 8);

/// The staging rows `(ord, series, ts, value)` of `readings` (`series[i]` is the series id of
/// `readings[i]`; `ord` is the position, which decides among copies of one (series, ts)).
/// Times outside PostgreSQL's range are clamped to it, as everywhere else in this backend.
pub fn staging_rows(readings: &[&Reading], series: &[i64]) -> Bytes {
    let mut buf = BytesMut::with_capacity(SIGNATURE.len() + 8 + readings.len() * ROW_BYTES + 2);
    buf.put_slice(SIGNATURE);
    buf.put_i32(0); // flags
    buf.put_i32(0); // header extension length
    for (ord, (r, &sid)) in readings.iter().zip(series).enumerate() {
        buf.put_i16(FIELDS);
        for field in [
            ord as i64,
            sid,
            pg_micros(r.ts_ms),
            r.value.to_bits() as i64,
        ] {
            buf.put_i32(8);
            buf.put_i64(field);
        }
    }
    buf.put_i16(-1);
    buf.freeze()
}

/// Microseconds since PostgreSQL's epoch of a Unix time in ms.
fn pg_micros(ms: i64) -> i64 {
    (ms.clamp(PG_MIN_MS, PG_MAX_MS) - PG_EPOCH_MS).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(ts_ms: i64, value: f64) -> Reading {
        Reading {
            device: "d".into(),
            metric: "m".into(),
            ts_ms,
            value,
        }
    }

    fn i64_at(b: &[u8], at: usize) -> i64 {
        i64::from_be_bytes(b[at..at + 8].try_into().unwrap_or_default())
    }

    #[test]
    fn rows_follow_the_binary_copy_layout() {
        let (a, b) = (reading(PG_EPOCH_MS, 2.5), reading(PG_EPOCH_MS + 1, -1.0));
        let out = staging_rows(&[&a, &b], &[7, 9]);
        assert_eq!(&out[..11], SIGNATURE);
        assert_eq!(&out[11..19], &[0; 8]);
        assert_eq!(out.len(), 19 + 2 * ROW_BYTES + 2);
        let row = |i: usize| &out[19 + i * ROW_BYTES..19 + (i + 1) * ROW_BYTES];
        let (r0, r1) = (row(0), row(1));
        assert_eq!(i16::from_be_bytes([r0[0], r0[1]]), 4);
        // each field: length 8, then the value
        let field = |r: &[u8], f: usize| {
            assert_eq!(
                i32::from_be_bytes(r[2 + f * 12..6 + f * 12].try_into().unwrap()),
                8
            );
            i64_at(r, 6 + f * 12)
        };
        assert_eq!((field(r0, 0), field(r0, 1), field(r0, 2)), (0, 7, 0));
        assert_eq!(f64::from_bits(field(r0, 3) as u64), 2.5);
        assert_eq!((field(r1, 0), field(r1, 1), field(r1, 2)), (1, 9, 1000));
        assert_eq!(f64::from_bits(field(r1, 3) as u64), -1.0);
        assert_eq!(&out[out.len() - 2..], &[0xff, 0xff]);
    }

    #[test]
    fn times_are_clamped_to_the_range_of_timestamptz() {
        assert_eq!(pg_micros(0), -PG_EPOCH_MS * 1000);
        assert_eq!(pg_micros(i64::MAX), pg_micros(PG_MAX_MS));
        assert_eq!(pg_micros(i64::MIN), pg_micros(PG_MIN_MS));
        assert!(pg_micros(PG_MAX_MS) > 0 && pg_micros(PG_MIN_MS) < 0);
    }
}
