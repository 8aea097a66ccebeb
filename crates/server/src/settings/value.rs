//! The types a setting can have, and how each source spells them: a flag's or environment
//! variable's text, and a value in the TOML file.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches};

use crate::duration::{format_duration, parse_duration};

/// How a setting's flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `--flag VALUE`, given at most once.
    Value,
    /// `--flag VALUE`, repeatable, each value also split at commas; the environment variable
    /// is a comma-separated list and the file has a TOML array.
    List,
    /// `--flag` without a value: a bool setting the flag turns away from its default
    /// (`--allow-plain` sets `allow_plain`, `--no-media` clears `media`). Its environment
    /// variable says `true` (as if the flag was given) or `false`.
    Switch,
}

/// A type a setting can have.
pub trait Value: Clone + Send + Sync + 'static {
    /// How the flag takes the value.
    const FORM: Form;

    /// Reads one value from a flag's or environment variable's text.
    fn parse(text: &str) -> Result<Self, String>;

    /// Reads the value from the configuration file.
    fn from_toml(value: toml::Value) -> Result<Self, String>;

    /// The value as `parse` reads it, for defaults in the help and the docs; `None` when
    /// there is nothing to show (an unset optional setting, an empty list).
    fn show(&self) -> Option<String>;

    /// Gives `arg` the action and parser of this type's flag.
    fn flag(arg: Arg) -> Arg {
        arg.action(ArgAction::Set)
            .value_parser(ValueParser::new(Self::parse))
    }

    /// What the flag was given, if it was given.
    fn from_flag(matches: &ArgMatches, id: &str) -> Option<Self> {
        matches.try_get_one::<Self>(id).ok().flatten().cloned()
    }

    /// The setting's value when its flag or environment variable says `self`: the value
    /// itself, but for a switch, which turns the default around.
    fn switched(self, _default: &Self) -> Self {
        self
    }
}

/// `expected …, found <TOML type>` for a file value of the wrong type.
fn wrong_type(expected: &str, found: &toml::Value) -> String {
    format!("expected {expected}, found {}", found.type_str())
}

/// The text of a TOML string, for types that the file spells as strings.
fn toml_string(value: toml::Value, expected: &str) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text),
        other => Err(wrong_type(expected, &other)),
    }
}

/// Types the file spells as a string with the same text a flag takes.
macro_rules! text_value {
    ($($ty:ty => $expected:literal),+ $(,)?) => {$(
        impl Value for $ty {
            const FORM: Form = Form::Value;
            fn parse(text: &str) -> Result<Self, String> {
                <Self as TextValue>::parse_text(text)
            }
            fn from_toml(value: toml::Value) -> Result<Self, String> {
                Self::parse(&toml_string(value, $expected)?)
            }
            fn show(&self) -> Option<String> {
                Some(self.show_text())
            }
        }
    )+};
}

/// Whole numbers: TOML integers, digits in flags and the environment.
macro_rules! number_value {
    ($($ty:ty),+) => {$(
        impl Value for $ty {
            const FORM: Form = Form::Value;
            fn parse(text: &str) -> Result<Self, String> {
                text.parse()
                    .map_err(|_| format!("`{text}` is not a whole number from 0 to {}", <$ty>::MAX))
            }
            fn from_toml(value: toml::Value) -> Result<Self, String> {
                match value {
                    toml::Value::Integer(n) => Self::try_from(n)
                        .map_err(|_| format!("{n} is not from 0 to {}", <$ty>::MAX)),
                    other => Err(wrong_type("a whole number", &other)),
                }
            }
            fn show(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )+};
}

number_value!(u8, u16, u32, usize);

text_value!(
    Duration => "a duration such as \"30s\"",
    SocketAddr => "an address such as \"127.0.0.1:7880\"",
    IpAddr => "an IP address such as \"203.0.113.7\"",
    PathBuf => "a file name",
    String => "a string",
    Secret => "a string",
    Mode => "\"jwt\" or \"open\"",
    crate::sfu::PortSharing => "\"auto\", \"reuse-port\" or \"one-reader\"",
);

/// The text of the [`text_value!`] types, which flags, the environment and the file share.
trait TextValue: Sized {
    fn parse_text(text: &str) -> Result<Self, String>;
    fn show_text(&self) -> String;
}

impl TextValue for Duration {
    fn parse_text(text: &str) -> Result<Self, String> {
        parse_duration(text)
    }
    fn show_text(&self) -> String {
        format_duration(*self)
    }
}

impl TextValue for SocketAddr {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.parse().map_err(|_| format!("`{text}` is not IP:PORT"))
    }
    fn show_text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for IpAddr {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| format!("`{text}` is not an IP address"))
    }
    fn show_text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for PathBuf {
    fn parse_text(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the file name is empty".to_owned());
        }
        Ok(PathBuf::from(text))
    }
    fn show_text(&self) -> String {
        self.display().to_string()
    }
}

impl TextValue for String {
    fn parse_text(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
    fn show_text(&self) -> String {
        self.clone()
    }
}

/// A secret: any text, never shown (not in `Debug`, not as a default).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// The secret's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

impl TextValue for Secret {
    fn parse_text(text: &str) -> Result<Self, String> {
        Ok(Secret(text.to_owned()))
    }
    fn show_text(&self) -> String {
        "<hidden>".to_owned()
    }
}

/// How joiners are admitted, as the settings spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every join needs a token signed with the secret.
    Jwt,
    /// No token; the first joiner of a session is its host.
    Open,
}

impl TextValue for Mode {
    fn parse_text(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "jwt" => Ok(Mode::Jwt),
            "open" => Ok(Mode::Open),
            _ => Err(format!("unknown mode `{text}`: expected `jwt` or `open`")),
        }
    }
    fn show_text(&self) -> String {
        match self {
            Mode::Jwt => "jwt",
            Mode::Open => "open",
        }
        .to_owned()
    }
}

impl TextValue for crate::sfu::PortSharing {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.to_ascii_lowercase().parse()
    }
    fn show_text(&self) -> String {
        self.to_string()
    }
}

impl Value for bool {
    const FORM: Form = Form::Switch;

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("`{text}` is neither `true` nor `false`")),
        }
    }

    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Boolean(b) => Ok(b),
            other => Err(wrong_type("true or false", &other)),
        }
    }

    fn show(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn flag(arg: Arg) -> Arg {
        arg.action(ArgAction::SetTrue)
    }

    fn from_flag(matches: &ArgMatches, id: &str) -> Option<Self> {
        matches!(matches.try_get_one::<bool>(id), Ok(Some(true))).then_some(true)
    }

    fn switched(self, default: &Self) -> Self {
        if self {
            !*default
        } else {
            *default
        }
    }
}

impl<T: Value> Value for Option<T> {
    const FORM: Form = T::FORM;

    fn parse(text: &str) -> Result<Self, String> {
        T::parse(text).map(Some)
    }

    fn from_toml(value: toml::Value) -> Result<Self, String> {
        T::from_toml(value).map(Some)
    }

    fn show(&self) -> Option<String> {
        self.as_ref().and_then(T::show)
    }

    fn flag(arg: Arg) -> Arg {
        T::flag(arg)
    }

    fn from_flag(matches: &ArgMatches, id: &str) -> Option<Self> {
        T::from_flag(matches, id).map(Some)
    }
}

impl<T: Value> Value for Vec<T> {
    const FORM: Form = Form::List;

    fn parse(text: &str) -> Result<Self, String> {
        text.split(',').map(T::parse).collect()
    }

    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Array(items) => items.into_iter().map(T::from_toml).collect(),
            other => Err(wrong_type("a list", &other)),
        }
    }

    fn show(&self) -> Option<String> {
        let shown: Option<Vec<String>> = self.iter().map(T::show).collect();
        shown
            .filter(|items| !items.is_empty())
            .map(|items| items.join(","))
    }

    fn flag(arg: Arg) -> Arg {
        arg.action(ArgAction::Append)
            .value_delimiter(',')
            .value_parser(ValueParser::new(T::parse))
    }

    fn from_flag(matches: &ArgMatches, id: &str) -> Option<Self> {
        let values = matches.try_get_many::<T>(id).ok().flatten()?;
        Some(values.cloned().collect())
    }
}
