//! The pre-join network test against the chosen server (or the one hosted here).

use huddle_client::nettest::{self, NettestOptions, Progress, Report};
use tauri::ipc::Channel;
use tauri::State;

use crate::error::AppError;
use crate::host::Host;
use crate::latest::Latest;

/// The running test, so a second click or the cancel button can stop it.
#[derive(Default)]
pub struct NetworkTest {
    running: Latest,
}

/// `meet.example.org:7880` means HTTPS; a URL keeps its scheme.
fn server_base(typed: &str) -> String {
    let typed = typed.trim();
    if typed.contains("://") {
        typed.to_owned()
    } else {
        format!("https://{typed}")
    }
}

#[tauri::command]
pub async fn network_test(
    server: String,
    token: Option<String>,
    on_progress: Channel<Progress>,
    host: State<'_, Host>,
    tests: State<'_, NetworkTest>,
) -> Result<Report, AppError> {
    let base = if server.trim().is_empty() {
        host.status().await.http_url.ok_or(AppError::NotHosting)?
    } else {
        server_base(&server)
    };
    let cancel = tests.running.start();
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    let forward = tauri::async_runtime::spawn(async move {
        while let Some(event) = rx.recv().await {
            // The window may be gone; the test result is still returned to whoever awaits.
            let _ = on_progress.send(event);
        }
    });
    let mut options = NettestOptions::new(base);
    options.token = crate::call::view::pasted_token(token);
    let result = nettest::run(&options, Some(tx), cancel).await;
    let _ = forward.await;
    Ok(result?)
}

#[tauri::command]
pub async fn network_test_cancel(tests: State<'_, NetworkTest>) -> Result<(), AppError> {
    tests.running.cancel();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::server_base;

    #[test]
    fn bare_addresses_mean_https_and_urls_keep_their_scheme() {
        assert_eq!(
            server_base(" meet.example.org:7880 "),
            "https://meet.example.org:7880"
        );
        assert_eq!(
            server_base("http://127.0.0.1:7880"),
            "http://127.0.0.1:7880"
        );
    }
}
