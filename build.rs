//! Rebuilds the hub when the dashboard's files change: `src/web.rs` compiles `dashboards/web` into
//! the binary, and `include_dir!` cannot tell cargo about the files it reads on stable Rust, so
//! without this an edit to the app alone would leave a stale copy in the binary.
fn main() {
    println!("cargo:rerun-if-changed=dashboards/web");
}
