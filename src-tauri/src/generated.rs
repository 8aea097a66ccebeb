//! The UI's TypeScript types, generated from the Rust definitions by tests (ts-rs is a
//! dev-dependency only). Each generated file has a test that fails when the committed copy
//! is stale; `HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types` rewrites them.

/// The ts-rs settings every generated file shares (ids are plain numbers in the UI).
pub fn config() -> ts_rs::Config {
    ts_rs::Config::new().with_large_int("number")
}

/// Checks that `ui/src/lib/generated/<file>` holds `imports` (lines naming types of another
/// generated file) and `decls` (as generated from `source`), first rewriting it when
/// `HUDDLE_UPDATE_GENERATED` is set.
pub fn check(
    file: &str,
    source: &str,
    imports: &[&str],
    decls: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ui")
        .join("src")
        .join("lib")
        .join("generated")
        .join(file);
    let mut fresh = format!(
        "// Generated from {source} by its tests; do not edit.\n\
         // Regenerate: HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types\n"
    );
    if !imports.is_empty() {
        fresh.push('\n');
    }
    for import in imports {
        fresh.push_str(import);
        fresh.push('\n');
    }
    for decl in decls {
        fresh.push_str("\nexport ");
        fresh.push_str(decl);
        fresh.push('\n');
    }
    if std::env::var_os("HUDDLE_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().ok_or("generated dir")?)?;
        std::fs::write(&path, &fresh)?;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: run HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types",
        path.display()
    );
    Ok(())
}
