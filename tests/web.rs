//! The dashboard in a real browser: `tests/web/run.mjs` (playwright-core driving Debian's
//! Chromium) against this build's `iochub demo`, serving the copy of the app compiled into the
//! binary. `scripts/test` installs Chromium and the test's npm packages; screenshots land in
//! `tests/web/artifacts/`.

use std::path::Path;
use std::process::Command;

#[test]
fn dashboard_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "the browser test's packages are missing: run scripts/test, or npm ci in tests/web"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Chromium is missing: run scripts/test, or apt-get install chromium"
    );
    // node's output goes straight to the terminal: one line per check.
    let status = Command::new("node")
        .arg("run.mjs")
        .current_dir(&dir)
        .env("IOCHUB_BIN", env!("CARGO_BIN_EXE_iochub"))
        .env("IOCHUB_WEB_EMBEDDED", "1")
        .status()
        .expect("run node (Node.js 18+ is needed for the browser tests)");
    assert!(status.success(), "browser checks failed: {status}");
}
