//! Flat JSON: `{"ts": 1732270000123, "water_level": 3.42, "rain_1h": 12.5}`.
//!
//! `ts` is milliseconds since the epoch and optional (absent = now). Every other key is a metric
//! of the topic's device. Numbers are stored; booleans as 1.0 / 0.0 (same rule as SenML `vb`);
//! anything else refuses that key only.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::decode::{Sink, classify};
use crate::reading::RejectReason;

/// The object's entries, in order, values still unparsed so that each fails on its own.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of metric values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    out.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A flat value: a number, a boolean, or the name of the JSON type it wrongly is.
enum Value {
    Number(f64),
    Bool(bool),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a boolean")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Value, E> {
                Ok(Value::Other("a string"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Value::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

struct At<'a>(&'a str);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?}", self.0)
    }
}

pub(crate) fn decode(text: &str, topic_device: &str, sink: &mut Sink<'_>) {
    let Entries(entries) = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) => return sink.reject(classify(&e), format!("flat JSON: {e}")),
    };
    if entries.len() > sink.limits.max_records {
        return sink.reject(
            RejectReason::TooManyRecords,
            format!(
                "{} keys exceed the limit of {}",
                entries.len(),
                sink.limits.max_records
            ),
        );
    }
    let mut ts_ms = sink.now_ms;
    if let Some((_, raw)) = entries.iter().find(|(k, _)| k == "ts") {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Number(ms)) if ms.is_finite() => ts_ms = ms.round() as i64,
            Ok(_) => {
                return sink.reject(
                    RejectReason::WrongType,
                    "ts must be a number of milliseconds",
                );
            }
            Err(e) => return sink.reject(classify(&e), format!("ts: {e}")),
        }
    }
    for (key, raw) in entries.iter().filter(|(k, _)| k != "ts") {
        let at = At(key);
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Number(v)) => sink.reading(&at, topic_device, key, None, ts_ms, v),
            Ok(Value::Bool(b)) => sink.reading(
                &at,
                topic_device,
                key,
                None,
                ts_ms,
                if b { 1.0 } else { 0.0 },
            ),
            Ok(Value::Other(kind)) => sink.reject(
                RejectReason::WrongType,
                format!("{at}: expected a number or a boolean, found {kind}"),
            ),
            Err(e) => sink.reject(classify(&e), format!("{at}: {e}")),
        }
    }
}
