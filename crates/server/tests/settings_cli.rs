//! The `huddle-server` binary's settings against their one declaration: `--help` lists every
//! setting with its environment variable, file key and default; every flag and `HUDDLE_*`
//! variable docs/server.md names exists; the TOML examples in the docs parse; and the binary
//! layers file, environment and flags, naming the setting and source of a bad value.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use huddle_server::settings::{Form, Settings, CONFIG_ENV};
use huddle_server::SettingsLayer;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Runs the binary with only the environment variables given.
fn run(args: &[&str], env: &[(&str, &str)]) -> TestResult<Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huddle-server"));
    command.env_clear().args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    Ok(command.output()?)
}

fn help(args: &[&str]) -> TestResult<String> {
    let out = run(args, &[])?;
    assert!(out.status.success(), "{args:?}: {out:?}");
    Ok(String::from_utf8(out.stdout)?)
}

/// The long flags a help text defines (its option lines).
fn defined_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            // `-h, --help`: the long flag after the short one.
            let line = match line.strip_prefix('-') {
                Some(short) if !short.starts_with('-') => short.split_once(", ")?.1,
                _ => line,
            };
            let flag = line.strip_prefix("--")?.split([' ', '=']).next()?;
            Some(format!("--{flag}"))
        })
        .collect()
}

fn docs() -> TestResult<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/server.md");
    Ok(std::fs::read_to_string(path)?)
}

#[test]
fn help_lists_every_setting() -> TestResult {
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let help = help(args)?;
        let infos = Settings::describe();
        for info in &infos {
            // The option's line and the next: clap puts long help below the flag.
            let lines: Vec<&str> = help.lines().collect();
            let at = lines
                .iter()
                .position(|line| defined_flags(line).contains(info.flag))
                .ok_or_else(|| format!("{args:?}: {} is in the help", info.flag))?;
            let line = lines[at..]
                .iter()
                .take(2)
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let (env, key) = match info.form {
                Form::Switch => (
                    format!("[env: {}=true]", info.env),
                    format!("[file: {} = {}]", info.key, !info.flag.starts_with("--no-")),
                ),
                Form::Value | Form::List => (
                    format!("[env: {}]", info.env),
                    format!("[file: {}]", info.key),
                ),
            };
            assert!(
                line.contains(&env) && line.contains(&key),
                "{}: {line}",
                info.flag
            );
            if let (Some(default), Form::Value | Form::List) = (&info.default, info.form) {
                assert!(
                    line.contains(&format!("[default: {default}]")),
                    "{}: {line}",
                    info.flag
                );
            }
        }
        let mut expected: BTreeSet<String> =
            infos.iter().map(|info| info.flag.to_owned()).collect();
        expected.extend(["--config", "--help"].map(str::to_owned));
        let mut defined = defined_flags(&help);
        defined.remove("--version");
        assert_eq!(
            defined, expected,
            "{args:?}: the help defines the settings' flags and no others"
        );
        assert!(help.contains(&format!("[env: {CONFIG_ENV}]")));
    }
    Ok(())
}

/// Inline code and `huddle-server` command lines in docs/server.md: every flag they name is
/// one of the binary's, every `HUDDLE_*` variable one it reads.
#[test]
fn documented_flags_and_variables_exist() -> TestResult {
    let mut known = BTreeSet::new();
    for args in [
        &["--help"][..],
        &["serve", "--help"][..],
        &["token", "--help"][..],
    ] {
        known.extend(defined_flags(&help(args)?));
    }
    let mut variables: BTreeSet<String> = Settings::describe()
        .iter()
        .map(|info| info.env.to_owned())
        .collect();
    variables.extend([CONFIG_ENV, "HUDDLE_LOG", "HUDDLE_UPDATE_GENERATED"].map(str::to_owned));

    let docs = docs()?;
    let mut mentioned = Vec::new();
    let mut in_block = false;
    let mut command = String::new();
    for line in docs.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            // A command line, with its continuation lines.
            command.push_str(line.trim_end_matches('\\'));
            command.push(' ');
            if line.ends_with('\\') {
                continue;
            }
            let words: Vec<&str> = command.split_whitespace().collect();
            if let Some(start) = words
                .iter()
                .position(|word| word.ends_with("huddle-server"))
            {
                if words.first() != Some(&"cargo") {
                    mentioned.extend(
                        words[start..]
                            .iter()
                            .map(|word| word.trim_matches(['[', ']']).to_owned()),
                    );
                }
            }
            command.clear();
        } else {
            mentioned.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    let mut checked = 0;
    for text in mentioned {
        for word in text.split_whitespace() {
            if let Some(flag) = word.strip_prefix("--") {
                let flag = format!("--{}", flag.split('=').next().unwrap_or_default());
                assert!(
                    known.contains(&flag),
                    "docs/server.md names {flag}, which huddle-server does not have"
                );
                checked += 1;
            }
        }
        for (at, _) in text.match_indices("HUDDLE_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if name == "HUDDLE_" {
                continue; // the prefix itself: `HUDDLE_*`
            }
            assert!(
                variables.contains(&name),
                "docs/server.md names {name}, which huddle-server does not read"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 60,
        "the docs' flags and variables were found ({checked})"
    );
    Ok(())
}

#[test]
fn toml_examples_in_the_docs_parse() -> TestResult {
    let docs = docs()?;
    let mut examples = 0;
    for block in docs.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap_or_default();
        SettingsLayer::parse(text).map_err(|e| format!("{text}: {e}"))?;
        examples += 1;
    }
    assert!(examples >= 1);
    Ok(())
}

/// The binary's own layering: flag over environment over file. A public address without TLS
/// is refused, and the refusal names the address that won.
#[test]
fn the_binary_layers_file_environment_and_flags() -> TestResult {
    let file = temp_file(
        "layers.toml",
        "mode = \"open\"\nbind = \"192.0.2.1:7880\"\n",
    )?;
    let config = file.to_string_lossy().into_owned();
    let refused_on = |args: &[&str], env: &[(&str, &str)]| -> TestResult<String> {
        let out = run(args, env)?;
        assert!(!out.status.success(), "{out:?}");
        let stderr = String::from_utf8(out.stderr)?;
        let ip = stderr
            .split("plain HTTP on ")
            .nth(1)
            .and_then(|rest| rest.split(',').next());
        Ok(ip.ok_or(stderr.clone())?.to_owned())
    };
    let env = [
        (CONFIG_ENV, config.as_str()),
        ("HUDDLE_BIND", "198.51.100.1:7880"),
    ];
    assert_eq!(refused_on(&["--config", &config], &[])?, "192.0.2.1");
    assert_eq!(refused_on(&[], &env)?, "198.51.100.1");
    assert_eq!(
        refused_on(&["--bind", "203.0.113.1:7880"], &env)?,
        "203.0.113.1"
    );
    std::fs::remove_file(file)?;
    Ok(())
}

#[test]
fn the_binary_names_the_setting_and_source_of_bad_input() -> TestResult {
    let file = temp_file("bad.toml", "mode = \"open\"\nrate_brust = 3\n")?;
    let config = file.to_string_lossy().into_owned();
    for (args, env, says) in [
        (
            &[][..],
            &[("HUDDLE_MODE", "open"), ("HUDDLE_RATE_BURST", "abc")][..],
            &[
                "setting `rate_burst` from environment variable HUDDLE_RATE_BURST",
                "`abc`",
            ][..],
        ),
        (
            &["--config", &config][..],
            &[][..],
            &[config.as_str(), "line 2", "unknown field `rate_brust`"][..],
        ),
        (
            &["--mode", "open", "--audio-slots", "many"][..],
            &[][..],
            &["--audio-slots", "`many`"][..],
        ),
    ] {
        let out = run(args, env)?;
        let stderr = String::from_utf8(out.stderr)?;
        assert!(!out.status.success(), "{args:?} {env:?}: refused");
        assert!(!stderr.contains("panicked"), "{stderr}");
        for part in says {
            assert!(
                stderr.contains(part),
                "{args:?} {env:?}: {part} in {stderr}"
            );
        }
    }
    std::fs::remove_file(file)?;
    Ok(())
}

fn temp_file(name: &str, text: &str) -> TestResult<PathBuf> {
    let path =
        std::env::temp_dir().join(format!("huddle-settings-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}
