//! Build script: embeds tauri.conf.json and generates the permission set for the app's
//! own commands, so that capabilities can grant them one by one.
fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_info",
        "devices_list",
        "preview_start",
        "preview_stop",
        "meter_start",
        "meter_stop",
        "play_test_sound",
        "load_settings",
        "save_settings",
        "host_status",
        "host_start",
        "host_stop",
        "network_test",
        "network_test_cancel",
    ]);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/**/*")
            .app_manifest(manifest),
    )
    .expect("tauri.conf.json and src-tauri/capabilities are valid");
}
