//! Malformed payloads for the `garbage` scenario: what broken loggers, half-written firmware and
//! noisy serial lines really send. Each kind maps to one `reason` of the hub's
//! `iochub_ingest_rejected_total`, so an operator sees the dead letters counted by cause; the hub
//! must refuse every one of them without losing the station's good messages around it.

use iochub_devices::{Limits, RejectReason};

use super::rng;
use super::signal::Reading;

/// One kind of malformed telemetry message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GarbageKind {
    /// A SenML pack cut off mid-record (a buffer flushed too early).
    Truncated,
    /// Flat JSON with the number sent as a string: `{"water_level":"3.42"}`.
    NumberAsString,
    /// SenML with the value `"NaN"`, as a logger prints a failed sensor read.
    NanString,
    /// Made-up field names instead of SenML's (`name`, `value`): no reading in it.
    UnknownFields,
    /// A value JSON cannot hold as a finite double (`1e999`).
    Overflow,
    /// A zero-byte message.
    Empty,
    /// Bytes from a serial line with the wrong baud rate.
    NotUtf8,
    /// A valid-looking pack padded past the hub's payload limit.
    Oversized,
}

impl GarbageKind {
    pub const ALL: [GarbageKind; 8] = [
        GarbageKind::Truncated,
        GarbageKind::NumberAsString,
        GarbageKind::NanString,
        GarbageKind::UnknownFields,
        GarbageKind::Overflow,
        GarbageKind::Empty,
        GarbageKind::NotUtf8,
        GarbageKind::Oversized,
    ];

    /// Relative frequency in the mix: oversized messages are rare because each is ~260 KiB.
    fn weight(self) -> u64 {
        match self {
            GarbageKind::Truncated => 4,
            GarbageKind::NumberAsString | GarbageKind::NanString | GarbageKind::UnknownFields => 3,
            GarbageKind::Overflow | GarbageKind::Empty | GarbageKind::NotUtf8 => 2,
            GarbageKind::Oversized => 1,
        }
    }

    /// The kind a uniform `u` in `[0, 1)` picks, by weight.
    pub fn pick(u: f64) -> GarbageKind {
        let total: u64 = Self::ALL.iter().map(|k| k.weight()).sum();
        let mut left = (u * total as f64) as u64;
        for kind in Self::ALL {
            if left < kind.weight() {
                return kind;
            }
            left -= kind.weight();
        }
        GarbageKind::Truncated
    }

    /// The reason the hub's decoder gives for this kind.
    pub fn reason(self) -> RejectReason {
        match self {
            GarbageKind::Truncated | GarbageKind::Empty => RejectReason::MalformedJson,
            GarbageKind::NumberAsString | GarbageKind::NanString => RejectReason::WrongType,
            GarbageKind::UnknownFields => RejectReason::MissingValue,
            GarbageKind::Overflow => RejectReason::NotFinite,
            GarbageKind::NotUtf8 => RejectReason::NotUtf8,
            GarbageKind::Oversized => RejectReason::Oversized,
        }
    }
}

/// The bytes of one malformed message from station `key`, built around its first reading so that
/// the dead letter looks like that station's traffic; `salt` varies the details.
pub fn payload(
    kind: GarbageKind,
    key: &str,
    unix_ms: u64,
    reading: &Reading,
    salt: u64,
) -> Vec<u8> {
    let bt = unix_ms as f64 / 1000.0;
    let (name, unit, value) = (reading.name, reading.unit, reading.value);
    let good = format!(r#"[{{"bn":"{key}/","bt":{bt},"n":"{name}","u":"{unit}","v":{value}}}]"#);
    match kind {
        GarbageKind::Truncated => {
            // Somewhere after the opening brace, before the closing bracket.
            let cut = 2 + (salt as usize % (good.len() - 3));
            good.as_bytes()[..cut].to_vec()
        }
        GarbageKind::NumberAsString => {
            format!(r#"{{"ts":{unix_ms},"{name}":"{value}"}}"#).into_bytes()
        }
        GarbageKind::NanString => {
            format!(r#"[{{"bn":"{key}/","bt":{bt},"n":"{name}","u":"{unit}","v":"NaN"}}]"#)
                .into_bytes()
        }
        GarbageKind::UnknownFields => {
            format!(r#"[{{"device":"{key}","time":{bt},"name":"{name}","value":{value}}}]"#)
                .into_bytes()
        }
        GarbageKind::Overflow => {
            format!(r#"[{{"bn":"{key}/","bt":{bt},"n":"{name}","u":"{unit}","v":1e999}}]"#)
                .into_bytes()
        }
        GarbageKind::Empty => Vec::new(),
        // 0xFF never occurs in UTF-8; the rest is high-bit noise.
        GarbageKind::NotUtf8 => std::iter::once(0xFF)
            .chain((0..23u64).map(|i| 0x80 | (rng::hash(&[salt, i]) as u8 & 0x7F)))
            .collect(),
        GarbageKind::Oversized => {
            let limit = Limits::default().max_payload_bytes;
            let pad = "x".repeat(limit + 4096);
            format!(
                r#"[{{"bn":"{key}/","bt":{bt},"n":"{name}","u":"{unit}","v":{value},"vs":"{pad}"}}]"#
            )
            .into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iochub_devices::{Catalog, decode};

    const NOW_MS: u64 = 1_732_270_000_000;

    fn reading() -> Reading {
        Reading {
            name: "water_level",
            unit: "m",
            value: 3.42,
        }
    }

    #[test]
    fn the_hub_refuses_every_kind_for_its_reason() {
        let catalog = Catalog::builtin();
        for kind in GarbageKind::ALL {
            for salt in 0..40 {
                let bytes = payload(kind, "cb-wl-banggiang-03", NOW_MS, &reading(), salt);
                let decoded = decode(
                    "cb-wl-banggiang-03",
                    &bytes,
                    NOW_MS as i64,
                    &Limits::default(),
                    &catalog,
                );
                assert!(decoded.readings.is_empty(), "{kind:?} {salt}: {decoded:?}");
                let reasons: Vec<_> = decoded.rejects.iter().map(|r| r.reason).collect();
                assert_eq!(reasons, [kind.reason()], "{kind:?} salt {salt}");
            }
        }
    }

    #[test]
    fn the_mix_follows_the_weights() {
        let mut seen = std::collections::HashMap::new();
        for i in 0..20_000 {
            let kind = GarbageKind::pick(rng::unit(&[7, i]));
            *seen.entry(kind).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), GarbageKind::ALL.len(), "{seen:?}");
        // Weight 4 of 20 vs weight 1 of 20.
        let (truncated, oversized) = (seen[&GarbageKind::Truncated], seen[&GarbageKind::Oversized]);
        assert!((3500..4500).contains(&truncated), "{truncated}");
        assert!((800..1200).contains(&oversized), "{oversized}");
    }
}
