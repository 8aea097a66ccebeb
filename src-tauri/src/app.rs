//! Wiring of the Tauri shell: shared state, commands and the main window.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tauri::{Emitter, Manager};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::error::AppError;
use crate::frames::Hub;
use crate::host::Host;
use crate::links::PendingLink;
use crate::logging::LogHandle;
use crate::notifications::Notifications;
use crate::settings::SettingsStore;
use crate::video_server::VideoServer;

/// State shared by all commands.
pub struct AppState {
    pub log_dir: PathBuf,
    pub settings: SettingsStore,
}

pub fn run(log: LogHandle, renderer: crate::renderer::Choice) -> Result<(), AppError> {
    let state = AppState {
        log_dir: log.dir.clone(),
        settings: SettingsStore::in_config_dir()?,
    };
    let hub = Arc::new(Hub::default());
    let software = renderer == crate::renderer::Choice::DmabufOff;
    let video = VideoServer::start(Arc::clone(&hub), software).map_err(|source| AppError::Io {
        action: "listen for video on",
        path: "127.0.0.1".to_owned(),
        source,
    })?;
    let links = PendingLink::default();
    let args: Vec<String> = std::env::args().collect();
    if let Some(link) = crate::links::links_in(&args).last() {
        links.offer(link);
    }
    let instance = instance_id(state.settings.path());
    tauri::Builder::default()
        // First, so that a second launch hands over before anything else starts.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance)
                .callback(|app, args, _cwd| {
                    tracing::info!("a second launch handed over");
                    match crate::links::links_in(&args).last() {
                        Some(link) => open_link(app, link),
                        None => bring_forward(app),
                    }
                })
                .build(),
        )
        // The window opens where, and as large, as it was left (saved on close and exit, in
        // the app's config directory; a place off every screen is not restored).
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(WINDOW_STATE)
                .build(),
        )
        .manage(links)
        .manage(state)
        .manage(video)
        .manage(Host::default())
        .manage(crate::commands::network::NetworkTest::default())
        .manage(crate::devices::DeviceCheck::default())
        .manage(Arc::clone(&hub))
        .plugin(tauri_plugin_notification::init())
        // In-meeting apps' files, for the apps panel's sandboxed frame (docs/apps.md).
        .register_asynchronous_uri_scheme_protocol(
            crate::apps::SCHEME,
            |ctx, request, responder| {
                let assets = crate::apps::Embedded::new(ctx.app_handle());
                tauri::async_runtime::spawn_blocking(move || {
                    let response = match crate::apps::installed_dir() {
                        Ok(dir) => crate::apps::serve(
                            &assets,
                            &dir,
                            request.method().as_str(),
                            request.uri().path(),
                        ),
                        Err(e) => crate::apps::Response::unavailable(&e.to_string()),
                    };
                    responder.respond(response.into_http());
                });
            },
        )
        // Join links on macOS and Windows; on Linux the desktop entry and the single instance
        // above bring them.
        .plugin(tauri_plugin_deep_link::init())
        .setup(move |app| {
            if let Some(window) = app.get_webview_window("main") {
                crate::webview::trim(&window);
            }
            let alerts = notifications(app);
            app.manage(crate::call::Call::new(hub).with_alerts(Arc::clone(&alerts)));
            app.manage(alerts);
            take_opened_links(app);
            // Host on this computer from the start (for the network, if the user asked for
            // that last time): the pre-join screen is then ready to host or join without
            // another step.
            let reach = match app.state::<AppState>().settings.peek() {
                Some(settings) if settings.host_on_network => crate::host::Reach::Network,
                _ => crate::host::Reach::ThisComputer,
            };
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<Host>().start_at_launch(reach).await;
            });
            save_window_state_when_it_settles(app);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            crate::commands::app::app_info,
            crate::commands::app::video_endpoint,
            crate::commands::app::take_join_link,
            crate::commands::devices::devices_list,
            crate::commands::devices::preview_start,
            crate::commands::devices::preview_stop,
            crate::commands::devices::meter_start,
            crate::commands::devices::meter_stop,
            crate::commands::devices::audio_input_set,
            crate::commands::devices::play_test_sound,
            crate::commands::host::host_status,
            crate::commands::host::host_start,
            crate::commands::host::host_stop,
            crate::commands::network::network_test,
            crate::commands::network::network_test_cancel,
            crate::commands::settings::load_settings,
            crate::commands::settings::save_settings,
            crate::commands::call::call_join,
            crate::commands::call::call_leave,
            crate::commands::call::call_end_for_all,
            crate::commands::call::call_set_audio,
            crate::commands::call::call_set_video,
            crate::commands::call::call_share,
            crate::commands::call::screens_list,
            crate::commands::call::call_chat,
            crate::commands::call::call_roster_page,
            crate::commands::call::call_set_metadata,
            crate::commands::call::call_delete_metadata,
            crate::commands::call::call_set_hand,
            crate::commands::call::call_react,
            crate::commands::call::call_tile_sizes,
            crate::commands::call::call_switch_device,
            crate::commands::call::call_set_member_volume,
            crate::commands::call::call_input_level,
            crate::commands::apps::apps_list,
            crate::commands::apps::apps_folder,
            crate::commands::apps::call_app_open,
            crate::commands::apps::call_app_close,
            crate::commands::apps::call_app_message,
            crate::commands::apps::call_app_set_state,
            crate::commands::apps::call_app_invite,
            crate::commands::manage::manage_mute,
            crate::commands::manage::manage_mute_all,
            crate::commands::manage::manage_stop_video,
            crate::commands::manage::manage_ask_unmute,
            crate::commands::manage::manage_rename,
            crate::commands::manage::manage_remove,
            crate::commands::manage::manage_remove_others,
            crate::commands::manage::manage_lower_hand,
            crate::commands::manage::manage_lock_session,
            crate::commands::manage::manage_lock_sharing,
            crate::commands::manage::manage_audience_chat,
            crate::commands::manage::manage_spotlight,
            crate::commands::manage::manage_promote,
            crate::commands::manage::manage_demote,
            crate::commands::manage::manage_make_manager,
            crate::commands::manage::manage_revoke_manager,
            crate::commands::manage::manage_transfer_host,
            crate::commands::manage::manage_set_deaf,
            crate::commands::manage::manage_set_hands_first,
            crate::commands::manage::manage_set_waiting_room,
            crate::commands::manage::manage_admit,
            crate::commands::manage::manage_admit_all,
            crate::commands::manage::manage_deny,
        ])
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                app.state::<crate::devices::DeviceCheck>().stop_all();
                tauri::async_runtime::block_on(app.state::<crate::call::Call>().leave_on_exit());
                // Members of hosted sessions are told the host's server is going away.
                tauri::async_runtime::block_on(app.state::<Host>().stop());
            }
        });
    tracing::info!("huddle closed");
    drop(log);
    Ok(())
}

/// The desktop notifications, on or off as the settings say, told when the window gains or
/// loses the focus; a click on one brings the window forward.
fn notifications(app: &tauri::App) -> Arc<Notifications> {
    use tauri_plugin_notification::NotificationExt;
    let sink = crate::notifications::DesktopSink::new(app.handle().clone());
    let alerts = Arc::new(Notifications::new(Arc::new(sink)));
    if let Some(settings) = app.state::<AppState>().settings.peek() {
        alerts.set_enabled(settings.notifications);
    }
    let handle = app.handle().clone();
    if let Err(e) = app
        .notification()
        .on_action(move |_| bring_forward(&handle))
    {
        tracing::debug!(error = %e, "notification clicks are not reported");
    }
    if let Some(window) = app.get_webview_window("main") {
        alerts.set_focused(window.is_focused().unwrap_or(true));
        let alerts = Arc::clone(&alerts);
        window.on_window_event(move |event| {
            if let tauri::WindowEvent::Focused(focused) = event {
                alerts.set_focused(*focused);
            }
        });
    }
    alerts
}

/// Links the system opens with the app (tauri-plugin-deep-link: an Apple event on macOS, a
/// launch through the registered scheme on Windows) go where a second launch's do on Linux.
fn take_opened_links(app: &tauri::App) {
    use tauri_plugin_deep_link::DeepLinkExt;
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        let urls = event.urls();
        if let Some(url) = urls.last() {
            tracing::info!("a join link was opened");
            open_link(&handle, url.as_str());
        }
    });
    // A link that started the app may have come before the handler was there.
    #[cfg(target_os = "macos")]
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        if let Some(url) = urls.last() {
            app.state::<PendingLink>().offer(url.as_str());
        }
    }
    // Installers register the scheme; a copy run from elsewhere registers it for this user.
    #[cfg(windows)]
    if let Err(e) = app.deep_link().register_all() {
        tracing::warn!(error = %e, "cannot register the huddle: scheme");
    }
}

/// Keeps a link for the pre-join screen, tells the window and brings it forward: for a second
/// launch's argument and a link the system opened alike.
fn open_link(app: &tauri::AppHandle, link: &str) {
    app.state::<PendingLink>().offer(link);
    if let Err(e) = app.emit("join_link", ()) {
        tracing::warn!(error = %e, "cannot tell the window about a link");
    }
    bring_forward(app);
}

/// What of the window is remembered.
const WINDOW_STATE: StateFlags = StateFlags::SIZE
    .union(StateFlags::POSITION)
    .union(StateFlags::MAXIMIZED)
    .union(StateFlags::FULLSCREEN);
/// A resize or move is saved once the window has been still this long.
const WINDOW_SAVE_QUIET: std::time::Duration = std::time::Duration::from_secs(1);

/// Saves the window's place and size shortly after it was moved or resized, not only when it
/// closes: an app ended without closing its window (logging out, a signal) keeps them too.
fn save_window_state_when_it_settles(app: &tauri::App) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let handle = app.handle().clone();
    let changes = Arc::new(AtomicU64::new(0));
    window.on_window_event(move |event| {
        if !matches!(
            event,
            tauri::WindowEvent::Resized(_) | tauri::WindowEvent::Moved(_)
        ) {
            return;
        }
        let change = changes.fetch_add(1, Ordering::Relaxed) + 1;
        let changes = Arc::clone(&changes);
        let handle = handle.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(WINDOW_SAVE_QUIET).await;
            if changes.load(Ordering::Relaxed) == change {
                if let Err(e) = handle.save_window_state(WINDOW_STATE) {
                    tracing::warn!(error = %e, "cannot save the window's place and size");
                }
            }
        });
    });
}

/// The name this app's single instance is known by: one per settings profile, so two people
/// (or two test runs) with their own settings each get their own window, and a launch with
/// the same settings reaches the running one.
fn instance_id(settings: &std::path::Path) -> String {
    // FNV-1a: stable across runs and builds, unlike the standard library's hasher.
    let hash = settings
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("app.huddle.desktop.p{hash:016x}")
}

/// Shows the main window on top, as the second launch asked for it.
fn bring_forward(app: &tauri::AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    for result in [window.unminimize(), window.show(), window.set_focus()] {
        if let Err(e) = result {
            tracing::debug!(error = %e, "bringing the window forward");
        }
    }
}
