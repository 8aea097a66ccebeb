//! What the meeting window's webview does not need, turned off (WebKitGTK on Linux). Media is
//! in Rust and the page never navigates, so WebKit's caches for browsing, its page cache and
//! its own media, WebRTC, Web Audio and storage engines only cost memory. Measured one by one
//! in docs/app.md. `HUDDLE_WEBKIT_DEFAULTS=1` keeps WebKit's defaults, for comparisons.

/// The environment variable that keeps WebKit's defaults.
pub const DEFAULTS_VAR: &str = "HUDDLE_WEBKIT_DEFAULTS";

/// Applies the lean settings to `window`'s webview, unless [`DEFAULTS_VAR`] is set.
pub fn trim<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if std::env::var_os(DEFAULTS_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        tracing::info!("webview: WebKit's default settings kept");
        return;
    }
    #[cfg(target_os = "linux")]
    let applied = window.with_webview(|webview| linux::trim(&webview.inner()));
    #[cfg(not(target_os = "linux"))]
    let applied: Result<(), tauri::Error> = Ok(());
    match applied {
        Ok(()) => tracing::info!("webview: lean settings"),
        Err(e) => tracing::warn!(error = %e, "webview settings not applied"),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::{CacheModel, SettingsExt as _, WebContextExt as _, WebViewExt};

    pub fn trim(webview: &webkit2gtk::WebView) {
        if let Some(context) = webview.context() {
            // One page that never navigates: no memory cache of other documents.
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        let Some(settings) = WebViewExt::settings(webview) else {
            return;
        };
        settings.set_enable_page_cache(false);
        settings.set_enable_webrtc(false);
        settings.set_enable_media_stream(false);
        settings.set_enable_mediasource(false);
        settings.set_enable_encrypted_media(false);
        settings.set_enable_webaudio(false);
        settings.set_enable_html5_database(false);
        settings.set_enable_offline_web_application_cache(false);
        settings.set_enable_dns_prefetching(false);
    }
}
