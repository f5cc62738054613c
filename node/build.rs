//! Rebuild when anything under `web/` changes: the UI is embedded into the
//! binary (api/ui.rs), and a new file must reach it too, not only an edited
//! one (cargo scans the whole folder for changes).

fn main() {
    println!("cargo:rerun-if-changed=../web");
    println!("cargo:rerun-if-changed=build.rs");
}
