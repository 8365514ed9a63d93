//! Administrative areas (province and commune boundaries: local government has two levels since
//! July 2025, the province and its communes and wards) loaded from the IOC's GeoJSON files, and
//! the shapes an operator picks on the map — an area, a circle, a polygon — with the one question
//! asked of them: does this point lie inside?
//!
//! Geometry is plain planar lon/lat (even-odd ray casting): at province scale the error against
//! geodesic edges is metres, far below the precision of the boundary files themselves.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    #[error("cannot read area file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("area file {source_name}: {reason}")]
    Invalid { source_name: String, reason: String },
}

/// One ring: a closed sequence of `[lon, lat]`.
type Ring = Vec<[f64; 2]>;

/// Rings of one or more polygons; a point is inside when an odd number of rings contains it,
/// which handles holes and multipolygons alike.
#[derive(Debug, Clone)]
pub struct Rings {
    rings: Vec<Ring>,
    bbox: [f64; 4],
}

impl Rings {
    fn new(rings: Vec<Ring>) -> Option<Self> {
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for p in rings.iter().flatten() {
            bbox = [
                bbox[0].min(p[0]),
                bbox[1].min(p[1]),
                bbox[2].max(p[0]),
                bbox[3].max(p[1]),
            ];
        }
        (rings.iter().any(|r| r.len() >= 3)).then_some(Self { rings, bbox })
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        if lon < x0 || lon > x1 || lat < y0 || lat > y1 {
            return false;
        }
        self.rings
            .iter()
            .filter(|r| ring_contains(r, lon, lat))
            .count()
            % 2
            == 1
    }
}

fn ring_contains(ring: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for (i, a) in ring.iter().enumerate() {
        let b = ring[j];
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// An administrative area.
#[derive(Debug)]
pub struct Area {
    pub id: String,
    pub name: String,
    /// `province`, `ward` (phường), `commune` (xã), … as the file says; the hub gives it no
    /// meaning beyond `province` (the map's home view and outline).
    pub level: String,
    /// Drawn for a demo or a drill, not an official boundary.
    pub illustrative: bool,
    pub shape: Rings,
}

impl Area {
    /// An area that contains no point: what an account scoped to areas that are no longer
    /// configured sees.
    pub fn nowhere() -> Self {
        Area {
            id: String::new(),
            name: String::new(),
            level: String::new(),
            illustrative: false,
            shape: Rings {
                rings: Vec::new(),
                bbox: [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            },
        }
    }
}

/// Every configured area, and the FeatureCollection the map draws.
#[derive(Debug, Default)]
pub struct Areas {
    list: Vec<Arc<Area>>,
    geojson: Value,
}

impl Areas {
    /// Reads each GeoJSON file; ids must be unique across files.
    pub fn load(paths: &[PathBuf]) -> Result<Self, AreaError> {
        let mut texts = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| AreaError::Read {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            texts.push((path.display().to_string(), text));
        }
        Self::parse(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// Parses `(source name, GeoJSON text)` pairs: FeatureCollections of Polygon/MultiPolygon
    /// features with `properties.id` (string or number) and optionally `name`, `level`,
    /// `illustrative`.
    pub fn parse<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, AreaError> {
        let mut list = Vec::new();
        let mut features = Vec::new();
        let mut ids = HashSet::new();
        for (source_name, text) in sources {
            let invalid = |reason: String| AreaError::Invalid {
                source_name: source_name.to_owned(),
                reason,
            };
            let doc: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
            let feats = match doc.get("type").and_then(Value::as_str) {
                Some("FeatureCollection") => doc
                    .get("features")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| invalid("`features` must be an array".into()))?,
                Some("Feature") => vec![doc.clone()],
                _ => return Err(invalid("expected a FeatureCollection or a Feature".into())),
            };
            for (i, f) in feats.into_iter().enumerate() {
                let area =
                    area_from_feature(&f).map_err(|r| invalid(format!("feature {i}: {r}")))?;
                if !ids.insert(area.id.clone()) {
                    return Err(invalid(format!("feature {i}: duplicate id {:?}", area.id)));
                }
                features.push(serde_json::json!({
                    "type": "Feature",
                    "id": list.len(),
                    "properties": {
                        "id": area.id, "name": area.name, "level": area.level,
                        "illustrative": area.illustrative,
                    },
                    "geometry": f.get("geometry").cloned().unwrap_or(Value::Null),
                }));
                list.push(Arc::new(area));
            }
        }
        let geojson = serde_json::json!({ "type": "FeatureCollection", "features": features });
        Ok(Self { list, geojson })
    }

    pub fn get(&self, id: &str) -> Option<Arc<Area>> {
        self.list.iter().find(|a| a.id == id).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether area `id` exists and contains the point.
    pub fn contains(&self, id: &str, lon: f64, lat: f64) -> bool {
        self.list
            .iter()
            .any(|a| a.id == id && a.shape.contains(lon, lat))
    }

    pub fn feature_collection(&self) -> &Value {
        &self.geojson
    }

    /// The ids of every area that contains the point, in file order (the province first when
    /// its file comes first).
    pub fn containing(&self, lon: f64, lat: f64) -> Vec<String> {
        self.list
            .iter()
            .filter(|a| a.shape.contains(lon, lat))
            .map(|a| a.id.clone())
            .collect()
    }
}

fn area_from_feature(f: &Value) -> Result<Area, String> {
    let props = f.get("properties").cloned().unwrap_or(Value::Null);
    let id = match props.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 100 => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("`properties.id` must be a non-empty string (at most 100 bytes)".into()),
    };
    let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_owned);
    let geometry = f.get("geometry").ok_or("no `geometry`")?;
    let coords = geometry
        .get("coordinates")
        .ok_or("geometry without `coordinates`")?;
    let rings: Vec<Ring> = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => rings(coords)?,
        Some("MultiPolygon") => {
            let polys = coords
                .as_array()
                .ok_or("MultiPolygon coordinates must be an array")?;
            let mut all = Vec::new();
            for p in polys {
                all.extend(rings(p)?);
            }
            all
        }
        other => {
            return Err(format!(
                "geometry type {other:?}: expected Polygon or MultiPolygon"
            ));
        }
    };
    let shape = Rings::new(rings).ok_or("a polygon needs at least 3 positions")?;
    Ok(Area {
        name: text("name").unwrap_or_else(|| id.clone()),
        level: text("level").unwrap_or_else(|| "area".into()),
        illustrative: props
            .get("illustrative")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        id,
        shape,
    })
}

fn rings(polygon: &Value) -> Result<Vec<Ring>, String> {
    let rings = polygon
        .as_array()
        .ok_or("polygon coordinates must be an array of rings")?;
    rings
        .iter()
        .map(|r| {
            let pts = r.as_array().ok_or("a ring must be an array of positions")?;
            pts.iter().map(position).collect::<Result<Ring, String>>()
        })
        .collect()
}

fn position(p: &Value) -> Result<[f64; 2], String> {
    let lon = p.get(0).and_then(Value::as_f64);
    let lat = p.get(1).and_then(Value::as_f64);
    match (lon, lat) {
        (Some(lon), Some(lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Ok([lon, lat])
        }
        _ => Err(format!("position {p} is not [lon, lat] in range")),
    }
}

/// What an operator selected on the map.
#[derive(Debug, Clone)]
pub enum Shape {
    Area(Arc<Area>),
    Circle { center: [f64; 2], radius_m: f64 },
    Polygon(Rings),
}

impl Shape {
    /// A drawn polygon (`[lon, lat]` positions; closing it is optional).
    pub fn polygon(points: Vec<[f64; 2]>) -> Option<Self> {
        Rings::new(vec![points]).map(Shape::Polygon)
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        match self {
            Shape::Area(a) => a.shape.contains(lon, lat),
            Shape::Polygon(r) => r.contains(lon, lat),
            Shape::Circle { center, radius_m } => haversine_m(*center, [lon, lat]) <= *radius_m,
        }
    }
}

/// Great-circle distance in metres between two `[lon, lat]` positions.
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (p1, p2) = (a[1].to_radians(), b[1].to_radians());
    let dp = p2 - p1;
    let dl = (b[0] - a[0]).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// Paths from a config value: a TOML array, or a comma-separated `IOCHUB_AREAS`.
pub fn paths_from_env(value: &str) -> Vec<PathBuf> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_holes_and_multipolygons() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"id":"sq","name":"Square","level":"commune"},
           "geometry":{"type":"Polygon","coordinates":[
             [[0,0],[10,0],[10,10],[0,10],[0,0]],
             [[4,4],[6,4],[6,6],[4,6],[4,4]]]}},
          {"type":"Feature","properties":{"id":7},
           "geometry":{"type":"MultiPolygon","coordinates":[
             [[[20,0],[22,0],[22,2],[20,0]]],
             [[[30,0],[32,0],[32,2],[30,2],[30,0]]]]}}]}"#;
        let areas = Areas::parse([("t", text)]).expect("valid");
        let sq = Shape::Area(areas.get("sq").expect("sq"));
        assert!(sq.contains(1.0, 1.0) && sq.contains(9.0, 5.0));
        assert!(!sq.contains(5.0, 5.0), "inside the hole");
        assert!(!sq.contains(11.0, 5.0));
        let multi = Shape::Area(areas.get("7").expect("numeric id"));
        assert!(
            multi.contains(31.0, 1.0) && multi.contains(21.5, 0.5) && !multi.contains(25.0, 1.0)
        );
        assert_eq!(
            areas.feature_collection()["features"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn bad_files_name_the_feature() {
        let dup = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}},
          {"type":"Feature","properties":{"id":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}}]}"#;
        let e = Areas::parse([("f.geojson", dup)]).expect_err("duplicate");
        assert!(e.to_string().contains("feature 1: duplicate id"), "{e}");
        let point = r#"{"type":"Feature","properties":{"id":"p"},"geometry":{"type":"Point","coordinates":[0,0]}}"#;
        let e = Areas::parse([("f.geojson", point)]).expect_err("point");
        assert!(
            e.to_string().contains("expected Polygon or MultiPolygon"),
            "{e}"
        );
        let far = r#"{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1]]]}}"#;
        assert!(Areas::parse([("f", far)]).is_err());
    }

    #[test]
    fn circles_are_geodesic() {
        // 0.01 degree of latitude is about 1,112 m.
        let c = Shape::Circle {
            center: [106.25, 22.66],
            radius_m: 1_200.0,
        };
        assert!(c.contains(106.25, 22.67));
        assert!(!c.contains(106.25, 22.672));
    }
}
