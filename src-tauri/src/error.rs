//! The one error type every Tauri command returns: a stable code for the UI's logic and a
//! sentence a person can read.

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error(
        "no home directory could be found for this user, so settings and logs have nowhere to go"
    )]
    NoHomeDirectory,
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    #[error("could not start logging: {0}")]
    Logging(String),
    #[error("{0}")]
    Device(String),
    #[error("the network test failed: {0}")]
    NetworkTest(String),
    #[error("could not host on this computer: {0}")]
    Host(String),
    #[error("you are not in a call")]
    NotInCall,
    /// The server refused the join; its words, fit to show a person.
    #[error("{0}")]
    JoinRefused(String),
    /// The server refused a request; its words name the missing permission.
    #[error("{0}")]
    Refused(String),
    #[error("reconnecting to the server; try again in a moment")]
    Reconnecting,
    #[error("{0}")]
    Call(String),
    #[error("the window system failed: {0}")]
    Tauri(#[from] tauri::Error),
}

impl From<huddle_media::MediaError> for AppError {
    fn from(e: huddle_media::MediaError) -> Self {
        // The media crate's messages are written for people ("the camera 'x' is busy").
        AppError::Device(e.to_string())
    }
}

impl AppError {
    pub fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        AppError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    /// A stable, machine-readable name for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NoHomeDirectory => "no_home_directory",
            AppError::Io { .. } => "io",
            AppError::InvalidSetting(_) => "invalid_setting",
            AppError::Logging(_) => "logging",
            AppError::Host(_) => "host",
            AppError::NetworkTest(_) => "network_test",
            AppError::Device(_) => "device",
            AppError::NotInCall => "not_in_call",
            AppError::JoinRefused(_) => "join_refused",
            AppError::Refused(_) => "refused",
            AppError::Reconnecting => "reconnecting",
            AppError::Call(_) => "call",
            AppError::Tauri(_) => "window_system",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_and_message() -> Result<(), serde_json::Error> {
        let err = AppError::InvalidSetting("display name is too long".into());
        let json = serde_json::to_value(&err)?;
        assert_eq!(json["code"], "invalid_setting");
        assert_eq!(json["message"], "invalid setting: display name is too long");
        Ok(())
    }
}
