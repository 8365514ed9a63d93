//! The video wall's named layouts: a grid of 1, 4, 9 or 16 tiles and the camera of each, saved
//! by an operator so that a wall (`/wall/?layout=name`) or a colleague opens the same picture.
//! A layout names cameras by id and is not rewritten when a camera goes: the wall leaves that
//! tile empty, and a camera outside a viewer's areas is not shown to that viewer.

use serde::{Deserialize, Serialize};

use super::model::InvalidCamera;

/// Tiles per grid, as the wall offers them.
pub const GRID_SIZES: [u8; 4] = [1, 4, 9, 16];
/// The longest layout name, in characters.
const NAME_MAX: usize = 64;

/// A layout as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WallLayout {
    pub name: String,
    /// 1, 4, 9 or 16.
    pub size: u8,
    /// The camera of each tile, in reading order; `null` for an empty tile. At most `size`.
    pub tiles: Vec<Option<String>>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
    /// Who saved it last.
    pub updated_by: String,
}

/// A layout as an operator saves it (`PUT /api/v1/wall/layouts/{name}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutBody {
    /// 1, 4, 9 or 16.
    pub size: u8,
    /// The camera of each tile in reading order, `null` for an empty one; at most `size`.
    pub tiles: Vec<Option<String>>,
}

impl LayoutBody {
    /// The layout to store, once its name and shape are valid (the cameras are the caller's
    /// to check: which exist, and which the account sees).
    pub fn layout(self, name: &str, by: &str, now_ms: i64) -> Result<WallLayout, InvalidCamera> {
        let name = layout_name(name)?;
        if !GRID_SIZES.contains(&self.size) {
            return Err(invalid("size", "1, 4, 9 or 16 tiles"));
        }
        if self.tiles.len() > usize::from(self.size) {
            return Err(invalid(
                "tiles",
                format!("at most {} tiles for a grid of {}", self.size, self.size),
            ));
        }
        let mut tiles = self.tiles;
        while tiles.last().is_some_and(Option::is_none) {
            tiles.pop();
        }
        Ok(WallLayout {
            name,
            size: self.size,
            tiles,
            updated_at: now_ms,
            updated_by: by.to_owned(),
        })
    }
}

/// A layout's name: trimmed, 1 to 64 characters, no control characters and no `/` (it is a
/// path segment and a wall's `?layout=`).
pub fn layout_name(raw: &str) -> Result<String, InvalidCamera> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(invalid("name", format!("1 to {NAME_MAX} characters")));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(invalid("name", "no control characters and no `/`"));
    }
    Ok(name.to_owned())
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidCamera {
    InvalidCamera {
        field,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(size: u8, tiles: &[Option<&str>]) -> LayoutBody {
        LayoutBody {
            size,
            tiles: tiles.iter().map(|t| t.map(str::to_owned)).collect(),
        }
    }

    #[test]
    fn a_layout_keeps_its_tiles_in_order_and_drops_trailing_empty_ones() {
        let l = body(4, &[None, Some("cam-b"), Some("cam-a"), None])
            .layout("  Cầu Bằng Giang ", "op", 7)
            .unwrap();
        assert_eq!(l.name, "Cầu Bằng Giang");
        assert_eq!(
            l.tiles,
            vec![None, Some("cam-b".into()), Some("cam-a".into())]
        );
        assert_eq!((l.size, l.updated_at, l.updated_by.as_str()), (4, 7, "op"));
    }

    #[test]
    fn bad_shapes_and_names_are_refused_by_field() {
        let field = |r: Result<WallLayout, InvalidCamera>| r.unwrap_err().field;
        assert_eq!(field(body(5, &[]).layout("x", "op", 0)), "size");
        assert_eq!(
            field(body(1, &[Some("a"), Some("b")]).layout("x", "op", 0)),
            "tiles"
        );
        assert_eq!(field(body(4, &[]).layout(" ", "op", 0)), "name");
        assert_eq!(field(body(4, &[]).layout("a/b", "op", 0)), "name");
        assert_eq!(field(body(4, &[]).layout("a\nb", "op", 0)), "name");
        assert_eq!(field(body(4, &[]).layout(&"x".repeat(65), "op", 0)), "name");
        assert!(body(16, &[]).layout(&"ầ".repeat(64), "op", 0).is_ok());
    }
}
