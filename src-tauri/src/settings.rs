//! The user's remembered choices (name, last session and server, devices, join options),
//! stored as JSON in the platform config directory.
//!
//! Writes go to a temporary file that is renamed over the old one, so a crash never leaves a
//! half-written file. A file that cannot be read as settings is moved aside (not deleted)
//! and defaults are used, so the user's data is never silently lost.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Longest accepted value for free-text settings; the session server applies its own,
/// stricter limits to names when joining.
const MAX_TEXT: usize = 512;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    pub display_name: String,
    pub session_name: String,
    pub server_url: String,
    pub join_muted: bool,
    pub join_video_off: bool,
    pub mirror_preview: bool,
    pub camera_id: Option<String>,
    pub microphone_id: Option<String>,
    pub speaker_id: Option<String>,
    /// The microphone's volume, 0..=2 (1 leaves it as it is).
    pub input_volume: f32,
    /// The input sensitivity: the noise gate's threshold in dBFS, or none.
    pub input_gate: Option<f32>,
    /// Host for others on this computer's network, not only for this computer.
    pub host_on_network: bool,
    /// Light or dark, or whatever the system uses.
    #[serde(deserialize_with = "lenient_theme")]
    pub theme: Theme,
    /// Desktop notifications for mentions and private messages while the window is in the
    /// back.
    pub notifications: bool,
}

/// The app's colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the system's light or dark setting, also when it changes.
    #[default]
    System,
    Light,
    Dark,
}

/// A theme a later version wrote (or a typo) means the system's, rather than a settings
/// file set aside for one unknown word.
fn lenient_theme<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Theme, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            display_name: String::new(),
            session_name: String::new(),
            server_url: String::new(),
            join_muted: false,
            join_video_off: false,
            mirror_preview: true,
            camera_id: None,
            microphone_id: None,
            speaker_id: None,
            input_volume: 1.0,
            input_gate: None,
            host_on_network: false,
            theme: Theme::System,
            notifications: true,
        }
    }
}

impl Settings {
    /// Refuses values that no UI would produce, so a hostile or broken caller cannot fill
    /// the disk or the screen.
    pub fn validate(&self) -> Result<(), AppError> {
        if !(0.0..=huddle_media::input::MAX_INPUT_VOLUME).contains(&self.input_volume) {
            return Err(AppError::InvalidSetting(format!(
                "input volume {} is outside 0 to 2",
                self.input_volume
            )));
        }
        let (low, high) = huddle_media::input::GATE_RANGE_DBFS;
        if let Some(gate) = self.input_gate.filter(|g| !(low..=high).contains(g)) {
            return Err(AppError::InvalidSetting(format!(
                "input sensitivity {gate} dBFS is outside {low} to {high}"
            )));
        }
        let texts = [
            ("display name", Some(&self.display_name)),
            ("session name", Some(&self.session_name)),
            ("server address", Some(&self.server_url)),
            ("camera", self.camera_id.as_ref()),
            ("microphone", self.microphone_id.as_ref()),
            ("speaker", self.speaker_id.as_ref()),
        ];
        for (what, value) in texts {
            if let Some(value) = value {
                if value.chars().count() > MAX_TEXT {
                    return Err(AppError::InvalidSetting(format!(
                        "{what} is longer than {MAX_TEXT} characters"
                    )));
                }
                if value.chars().any(char::is_control) {
                    return Err(AppError::InvalidSetting(format!(
                        "{what} contains control characters"
                    )));
                }
            }
        }
        Ok(())
    }
}

pub fn project_dirs() -> Result<directories::ProjectDirs, AppError> {
    directories::ProjectDirs::from("app", "Huddle", "Huddle").ok_or(AppError::NoHomeDirectory)
}

/// Reads and writes one settings file.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

/// What loading found, so the UI can tell the user when an unreadable file was set aside.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Loaded {
    pub settings: Settings,
    pub notice: Option<String>,
}

impl SettingsStore {
    pub fn in_config_dir() -> Result<Self, AppError> {
        Ok(Self::at(project_dirs()?.config_dir().join("settings.json")))
    }

    pub fn at(path: PathBuf) -> Self {
        SettingsStore { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings if the file holds valid ones, without touching the file otherwise: for
    /// decisions at launch, before the UI loads (and is told about) the file.
    pub fn peek(&self) -> Option<Settings> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        serde_json::from_str::<Settings>(&text)
            .ok()
            .filter(|s| s.validate().is_ok())
    }

    pub fn load(&self) -> Result<Loaded, AppError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    settings: Settings::default(),
                    notice: None,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return self.set_aside(format!("it is not UTF-8 text ({e})"))
            }
            Err(e) => return Err(AppError::io("read", &self.path, e)),
        };
        match serde_json::from_str::<Settings>(&text) {
            Ok(settings) if settings.validate().is_ok() => Ok(Loaded {
                settings,
                notice: None,
            }),
            Ok(settings) => {
                let reason = settings
                    .validate()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                self.set_aside(reason)
            }
            Err(e) => self.set_aside(e.to_string()),
        }
    }

    fn set_aside(&self, reason: String) -> Result<Loaded, AppError> {
        let aside = self.path.with_extension("json.unreadable");
        std::fs::rename(&self.path, &aside)
            .map_err(|e| AppError::io("move aside", &self.path, e))?;
        tracing::warn!(path = %self.path.display(), %reason, "settings file unreadable; kept a copy and started from defaults");
        Ok(Loaded {
            settings: Settings::default(),
            notice: Some(format!(
                "Your saved settings could not be read ({reason}); they were kept in {} and defaults are used.",
                aside.display()
            )),
        })
    }

    pub fn save(&self, settings: &Settings) -> Result<(), AppError> {
        settings.validate()?;
        let dir = self
            .path
            .parent()
            .ok_or_else(|| AppError::InvalidSetting("settings path has no folder".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| AppError::io("create", dir, e))?;
        let json = serde_json::to_vec_pretty(settings)
            .map_err(|e| AppError::InvalidSetting(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(|e| AppError::io("write", &tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| AppError::io("replace", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(name: &str) -> Result<(SettingsStore, PathBuf), std::io::Error> {
        let dir =
            std::env::temp_dir().join(format!("huddle-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok((SettingsStore::at(dir.join("settings.json")), dir))
    }

    #[test]
    fn missing_file_gives_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("missing")?;
        let loaded = store.load()?;
        assert_eq!(loaded.settings, Settings::default());
        assert!(loaded.notice.is_none());
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn save_then_load_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("roundtrip")?;
        let settings = Settings {
            display_name: "Ada".into(),
            session_name: "Standup".into(),
            join_muted: true,
            camera_id: Some("synthetic:0".into()),
            input_volume: 1.5,
            input_gate: Some(-45.0),
            ..Settings::default()
        };
        store.save(&settings)?;
        assert_eq!(store.load()?.settings, settings);
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn peek_reads_valid_settings_and_leaves_a_corrupt_file_alone(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("peek")?;
        assert_eq!(store.peek(), None, "no file yet");
        let settings = Settings {
            host_on_network: true,
            ..Settings::default()
        };
        store.save(&settings)?;
        assert_eq!(store.peek(), Some(settings));
        std::fs::write(store.path(), "{not json")?;
        assert_eq!(store.peek(), None);
        assert_eq!(
            std::fs::read_to_string(store.path())?,
            "{not json",
            "peeking never moves or changes the file; loading tells the user"
        );
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn corrupt_file_is_kept_aside_not_lost() -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("corrupt")?;
        std::fs::write(store.path(), b"{ not json")?;
        let loaded = store.load()?;
        assert_eq!(loaded.settings, Settings::default());
        assert!(loaded
            .notice
            .is_some_and(|n| n.contains("could not be read")));
        let aside = store.path().with_extension("json.unreadable");
        assert_eq!(std::fs::read(aside)?, b"{ not json");
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn an_unknown_theme_means_the_systems_and_keeps_the_rest(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("theme")?;
        std::fs::write(store.path(), r#"{"displayName":"Ann","theme":"sepia"}"#)?;
        let loaded = store.load()?;
        assert_eq!(loaded.settings.display_name, "Ann");
        assert_eq!(loaded.settings.theme, Theme::System);
        std::fs::write(store.path(), r#"{"theme":"dark"}"#)?;
        assert_eq!(store.load()?.settings.theme, Theme::Dark);
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn unknown_fields_and_missing_fields_are_tolerated() -> Result<(), Box<dyn std::error::Error>> {
        let (store, dir) = temp_store("partial")?;
        std::fs::write(
            store.path(),
            br#"{"displayName":"Grace","fromTheFuture":1}"#,
        )?;
        let loaded = store.load()?;
        assert_eq!(loaded.settings.display_name, "Grace");
        assert!(loaded.settings.mirror_preview);
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn oversized_or_control_text_is_refused() {
        let long = Settings {
            display_name: "x".repeat(MAX_TEXT + 1),
            ..Settings::default()
        };
        assert!(matches!(long.validate(), Err(AppError::InvalidSetting(_))));
        let control = Settings {
            server_url: "ws://a\u{7}".into(),
            ..Settings::default()
        };
        assert!(matches!(
            control.validate(),
            Err(AppError::InvalidSetting(_))
        ));
    }

    #[test]
    fn input_volume_and_sensitivity_out_of_range_are_refused() {
        for (input_volume, input_gate) in [(2.5, None), (-0.1, None), (1.0, Some(10.0))] {
            let settings = Settings {
                input_volume,
                input_gate,
                ..Settings::default()
            };
            assert!(
                matches!(settings.validate(), Err(AppError::InvalidSetting(_))),
                "{input_volume} {input_gate:?}"
            );
        }
        let fine = Settings {
            input_volume: 0.0,
            input_gate: Some(-70.0),
            ..Settings::default()
        };
        assert!(fine.validate().is_ok());
    }
}
