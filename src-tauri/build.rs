//! Build script: embeds tauri.conf.json and generates the permission set for the app's
//! own commands, so that capabilities can grant them one by one.
#[allow(
    clippy::expect_used,
    reason = "a build script reports a broken configuration by failing the build"
)]
fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_info",
        "video_endpoint",
        "take_join_link",
        "devices_list",
        "preview_start",
        "preview_stop",
        "meter_start",
        "meter_stop",
        "audio_input_set",
        "play_test_sound",
        "load_settings",
        "save_settings",
        "host_status",
        "host_start",
        "host_stop",
        "network_test",
        "network_test_cancel",
        "call_join",
        "call_leave",
        "call_end_for_all",
        "call_set_audio",
        "call_set_video",
        "call_share",
        "screens_list",
        "call_chat",
        "call_roster_page",
        "call_set_hand",
        "call_react",
        "call_tile_sizes",
        "call_switch_device",
        "call_set_member_volume",
        "call_input_level",
        "manage_mute",
        "manage_mute_all",
        "manage_stop_video",
        "manage_ask_unmute",
        "manage_rename",
        "manage_remove",
        "manage_remove_others",
        "manage_lower_hand",
        "manage_lock_session",
        "manage_lock_sharing",
        "manage_audience_chat",
        "manage_spotlight",
        "manage_promote",
        "manage_demote",
        "manage_make_manager",
        "manage_revoke_manager",
        "manage_transfer_host",
    ]);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/**/*")
            .app_manifest(manifest),
    )
    .expect("tauri.conf.json and src-tauri/capabilities are valid");
}
