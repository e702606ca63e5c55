//! Time in the simulator: epoch milliseconds, Okta's `YYYY-MM-DDTHH:MM:SS.mmmZ` format (written
//! without chrono's formatter, because millions of timestamps are formatted while seeding), and a
//! clock whose successive readings are strictly increasing so every mutation has its own instant.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Wall-clock time in epoch milliseconds.
pub fn wall_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// A clock whose [`Clock::tick`] readings are strictly increasing and never behind the wall clock.
#[derive(Debug)]
pub struct Clock {
    last: AtomicI64,
}

impl Clock {
    /// A clock whose next tick is after `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        Clock {
            last: AtomicI64::new(start_ms),
        }
    }

    /// The next instant: `max(wall clock, previous tick + 1 ms)`.
    pub fn tick(&self) -> i64 {
        let wall = wall_ms();
        let mut prev = self.last.load(Ordering::SeqCst);
        loop {
            let next = wall.max(prev + 1);
            match self
                .last
                .compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }

    /// The current instant without advancing: `max(wall clock, last tick)`.
    pub fn now(&self) -> i64 {
        wall_ms().max(self.last.load(Ordering::SeqCst))
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `ms` formatted as the 24 ASCII bytes `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_bytes(ms: i64) -> [u8; 24] {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        (rem / 60_000) % 60,
        (rem / 1000) % 60,
        rem % 1000,
    );
    let mut buf = [0u8; 24];
    let y = y.clamp(0, 9999) as u32;
    let digits = |b: &mut [u8], v: u32, n: usize| {
        let mut v = v;
        for i in (0..n).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    digits(&mut buf[0..4], y, 4);
    buf[4] = b'-';
    digits(&mut buf[5..7], mo, 2);
    buf[7] = b'-';
    digits(&mut buf[8..10], d, 2);
    buf[10] = b'T';
    digits(&mut buf[11..13], h as u32, 2);
    buf[13] = b':';
    digits(&mut buf[14..16], mi as u32, 2);
    buf[16] = b':';
    digits(&mut buf[17..19], s as u32, 2);
    buf[19] = b'.';
    digits(&mut buf[20..23], milli as u32, 3);
    buf[23] = b'Z';
    buf
}

/// Append `ms` formatted as `YYYY-MM-DDTHH:MM:SS.mmmZ` to `out`.
pub fn write_iso(out: &mut String, ms: i64) {
    // Only ASCII digits and separators are written.
    out.push_str(std::str::from_utf8(&iso_bytes(ms)).unwrap_or("1970-01-01T00:00:00.000Z"));
}

/// `ms` formatted as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    write_iso(&mut s, ms);
    s
}

/// Parse an ISO 8601 / RFC 3339 date-time (`Z` or an offset, optional fraction) to epoch ms.
pub fn parse_iso(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// A timestamp that serializes as an Okta date-time string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = String::with_capacity(24);
        write_iso(&mut buf, self.0);
        s.serialize_str(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_chrono() {
        for ms in [
            0i64,
            1,
            999,
            86_399_999,
            951_782_400_000, // 2000-02-29
            1_709_164_800_123,
            1_735_689_599_999,
            4_102_444_800_000,
        ] {
            let ours = iso(ms);
            let theirs = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(Some(ours.clone()), theirs, "{ms}");
            assert_eq!(parse_iso(&ours), Some(ms));
        }
    }

    #[test]
    fn parses_variants() {
        assert_eq!(parse_iso("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_iso("1970-01-01T01:00:01.5+01:00"), Some(1500));
        assert_eq!(parse_iso("1970-01-01"), None);
        assert_eq!(parse_iso("garbage"), None);
    }

    #[test]
    fn ticks_strictly_increase() {
        let c = Clock::new(wall_ms() + 10_000);
        let mut prev = c.tick();
        for _ in 0..1000 {
            let t = c.tick();
            assert!(t > prev);
            prev = t;
        }
    }
}
