//! The one error type every Tauri command returns, and the one mapping from what went wrong
//! to what the window shows: a stable [`ErrorKind`] for the UI's logic, a sentence for a
//! person (what happened and what to do), and the technical detail behind a "Details"
//! disclosure.
//!
//! The media and client crates' typed errors are kept as they are ([`AppError::Media`],
//! [`AppError::Client`]) and put into words only here, in [`AppError::view`], so the UI never
//! reads an error's text to decide anything. Every error a command returns is logged with
//! its detail on its way to the window.

use std::net::IpAddr;

use huddle_client::ClientError;
use huddle_media::{DeviceKind, MediaError};
use huddle_proto::ErrorCode;
use serde::Serialize;

use crate::host::ADDRESS_VAR;

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
    /// A join link the app cannot open (written for people: "the link names no session").
    #[error("invalid join link: {0}")]
    InvalidLink(String),
    /// A metadata entry the app will not send (written for people: "the value is not JSON").
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// An in-meeting app request the app will not send (written for people: "app id is
    /// empty").
    #[error("invalid app request: {0}")]
    InvalidApp(String),
    #[error("could not start logging: {0}")]
    Logging(String),
    /// A camera, microphone, speaker or screen failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Reaching or talking to a server failed: joining, a request in the call, the network
    /// test.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The request names no server and this computer hosts none.
    #[error("no server given and not hosting on this computer")]
    NotHosting,
    /// Hosting for the network was refused before anything started.
    #[error("cannot host for the network: {0}")]
    HostNetwork(NetworkRefusal),
    /// The embedded server did not start.
    #[error("could not host on this computer: {0}")]
    HostFailed(String),
    #[error("you are not in a call")]
    NotInCall,
    /// Something only a bug causes: a request no window would send, a task that died.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the window system failed: {0}")]
    Tauri(#[from] tauri::Error),
}

/// Why this computer's network is not served (the embedded server has neither TLS nor
/// admission control).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkRefusal {
    #[error("this computer is not connected to a network others could join from")]
    NoNetwork,
    #[error("the network address {0} is public and the built-in server has no encryption")]
    PublicAddress(IpAddr),
    #[error("{ADDRESS_VAR} is set to {0:?}, which is not an IP address")]
    BadAddressSetting(String),
}

/// What kind of failure an error is: stable names the UI may match on (a failure of this
/// kind clears when, say, a device appears), never its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    // A camera, microphone, speaker or screen.
    DeviceNotFound,
    DeviceBusy,
    DevicePermissionDenied,
    SoundSystemDown,
    DeviceUnplugged,
    DeviceUnsupportedFormat,
    DeviceTimeout,
    DeviceFailed,
    ScreenUnavailable,
    // Reaching the server.
    InvalidServerAddress,
    ServerUnreachable,
    TlsFailed,
    NotAHuddleServer,
    ServerTimeout,
    NetworkError,
    NotHosting,
    // The server's answer to a join.
    WrongPasscode,
    PasscodeRequired,
    InvalidPasscode,
    InvalidSessionName,
    SessionLocked,
    SessionFull,
    SessionEnded,
    TokenRequired,
    TokenExpired,
    TokenInvalid,
    TokenWrongSession,
    UnsupportedVersion,
    JoinRefused,
    // In a call.
    Refused,
    RateLimited,
    Reconnecting,
    ConnectionLost,
    NotInCall,
    Cancelled,
    // Hosting on this computer.
    HostingRefused,
    HostingFailed,
    // The app itself.
    InvalidLink,
    InvalidMetadata,
    InvalidApp,
    Settings,
    Storage,
    Internal,
}

/// An error as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorView {
    pub kind: ErrorKind,
    /// For a person: what happened and what to do about it.
    pub message: String,
    /// The technical account, for the "Details" disclosure and bug reports; absent when the
    /// message says it all.
    pub detail: Option<String>,
}

/// The sentence for a failure that is nobody's doing but the app's.
const INTERNAL: &str =
    "Something went wrong inside Huddle. Try again; if it keeps happening, the log has the details.";

impl AppError {
    pub fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        AppError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    /// The error in words for a person, with its technical detail.
    pub fn view(&self) -> ErrorView {
        let (kind, message, technical) = match self {
            AppError::Media(e) => {
                let (kind, message) = media_words(e);
                (kind, message, true)
            }
            AppError::Client(e) => {
                let (kind, message) = client_words(e);
                (kind, message, true)
            }
            other => app_words(other),
        };
        ErrorView {
            kind,
            message,
            detail: technical.then(|| self.to_string()),
        }
    }

    /// [`AppError::view`], logged: for an error on its way to the window.
    pub fn report(&self) -> ErrorView {
        let view = self.view();
        tracing::warn!(kind = ?view.kind, detail = %self, "{}", view.message);
        view
    }
}

/// The app's own errors: kind, words, and whether the detail says more than the words.
fn app_words(e: &AppError) -> (ErrorKind, String, bool) {
    use ErrorKind as K;
    // Written for people already ("display name is longer than 200 characters", "the link
    // names no session"): the reason completes the sentence.
    let because = match e {
        AppError::InvalidSetting(why) => Some((K::Settings, "The settings can't be saved", why)),
        AppError::InvalidLink(why) => Some((K::InvalidLink, "That link can't be opened", why)),
        AppError::InvalidMetadata(why) => Some((K::InvalidMetadata, "That can't be set", why)),
        AppError::InvalidApp(why) => Some((K::InvalidApp, "The app can't do that", why)),
        _ => None,
    };
    if let Some((kind, what, why)) = because {
        let why = why.trim().trim_end_matches('.');
        return (kind, format!("{what}: {why}."), false);
    }
    let (kind, words, technical) = match e {
        AppError::NoHomeDirectory => (
            K::Storage,
            "Huddle can't find your home folder, so it can't keep settings or logs. Check that \
             your user account has a home folder.",
            true,
        ),
        AppError::Io { .. } => (
            K::Storage,
            "Huddle couldn't read or write one of its files. Check that the disk isn't full and \
             that your home folder can be written to.",
            true,
        ),
        AppError::Logging(_) => (K::Storage, "Huddle couldn't start its log.", true),
        AppError::NotHosting => (
            K::NotHosting,
            "Nothing is hosted on this computer. Enter a server's address, or host on this \
             computer.",
            false,
        ),
        AppError::HostNetwork(NetworkRefusal::NoNetwork) => (
            K::HostingRefused,
            "Others can't join from your network: this computer isn't connected to one. \
             Connect to a network, then try again.",
            true,
        ),
        AppError::HostNetwork(NetworkRefusal::PublicAddress(_)) => (
            K::HostingRefused,
            "Others can't join from your network: this computer is on the open internet, and \
             the built-in server has no encryption. To host for the internet, run huddle-server \
             with TLS.",
            true,
        ),
        AppError::HostNetwork(NetworkRefusal::BadAddressSetting(_)) => (
            K::HostingRefused,
            "Others can't join from your network: HUDDLE_HOST_ADDRESS isn't an IP address. \
             Fix or remove it, then start Huddle again.",
            true,
        ),
        AppError::HostFailed(_) => (
            K::HostingFailed,
            "Huddle couldn't start its built-in server. Restart Huddle; if it keeps happening, \
             the log has the details.",
            true,
        ),
        AppError::NotInCall => (K::NotInCall, "You're not in a call.", false),
        AppError::Internal(_) | AppError::Tauri(_) => (K::Internal, INTERNAL, true),
        // Put into words by `view`, `media_words` and `client_words`.
        AppError::InvalidSetting(_)
        | AppError::InvalidLink(_)
        | AppError::InvalidMetadata(_)
        | AppError::InvalidApp(_)
        | AppError::Media(_)
        | AppError::Client(_) => (K::Internal, INTERNAL, true),
    };
    (kind, words.to_owned(), technical)
}

/// "the microphone", "pick another microphone": what the sentences call a device.
fn noun(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "camera",
        DeviceKind::Microphone => "microphone",
        DeviceKind::Speaker => "speaker",
        DeviceKind::Screen => "screen",
    }
}

fn media_words(e: &MediaError) -> (ErrorKind, String) {
    use ErrorKind as K;
    match e {
        MediaError::DeviceNotFound { kind, id: None } => (
            K::DeviceNotFound,
            match kind {
                DeviceKind::Screen => "No screen was found to share.".to_owned(),
                _ => format!(
                    "No {0} was found. Connect a {0}, then try again.",
                    noun(*kind)
                ),
            },
        ),
        MediaError::DeviceNotFound { kind, id: Some(_) } => (
            K::DeviceNotFound,
            format!(
                "That {0} isn't available any more. Connect it again, or pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::DeviceBusy { kind, .. } => (
            K::DeviceBusy,
            format!(
                "The {0} is in use by another app. Close that app, or pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::PermissionDenied { kind, .. } => (
            K::DevicePermissionDenied,
            format!(
                "Huddle isn't allowed to use the {0}. Allow it in your system's privacy settings \
                 (on Linux: be in the \"audio\" or \"video\" group), or pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::AudioUnavailable { kind, .. } => (
            K::SoundSystemDown,
            format!(
                "No {0} is available: the sound system isn't running. Check that audio is on, \
                 or pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::DeviceUnplugged { kind, .. } => (
            K::DeviceUnplugged,
            format!(
                "The {0} was disconnected. Connect it again, or pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::UnsupportedFormat { kind, .. } => (
            K::DeviceUnsupportedFormat,
            format!(
                "The {0} doesn't offer a format Huddle can use. Pick another {0}.",
                noun(*kind)
            ),
        ),
        MediaError::Device { kind, .. } => (
            K::DeviceFailed,
            format!(
                "The {0} isn't working. Pick another {0}, or check it in your system's settings.",
                noun(*kind)
            ),
        ),
        MediaError::Timeout(_) => (
            K::DeviceTimeout,
            "The device took too long to start. Try again, or pick another one.".to_owned(),
        ),
        // Sharing cannot work here at all (a Wayland desktop, no display).
        MediaError::Unavailable(_) => (
            K::ScreenUnavailable,
            "Screen sharing isn't available on this desktop.".to_owned(),
        ),
        // Broken input inside the app or a codec failure: nothing a person can pick.
        _ => (K::Internal, INTERNAL.to_owned()),
    }
}

fn client_words(e: &ClientError) -> (ErrorKind, String) {
    use ErrorKind as K;
    let (kind, words): (ErrorKind, &str) = match e {
        ClientError::InvalidUrl { .. } => (
            K::InvalidServerAddress,
            "That server address can't be used. Type it like meet.example.org:7880, or leave it \
             empty to use this computer.",
        ),
        ClientError::Unreachable { .. } => (
            K::ServerUnreachable,
            "The server can't be reached. Check its address and your internet connection, then \
             try again.",
        ),
        ClientError::Tls(_) | ClientError::TlsHandshake { .. } => (
            K::TlsFailed,
            "A secure connection to the server couldn't be made. Check the address; if the \
             server is yours, check its certificate.",
        ),
        ClientError::BadAnswer { .. } => (
            K::NotAHuddleServer,
            "The server answered, but not like a Huddle server. Check the address.",
        ),
        ClientError::Cancelled => (K::Cancelled, "Cancelled."),
        ClientError::Io(_) => (
            K::NetworkError,
            "A network error got in the way. Check your connection and try again.",
        ),
        ClientError::JoinRefused { code, message } => return join_refusal(*code, message),
        // The server's own words name what is missing (a permission, a member).
        ClientError::Rejected {
            code: ErrorCode::RateLimited,
            ..
        } => (
            K::RateLimited,
            "That was too many requests at once. Wait a moment and try again.",
        ),
        // A request refused for its token (the network test in token mode) reads like a
        // join refused for it; anything else in the server's own words.
        ClientError::Rejected { code, message } => {
            return match join_refusal(*code, message) {
                (K::JoinRefused, _) => (K::Refused, sentence(message)),
                specific => specific,
            }
        }
        ClientError::Timeout { .. } => (
            K::ServerTimeout,
            "The server didn't answer in time. Check your connection and try again.",
        ),
        ClientError::Reconnecting => (
            K::Reconnecting,
            "Reconnecting to the server. Try again in a moment.",
        ),
        ClientError::ConnectionLost(_) => (
            K::ConnectionLost,
            "The connection dropped before the server answered. Once it's back, check whether \
             it worked.",
        ),
        ClientError::SessionClosed(_) => (K::NotInCall, "You're no longer in the call."),
        // The call's media errors are written for people ("cannot share the screen: …").
        ClientError::Media(why) => return (K::DeviceFailed, sentence(why)),
        ClientError::Device(e) => return media_words(e),
        ClientError::NoDeviceAudio => (
            K::DeviceNotFound,
            "This call has no microphone or speaker. Leave and join again to use one.",
        ),
        _ => (K::Internal, INTERNAL),
    };
    (kind, words.to_owned())
}

/// The server's refusal of a join, by its code.
fn join_refusal(code: ErrorCode, server_words: &str) -> (ErrorKind, String) {
    use ErrorCode as C;
    use ErrorKind as K;
    let (kind, words) = match code {
        C::WrongPasscode => (
            K::WrongPasscode,
            "That passcode isn't right. Check it with whoever invited you, and try again.",
        ),
        C::PasscodeRequired => (
            K::PasscodeRequired,
            "This session has a passcode. Enter the one you were given.",
        ),
        C::InvalidPasscode => (
            K::InvalidPasscode,
            "That passcode can't be right: passcodes are up to 10 letters, digits or symbols.",
        ),
        C::InvalidSessionName => (
            K::InvalidSessionName,
            "The server won't take that session name. Use letters, digits and spaces.",
        ),
        C::SessionLocked => (
            K::SessionLocked,
            "The session is locked: the host isn't letting anyone else in. Ask the host to \
             unlock it.",
        ),
        C::SessionFull => (
            K::SessionFull,
            "The session is full. Ask the host to make room, or try again later.",
        ),
        C::SessionEnded => (K::SessionEnded, "This session has ended."),
        C::TokenRequired => (
            K::TokenRequired,
            "This server lets in only people with an invitation. Ask the host for one.",
        ),
        C::TokenExpired => (
            K::TokenExpired,
            "Your invitation has expired. Ask the host for a new one.",
        ),
        C::TokenWrongSession => (
            K::TokenWrongSession,
            "Your invitation is for another session. Check the session name, or ask the host \
             for a new invitation.",
        ),
        C::TokenInvalid
        | C::TokenMissingClaim
        | C::TokenUnsigned
        | C::TokenBadSignature
        | C::TokenWrongAlgorithm
        | C::TokenUnknownRole => (
            K::TokenInvalid,
            "Your invitation isn't valid for this server. Ask the host for a new one.",
        ),
        C::UnsupportedVersion => (
            K::UnsupportedVersion,
            "This server runs a Huddle that doesn't work with this app. Update Huddle, or ask \
             the server's owner to.",
        ),
        C::RateLimited => (
            K::RateLimited,
            "That was too many attempts at once. Wait a moment and try again.",
        ),
        _ => {
            return (
                K::JoinRefused,
                format!("The server didn't let you in: {}", sentence(server_words)),
            )
        }
    };
    (kind, words.to_owned())
}

/// Someone else's words as a sentence: a capital first letter and a full stop.
fn sentence(words: &str) -> String {
    let words = words.trim();
    let mut chars = words.chars();
    let Some(first) = chars.next() else {
        return INTERNAL.to_owned();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every command's error passes here on its way to the window, so this is where it
        // is logged.
        self.report().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_client::CloseReason;

    fn device_errors(kind: DeviceKind) -> Vec<MediaError> {
        let id = || "alsa:default".to_owned();
        vec![
            MediaError::DeviceNotFound { kind, id: None },
            MediaError::DeviceNotFound {
                kind,
                id: Some(id()),
            },
            MediaError::DeviceBusy { kind, id: id() },
            MediaError::PermissionDenied { kind, id: id() },
            MediaError::AudioUnavailable {
                kind,
                reason: "ALSA function 'snd_pcm_open' failed with error 'Connection refused (111)'"
                    .into(),
            },
            MediaError::DeviceUnplugged { kind, id: id() },
            MediaError::UnsupportedFormat {
                kind,
                id: id(),
                what: "sample format u8".into(),
            },
            MediaError::Device {
                kind,
                id: id(),
                message: "backend error".into(),
            },
        ]
    }

    fn client_errors() -> Vec<ClientError> {
        let url = || "wss://meet.example.org/v1/ws".to_owned();
        let mut errors = vec![
            ClientError::InvalidUrl {
                url: url(),
                reason: "bad port".into(),
            },
            ClientError::Unreachable {
                url: url(),
                reason: "TCP connection failed: Connection refused (os error 111)".into(),
            },
            ClientError::Tls("unusable root certificate".into()),
            ClientError::TlsHandshake {
                url: url(),
                reason: "invalid peer certificate: UnknownIssuer".into(),
            },
            ClientError::BadAnswer {
                url: url(),
                reason: "HTTP 404".into(),
            },
            ClientError::Cancelled,
            ClientError::Io(std::io::Error::other("broken pipe")),
            ClientError::Rejected {
                code: ErrorCode::PermissionDenied,
                message: "muting others needs the mute_others permission".into(),
            },
            ClientError::Rejected {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
            },
            ClientError::Timeout {
                what: "welcome".into(),
            },
            ClientError::Reconnecting,
            ClientError::ConnectionLost("reset".into()),
            ClientError::SessionClosed(CloseReason::Left),
            ClientError::NoDeviceAudio,
            ClientError::Device(MediaError::DeviceBusy {
                kind: DeviceKind::Microphone,
                id: "alsa:hw:1".into(),
            }),
        ];
        for code in [
            ErrorCode::WrongPasscode,
            ErrorCode::PasscodeRequired,
            ErrorCode::InvalidPasscode,
            ErrorCode::InvalidSessionName,
            ErrorCode::SessionLocked,
            ErrorCode::SessionFull,
            ErrorCode::SessionEnded,
            ErrorCode::TokenRequired,
            ErrorCode::TokenExpired,
            ErrorCode::TokenInvalid,
            ErrorCode::TokenBadSignature,
            ErrorCode::TokenWrongSession,
            ErrorCode::UnsupportedVersion,
            ErrorCode::Internal,
        ] {
            errors.push(ClientError::JoinRefused {
                code,
                message: "the server's words".into(),
            });
        }
        errors
    }

    /// A sentence a person can read: capitalised, ended, and free of the technical detail.
    fn assert_sentence(view: &ErrorView, detail: &str) {
        let m = &view.message;
        assert!(
            m.starts_with(|c: char| c.is_uppercase()),
            "{:?}: {m}",
            view.kind
        );
        assert!(m.ends_with(['.', '!', '?']), "{:?}: {m}", view.kind);
        for technical in ["alsa:", "snd_pcm", "os error", "(111)", "wss://", "Error"] {
            assert!(!m.contains(technical), "{:?}: {m}", view.kind);
        }
        assert_eq!(view.detail.as_deref(), Some(detail));
    }

    #[test]
    fn every_device_error_is_a_sentence_naming_the_device_with_the_detail_behind_it() {
        for kind in [
            DeviceKind::Camera,
            DeviceKind::Microphone,
            DeviceKind::Speaker,
        ] {
            for e in device_errors(kind) {
                let detail = e.to_string();
                let view = AppError::from(e).view();
                assert_sentence(&view, &detail);
                assert!(view.message.contains(noun(kind)), "{}", view.message);
            }
        }
    }

    #[test]
    fn each_device_failure_has_its_own_kind() {
        let kinds: Vec<ErrorKind> = device_errors(DeviceKind::Microphone)
            .into_iter()
            .map(|e| AppError::from(e).view().kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::DeviceNotFound,
                ErrorKind::DeviceNotFound,
                ErrorKind::DeviceBusy,
                ErrorKind::DevicePermissionDenied,
                ErrorKind::SoundSystemDown,
                ErrorKind::DeviceUnplugged,
                ErrorKind::DeviceUnsupportedFormat,
                ErrorKind::DeviceFailed,
            ]
        );
    }

    #[test]
    fn a_microphone_without_a_sound_system_says_so_and_what_to_do() -> Result<(), serde_json::Error>
    {
        let err = AppError::from(MediaError::AudioUnavailable {
            kind: DeviceKind::Microphone,
            reason: "ALSA function 'snd_pcm_open' failed with error 'Connection refused (111)'"
                .into(),
        });
        let json = serde_json::to_value(&err)?;
        assert_eq!(json["kind"], "sound_system_down");
        assert_eq!(
            json["message"],
            "No microphone is available: the sound system isn't running. Check that audio is \
             on, or pick another microphone."
        );
        assert_eq!(
            json["detail"],
            "no microphone can be used: the sound system is not running (ALSA function \
             'snd_pcm_open' failed with error 'Connection refused (111)')"
        );
        Ok(())
    }

    #[test]
    fn every_connection_error_is_a_sentence_with_the_detail_behind_it() {
        for e in client_errors() {
            let detail = e.to_string();
            let view = AppError::from(e).view();
            assert_sentence(&view, &detail);
        }
    }

    #[test]
    fn join_refusals_are_told_apart_by_their_code() {
        let kind = |code| {
            AppError::from(ClientError::JoinRefused {
                code,
                message: "refused".into(),
            })
            .view()
            .kind
        };
        assert_eq!(kind(ErrorCode::WrongPasscode), ErrorKind::WrongPasscode);
        assert_eq!(
            kind(ErrorCode::PasscodeRequired),
            ErrorKind::PasscodeRequired
        );
        assert_eq!(kind(ErrorCode::SessionLocked), ErrorKind::SessionLocked);
        assert_eq!(kind(ErrorCode::SessionFull), ErrorKind::SessionFull);
        assert_eq!(kind(ErrorCode::TokenExpired), ErrorKind::TokenExpired);
        assert_eq!(kind(ErrorCode::TokenBadSignature), ErrorKind::TokenInvalid);
        assert_eq!(kind(ErrorCode::TokenUnsigned), ErrorKind::TokenInvalid);
        assert_eq!(
            kind(ErrorCode::TokenWrongSession),
            ErrorKind::TokenWrongSession
        );
        assert_eq!(kind(ErrorCode::ResumeFailed), ErrorKind::JoinRefused);
    }

    #[test]
    fn connection_failures_are_told_apart() {
        let kinds: Vec<ErrorKind> = client_errors()
            .into_iter()
            .take(4)
            .map(|e| AppError::from(e).view().kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::InvalidServerAddress,
                ErrorKind::ServerUnreachable,
                ErrorKind::TlsFailed,
                ErrorKind::TlsFailed,
            ]
        );
    }

    #[test]
    fn a_request_refused_for_its_token_reads_like_a_join_refused_for_it() {
        let view = AppError::from(ClientError::Rejected {
            code: ErrorCode::TokenExpired,
            message: "the token has expired".into(),
        })
        .view();
        assert_eq!(view.kind, ErrorKind::TokenExpired);
        assert!(
            view.message.starts_with("Your invitation has expired"),
            "{view:?}"
        );
    }

    #[test]
    fn a_refused_request_is_the_servers_words_as_a_sentence() {
        let view = AppError::from(ClientError::Rejected {
            code: ErrorCode::PermissionDenied,
            message: "muting others needs the mute_others permission".into(),
        })
        .view();
        assert_eq!(view.kind, ErrorKind::Refused);
        assert_eq!(
            view.message,
            "Muting others needs the mute_others permission."
        );
    }

    #[test]
    fn the_apps_own_errors_are_sentences_too() {
        let errors = [
            AppError::NoHomeDirectory,
            AppError::io(
                "write",
                std::path::Path::new("/x/settings.json"),
                std::io::Error::other("disk full"),
            ),
            AppError::InvalidSetting("display name is too long".into()),
            AppError::InvalidLink("the link names no session".into()),
            AppError::InvalidMetadata("the value is not JSON".into()),
            AppError::NotHosting,
            AppError::HostNetwork(NetworkRefusal::NoNetwork),
            AppError::HostNetwork(NetworkRefusal::PublicAddress(IpAddr::from([8, 8, 8, 8]))),
            AppError::HostNetwork(NetworkRefusal::BadAddressSetting("home".into())),
            AppError::HostFailed("address in use".into()),
            AppError::NotInCall,
            AppError::Internal("too many tiles".into()),
        ];
        for e in errors {
            let view = e.view();
            assert!(
                view.message.starts_with(|c: char| c.is_uppercase()) && view.message.ends_with('.'),
                "{view:?}"
            );
            assert!(!view.message.contains("/x/"), "{view:?}");
        }
    }

    #[test]
    fn other_peoples_words_become_sentences_and_empty_ones_do_not_vanish() {
        assert_eq!(
            sentence(" the session has ended "),
            "The session has ended."
        );
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence("  "), INTERNAL);
    }

    #[test]
    fn generated_types_are_current() -> Result<(), Box<dyn std::error::Error>> {
        use ts_rs::TS;
        let cfg = crate::generated::config();
        let decls = [ErrorKind::decl(&cfg), ErrorView::decl(&cfg)];
        crate::generated::check("error.ts", "src-tauri/src/error.rs", &[], &decls)
    }

    #[test]
    fn serializes_as_kind_message_and_detail() -> Result<(), serde_json::Error> {
        let err = AppError::InvalidSetting("display name is too long".into());
        let json = serde_json::to_value(&err)?;
        assert_eq!(json["kind"], "settings");
        assert_eq!(
            json["message"],
            "The settings can't be saved: display name is too long."
        );
        assert_eq!(json["detail"], serde_json::Value::Null);
        let json = serde_json::to_value(AppError::Logging("no disk".into()))?;
        assert_eq!(json["detail"], "could not start logging: no disk");
        let json = serde_json::to_value(AppError::NotInCall)?;
        assert_eq!(json["detail"], serde_json::Value::Null);
        Ok(())
    }
}
