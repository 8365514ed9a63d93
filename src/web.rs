//! The dashboard's static assets (`dashboards/web`), compiled into the binary so that the app
//! works with no internet and no files beside the binary. `web_dir` (`IOCHUB_WEB_DIR`) serves
//! a directory instead — for developing the app, or for an IOC that ships its own build.
//!
//! The app has no build step: ES modules plus libraries vendored from their npm packages.

use std::path::{Component, Path, PathBuf};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/dashboards/web");

/// Where assets come from.
#[derive(Clone, Debug)]
pub enum Assets {
    Embedded,
    Directory(PathBuf),
}

impl Assets {
    pub fn new(dir: Option<PathBuf>) -> Self {
        dir.map_or(Assets::Embedded, Assets::Directory)
    }

    /// The asset at `uri`'s path (`/` is `index.html`), or 404.
    pub async fn serve(&self, uri: &Uri) -> Response {
        let Some(rel) = relative(uri.path()) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        // Embedded files are served from the binary's memory as they are, not copied.
        let body = match self {
            Assets::Embedded => EMBEDDED
                .get_file(&rel)
                .map(|f| Bytes::from_static(f.contents())),
            Assets::Directory(root) => tokio::fs::read(root.join(&rel)).await.ok().map(Bytes::from),
        };
        match body {
            Some(bytes) => {
                let cache = if rel.starts_with("vendor/") {
                    // Vendored libraries change only with the binary.
                    "public, max-age=86400"
                } else {
                    "no-cache"
                };
                (
                    [
                        (header::CONTENT_TYPE, HeaderValue::from_static(mime(&rel))),
                        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                        (
                            header::X_CONTENT_TYPE_OPTIONS,
                            HeaderValue::from_static("nosniff"),
                        ),
                    ],
                    bytes,
                )
                    .into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// The request path as a relative file path; `None` for anything that climbs out of the root.
fn relative(path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    Path::new(&path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(path)
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "geojson" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "pbf" => "application/x-protobuf",
        "wav" => "audio/wav",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        assert_eq!(relative("/").as_deref(), Some("index.html"));
        assert_eq!(relative("/wall/").as_deref(), Some("wall/index.html"));
        assert_eq!(relative("/vendor/a.js").as_deref(), Some("vendor/a.js"));
        assert_eq!(relative("/../etc/passwd"), None);
        assert_eq!(relative("/a/../../b"), None);
    }

    #[test]
    fn the_app_is_embedded() {
        assert!(EMBEDDED.get_file("index.html").is_some());
    }
}
