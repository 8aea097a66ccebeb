//! Command-line handling for the desktop binary. Only a few flags exist; everything else
//! is chosen in the app itself.

use std::ffi::OsString;

/// What the process was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    Run,
    Version,
    Help,
    Invalid(String),
}

/// Reads the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Invocation {
    let mut invocation = Invocation::Run;
    for arg in args {
        match arg.to_str() {
            Some("--version" | "-V") => return Invocation::Version,
            Some("--help" | "-h") => return Invocation::Help,
            // Anything else is a join link (see `links`) or a launcher's placeholder.
            Some(other) if other.starts_with('-') => {
                invocation = Invocation::Invalid(format!("unknown option '{other}'"));
            }
            Some(_) => {}
            None => invocation = Invocation::Invalid("arguments must be valid UTF-8".into()),
        }
    }
    invocation
}

/// `huddle 0.1.0`, the line `--version` prints.
pub fn version_line() -> String {
    format!("huddle {}", env!("CARGO_PKG_VERSION"))
}

pub fn help_text() -> String {
    format!(
        "{}\nVideo meetings that join in a blink.\n\nUsage: huddle [OPTIONS] [LINK]\n\nArguments:\n  [LINK]         A join link (huddle://join?session=...&server=...) to open on the\n                 pre-join screen; handed to the running app if there is one\n\nOptions:\n  -h, --help     Print this help\n  -V, --version  Print the version\n\nEnvironment:\n  RUST_LOG       Log filter (default: info), e.g. RUST_LOG=huddle=debug",
        version_line()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Invocation {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn no_arguments_runs_the_app() {
        assert_eq!(parse_strs(&[]), Invocation::Run);
    }

    #[test]
    fn version_and_help_win_over_other_arguments() {
        assert_eq!(parse_strs(&["--bogus", "--version"]), Invocation::Version);
        assert_eq!(parse_strs(&["-V"]), Invocation::Version);
        assert_eq!(parse_strs(&["-h"]), Invocation::Help);
    }

    #[test]
    fn unknown_option_is_reported_by_name() {
        assert_eq!(
            parse_strs(&["--frobnicate"]),
            Invocation::Invalid("unknown option '--frobnicate'".into())
        );
    }

    #[test]
    fn version_line_names_the_package_version() {
        assert_eq!(
            version_line(),
            format!("huddle {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
