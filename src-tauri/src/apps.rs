//! In-meeting apps on this computer: the built-in ones (in the app's embedded web assets,
//! under `apps/<id>/`), the ones installed in the data folder (`apps/<id>/`), their
//! manifests, and the `huddleapp:` scheme that serves their files to the apps panel's
//! sandboxed frame with a strict Content-Security-Policy. See docs/apps.md.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The URL scheme apps are served from.
pub const SCHEME: &str = "huddleapp";

/// Apps that ship with Huddle, in the order the panel lists them.
pub const BUILT_IN: &[&str] = &["whiteboard", "poll"];

/// Ids an installed app may not take: the SDK's folder and the built-in apps.
const RESERVED: &[&str] = &["sdk", "whiteboard", "poll"];

/// Largest file the scheme serves from an installed app, in bytes.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most capabilities a manifest may list.
const MAX_CAPABILITIES: usize = 64;

/// What every response of the scheme carries: the app's files and nothing else may load;
/// no network at all (`connect-src 'none'`), no frames, forms or base URI.
pub const APP_CSP: &str = "default-src 'none'; \
    script-src huddleapp: http://huddleapp.localhost; \
    style-src huddleapp: http://huddleapp.localhost 'unsafe-inline'; \
    img-src huddleapp: http://huddleapp.localhost data: blob:; \
    font-src huddleapp: http://huddleapp.localhost; \
    media-src 'none'; connect-src 'none'; frame-src 'none'; worker-src 'none'; \
    object-src 'none'; base-uri 'none'; form-action 'none'";

/// One app as the apps panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The URL of the entry page, on the apps' scheme.
    pub entry: String,
    /// The URL of the icon, if the app has one.
    pub icon: Option<String>,
    /// What the manifest lets the app use; the bridge grants nothing else.
    pub capabilities: Vec<String>,
    pub built_in: bool,
    /// Why an installed app cannot be opened (its manifest is missing or wrong).
    pub problem: Option<String>,
}

/// A manifest as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    entry: String,
    #[serde(default)]
    icon: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
}

/// The base of every app URL: custom schemes are `scheme://localhost/` where the webview
/// takes them as they are, and `http://scheme.localhost/` on Windows.
#[must_use]
pub fn base_url() -> &'static str {
    if cfg!(windows) {
        "http://huddleapp.localhost/"
    } else {
        "huddleapp://localhost/"
    }
}

/// Where installed apps live.
pub fn installed_dir() -> Result<PathBuf, crate::error::AppError> {
    Ok(crate::settings::project_dirs()?.data_dir().join("apps"))
}

/// Reads the app's embedded web assets (the built-in apps and the SDK).
pub trait Assets {
    /// The bytes at `path` (relative to the web assets' root), if there is such a file.
    fn get(&self, path: &str) -> Option<Vec<u8>>;
}

/// The app's embedded web assets, as Tauri resolves them. Tauri answers a missing path
/// with the main page (for single-page routing); here a missing file is missing.
pub struct Embedded<R: tauri::Runtime> {
    resolver: tauri::AssetResolver<R>,
}

/// The main page's bytes, resolved once: the embedded assets never change while the app runs,
/// and every file the apps' scheme serves is compared with it.
static MAIN_PAGE: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();

impl<R: tauri::Runtime> Embedded<R> {
    pub fn new(app: &tauri::AppHandle<R>) -> Self {
        Embedded {
            resolver: app.asset_resolver(),
        }
    }
}

impl<R: tauri::Runtime> Assets for Embedded<R> {
    fn get(&self, path: &str) -> Option<Vec<u8>> {
        let main_page =
            MAIN_PAGE.get_or_init(|| self.resolver.get("index.html".to_owned()).map(|a| a.bytes));
        let asset = self.resolver.get(path.to_owned())?;
        if main_page.as_ref() == Some(&asset.bytes) {
            return None;
        }
        Some(asset.bytes)
    }
}

/// Checks a manifest found in `folder` (whose name must be its id).
fn check(manifest: Manifest, folder: &str) -> Result<AppEntry, String> {
    let id = huddle_proto::AppId::parse(&manifest.id).map_err(|e| e.to_string())?;
    if id.as_str() != folder {
        return Err(format!(
            "the manifest's id {:?} is not the folder's name {folder:?}",
            manifest.id
        ));
    }
    let name = manifest.name.trim();
    let name_chars = name.chars().count();
    if name_chars == 0 || name_chars > 60 {
        return Err("the name must have 1 to 60 characters".to_owned());
    }
    if manifest.description.chars().count() > 200 {
        return Err("the description may have at most 200 characters".to_owned());
    }
    relative(&manifest.entry).map_err(|e| format!("entry: {e}"))?;
    if let Some(icon) = &manifest.icon {
        relative(icon).map_err(|e| format!("icon: {e}"))?;
    }
    if manifest.capabilities.len() > MAX_CAPABILITIES {
        return Err(format!(
            "at most {MAX_CAPABILITIES} capabilities may be listed"
        ));
    }
    if let Some(bad) = manifest
        .capabilities
        .iter()
        .find(|c| c.is_empty() || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()))
    {
        return Err(format!("{bad:?} is not a capability name"));
    }
    let base = format!("{}{}/", base_url(), id);
    Ok(AppEntry {
        id: id.to_string(),
        name: name.to_owned(),
        description: manifest.description.trim().to_owned(),
        entry: format!("{base}{}", manifest.entry),
        icon: manifest.icon.map(|icon| format!("{base}{icon}")),
        capabilities: manifest.capabilities,
        built_in: RESERVED.contains(&id.as_str()),
        problem: None,
    })
}

/// A path inside an app's folder: segments of ordinary characters, never `..`, a root, a
/// drive or a backslash.
fn relative(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > 256 {
        return Err("the path must have 1 to 256 characters".to_owned());
    }
    let ordinary = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    if !path.chars().all(ordinary) {
        return Err(format!(
            "{path:?} may only hold a-z, A-Z, 0-9, '.', '_', '-' and '/'"
        ));
    }
    if path
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!("{path:?} must stay inside the app's folder"));
    }
    Ok(())
}

fn parse(bytes: &[u8], folder: &str) -> Result<AppEntry, String> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest.json is not valid: {e}"))?;
    check(manifest, folder)
}

/// The built-in apps, then those installed in `dir` (sorted by name), each with its problem
/// if it has one.
pub fn list(assets: &dyn Assets, dir: &Path) -> Vec<AppEntry> {
    let mut apps: Vec<AppEntry> = BUILT_IN
        .iter()
        .filter_map(|id| {
            let bytes = assets.get(&format!("apps/{id}/manifest.json"))?;
            match parse(&bytes, id) {
                Ok(entry) => Some(entry),
                Err(why) => {
                    tracing::error!(app = id, %why, "a built-in app's manifest is wrong");
                    None
                }
            }
        })
        .collect();
    let mut installed = Vec::new();
    if let Ok(folders) = std::fs::read_dir(dir) {
        for folder in folders.flatten() {
            if !folder.path().is_dir() {
                continue;
            }
            let name = folder.file_name().to_string_lossy().into_owned();
            installed.push(installed_entry(dir, &name));
        }
    }
    installed.sort_by_key(|a| a.name.to_lowercase());
    apps.extend(installed);
    apps
}

/// An installed app's entry, or one that says why it cannot be opened.
fn installed_entry(dir: &Path, folder: &str) -> AppEntry {
    let found = if RESERVED.contains(&folder) {
        Err(format!(
            "{folder:?} is the name of a built-in part of Huddle"
        ))
    } else {
        std::fs::read(dir.join(folder).join("manifest.json"))
            .map_err(|e| format!("manifest.json cannot be read: {e}"))
            .and_then(|bytes| parse(&bytes, folder))
    };
    found.unwrap_or_else(|problem| AppEntry {
        id: folder.to_owned(),
        name: folder.to_owned(),
        description: String::new(),
        entry: String::new(),
        icon: None,
        capabilities: Vec::new(),
        built_in: false,
        problem: Some(problem),
    })
}

/// What the scheme answers a request for `path` (the URL's path, still percent-encoded).
pub fn serve(assets: &dyn Assets, dir: &Path, method: &str, path: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return Response::status(405, "only GET is served");
    }
    let Some(path) = percent_decode(path) else {
        return Response::status(400, "the path is not valid percent-encoded UTF-8");
    };
    let path = path.trim_start_matches('/');
    let Some((app, file)) = path.split_once('/') else {
        return Response::status(404, "no such file");
    };
    let file = if file.is_empty() { "index.html" } else { file };
    if relative(file).is_err() || huddle_proto::AppId::parse(app).is_err() {
        return Response::status(400, "the path must name a file inside an app's folder");
    }
    let bytes = if RESERVED.contains(&app) {
        assets.get(&format!("apps/{app}/{file}"))
    } else {
        installed_file(dir, app, file)
    };
    match bytes {
        Some(bytes) => Response {
            status: 200,
            content_type: content_type(file),
            body: bytes,
        },
        None => Response::status(404, "no such file"),
    }
}

/// A file of an installed app with a valid manifest, never outside its folder (symbolic
/// links that lead out are refused too).
fn installed_file(dir: &Path, app: &str, file: &str) -> Option<Vec<u8>> {
    let folder = dir.join(app);
    if installed_entry(dir, app).problem.is_some() {
        return None;
    }
    let root = folder.canonicalize().ok()?;
    let target = folder.join(file).canonicalize().ok()?;
    if !target.starts_with(&root) || !target.is_file() {
        return None;
    }
    if target.metadata().ok()?.len() > MAX_FILE_BYTES {
        tracing::warn!(app, file, "an app file is too large to serve");
        return None;
    }
    std::fs::read(target).ok()
}

/// A response of the scheme, before it becomes an HTTP one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    fn status(status: u16, why: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: why.as_bytes().to_vec(),
        }
    }

    /// The answer when apps cannot be served at all (no data folder).
    pub fn unavailable(why: &str) -> Response {
        Response::status(503, why)
    }

    /// The HTTP response, with the apps' CSP and no sniffing.
    pub fn into_http(self) -> tauri::http::Response<Vec<u8>> {
        let built = tauri::http::Response::builder()
            .status(self.status)
            .header(tauri::http::header::CONTENT_TYPE, self.content_type)
            .header(tauri::http::header::CONTENT_SECURITY_POLICY, APP_CSP)
            .header(tauri::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(tauri::http::header::CACHE_CONTROL, "no-cache")
            .body(self.body);
        built.unwrap_or_else(|e| {
            tracing::error!(error = %e, "an app response could not be built");
            let mut refused = tauri::http::Response::new(Vec::new());
            *refused.status_mut() = tauri::http::StatusCode::INTERNAL_SERVER_ERROR;
            refused
        })
    }
}

fn content_type(file: &str) -> &'static str {
    let ext = file.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake(HashMap<String, Vec<u8>>);
    impl Assets for Fake {
        fn get(&self, path: &str) -> Option<Vec<u8>> {
            self.0.get(path).cloned()
        }
    }

    fn fake() -> Fake {
        let manifest = |id: &str| {
            format!(
                r#"{{"id":"{id}","name":"{id}","entry":"index.html","icon":"icon.svg","capabilities":["connect"]}}"#
            )
            .into_bytes()
        };
        Fake(HashMap::from([
            (
                "apps/whiteboard/manifest.json".to_owned(),
                manifest("whiteboard"),
            ),
            (
                "apps/whiteboard/index.html".to_owned(),
                b"<p>board</p>".to_vec(),
            ),
            ("apps/poll/manifest.json".to_owned(), manifest("poll")),
            ("apps/sdk/huddle-apps-sdk.js".to_owned(), b"sdk()".to_vec()),
        ]))
    }

    fn temp() -> Result<PathBuf, std::io::Error> {
        let dir = std::env::temp_dir().join(format!(
            "huddle-apps-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn install(dir: &Path, folder: &str, manifest: &str) -> Result<(), std::io::Error> {
        let app = dir.join(folder);
        std::fs::create_dir_all(&app)?;
        std::fs::write(app.join("manifest.json"), manifest)?;
        std::fs::write(app.join("index.html"), "<p>agenda</p>")
    }

    #[test]
    fn lists_built_in_then_installed_with_problems_named() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = temp()?;
        install(
            &dir,
            "agenda",
            r#"{"id":"agenda","name":"Agenda","entry":"index.html","capabilities":["connect","onMessage"]}"#,
        )?;
        install(&dir, "broken", "{not json")?;
        install(
            &dir,
            "liar",
            r#"{"id":"other","name":"Liar","entry":"index.html"}"#,
        )?;
        install(
            &dir,
            "escape",
            r#"{"id":"escape","name":"Escape","entry":"../../x.html"}"#,
        )?;
        install(
            &dir,
            "poll",
            r#"{"id":"poll","name":"Fake poll","entry":"index.html"}"#,
        )?;
        let apps = list(&fake(), &dir);
        let ids: Vec<&str> = apps.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(&ids[..2], &["whiteboard", "poll"]);
        assert!(apps[0].built_in && apps[0].problem.is_none());
        assert_eq!(
            apps[0].entry,
            format!("{}whiteboard/index.html", base_url())
        );
        let by_id = |id: &str| apps.iter().find(|a| a.id == id && !a.built_in);
        let agenda = by_id("agenda").ok_or("agenda listed")?;
        assert_eq!(agenda.problem, None);
        assert_eq!(agenda.capabilities, vec!["connect", "onMessage"]);
        for (id, says) in [
            ("broken", "not valid"),
            ("liar", "not the folder's name"),
            ("escape", "inside the app's folder"),
            ("poll", "built-in"),
        ] {
            let problem = by_id(id)
                .and_then(|a| a.problem.clone())
                .unwrap_or_default();
            assert!(problem.contains(says), "{id}: {problem}");
        }
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn serves_only_files_inside_an_app_with_the_csp() -> Result<(), Box<dyn std::error::Error>> {
        let dir = temp()?;
        install(
            &dir,
            "agenda",
            r#"{"id":"agenda","name":"Agenda","entry":"index.html"}"#,
        )?;
        std::fs::write(dir.join("secret.txt"), "private")?;
        install(&dir, "broken", "{")?;
        let assets = fake();
        let ok = serve(&assets, &dir, "GET", "/whiteboard/index.html");
        assert_eq!(
            (ok.status, ok.content_type),
            (200, "text/html; charset=utf-8")
        );
        assert_eq!(
            serve(&assets, &dir, "GET", "/sdk/huddle-apps-sdk.js").body,
            b"sdk()"
        );
        assert_eq!(
            serve(&assets, &dir, "GET", "/agenda/index.html").body,
            b"<p>agenda</p>"
        );
        assert_eq!(
            serve(&assets, &dir, "GET", "/agenda/").body,
            b"<p>agenda</p>"
        );
        for (path, status) in [
            ("/agenda/../secret.txt", 400),
            ("/agenda/%2e%2e/secret.txt", 400),
            ("/agenda/..%2fsecret.txt", 400),
            ("/agenda/%ff", 400),
            ("/agenda/%zz", 400),
            ("/Agenda/index.html", 400),
            ("/broken/index.html", 404),
            ("/whiteboard/missing.js", 404),
            ("/nothing", 404),
            ("/ghost/index.html", 404),
        ] {
            assert_eq!(serve(&assets, &dir, "GET", path).status, status, "{path}");
        }
        assert_eq!(
            serve(&assets, &dir, "POST", "/agenda/index.html").status,
            405
        );
        let http = ok.into_http();
        let csp = http
            .headers()
            .get(tauri::http::header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("connect-src 'none'") && csp.starts_with("default-src 'none'"));
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn generated_types_are_current() -> Result<(), Box<dyn std::error::Error>> {
        use ts_rs::TS;
        let cfg = crate::generated::config();
        crate::generated::check(
            "apps.ts",
            "src-tauri/src/apps.rs",
            &[],
            &[AppEntry::decl(&cfg)],
        )
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_folder_is_not_followed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = temp()?;
        install(
            &dir,
            "sneaky",
            r#"{"id":"sneaky","name":"Sneaky","entry":"index.html"}"#,
        )?;
        std::fs::write(dir.join("outside.txt"), "private")?;
        std::os::unix::fs::symlink(dir.join("outside.txt"), dir.join("sneaky").join("out.txt"))?;
        assert_eq!(serve(&fake(), &dir, "GET", "/sneaky/out.txt").status, 404);
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }
}
