use std::collections::BTreeSet;

use super::*;
use crate::config::ConnectionLimits;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The flags layer `huddle-server ARGS` gives.
fn flags(args: &[&str]) -> Result<SettingsLayer, clap::Error> {
    let cmd = <SettingsLayer as clap::Args>::augment_args(Command::new("huddle-server"));
    let matches =
        cmd.try_get_matches_from(std::iter::once("huddle-server").chain(args.iter().copied()))?;
    <SettingsLayer as clap::FromArgMatches>::from_arg_matches(&matches)
}

/// An environment of these variables only.
fn env(vars: &[(&str, &str)]) -> Environment {
    vars.iter()
        .map(|(name, value)| ((*name).to_owned(), OsString::from(value)))
        .collect()
}

/// The settings an open-mode file with `lines` gives.
fn file(lines: &str) -> Result<Settings, Box<dyn std::error::Error>> {
    let layer = SettingsLayer::parse(&format!("mode = \"open\"\n{lines}\n"))?;
    Ok(Settings::default().overlay(layer))
}

/// Each line, in an open-mode file, is refused with a message containing `says`.
fn refused(lines: &[&str], says: &str) -> TestResult {
    for bad in lines {
        let result = file(bad)?.into_server_config();
        assert!(
            matches!(&result, Err(ServerError::Config(m)) if m.contains(says)),
            "{bad}: {result:?}"
        );
    }
    Ok(())
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_file() -> TestResult {
    let file = SettingsLayer::parse(
        "mode = \"open\"\nbind = \"127.0.0.1:9000\"\nreconnect_grace = \"45s\"\nrate_burst = 7\n\
         media = false\n",
    )?;
    let env = env(&[
        ("HUDDLE_BIND", "127.0.0.1:9100"),
        ("HUDDLE_RECONNECT_GRACE", "50s"),
        ("HUDDLE_NO_MEDIA", "false"),
        ("HUDDLE_LOG", "debug"),
    ]);
    let flags = flags(&["--bind", "127.0.0.1:9200"])?;
    let settings = Settings::layered(file, &env, flags)?;
    assert_eq!(settings.bind.port(), 9200, "flag over environment and file");
    assert_eq!(
        settings.reconnect_grace,
        Duration::from_secs(50),
        "environment over file"
    );
    assert!(
        settings.media,
        "HUDDLE_NO_MEDIA=false over the file's media = false"
    );
    assert_eq!(settings.rate_burst, 7, "file over default");
    assert_eq!(settings.mode, Mode::Open, "file over default");
    assert_eq!(settings.join_timeout, Settings::default().join_timeout);
    let config = settings.into_server_config()?;
    assert_eq!(config.bind.port(), 9200);
    assert_eq!(config.reconnect_grace, Duration::from_secs(50));
    assert_eq!(config.rate_limit.burst, 7);
    Ok(())
}

#[test]
fn load_reads_the_file_named_by_the_flag_or_the_environment() -> TestResult {
    let dir = std::env::temp_dir().join(format!("huddle-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (first, second) = (dir.join("first.toml"), dir.join("second.toml"));
    std::fs::write(&first, "mode = \"open\"\nrate_burst = 11\n")?;
    std::fs::write(&second, "mode = \"open\"\nrate_burst = 12\n")?;
    let named = env(&[(CONFIG_ENV, &second.to_string_lossy())]);
    let by_env = Settings::load(None, &named, SettingsLayer::default())?;
    let by_flag = Settings::load(Some(&first), &named, SettingsLayer::default())?;
    let none = Settings::load(None, &Environment::new(), SettingsLayer::default())?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        (by_env.rate_burst, by_flag.rate_burst),
        (12, 11),
        "--config wins over HUDDLE_CONFIG"
    );
    assert_eq!(none, Settings::default());
    let missing = Settings::load(
        Some(&dir.join("gone.toml")),
        &Environment::new(),
        SettingsLayer::default(),
    );
    assert!(
        matches!(missing, Err(ServerError::ConfigRead { .. })),
        "{missing:?}"
    );
    Ok(())
}

/// The settings TLS needs to be on.
const TLS: &str = "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"";
/// The settings TURN needs to be on.
const TURN: &str = "turn_secret = \"x\"\nturn_urls = [\"turn:x\"]";

/// A value for every setting other than its default, as flags and the environment spell it
/// and as the file does, with the other settings it needs to have an effect (open mode
/// unless they say otherwise).
const SAMPLES: &[(&str, &str, &str, &str)] = &[
    (
        "mode",
        "OPEN",
        "\"open\"",
        "mode = \"jwt\"\njwt_secret = \"x\"",
    ),
    (
        "jwt_secret",
        "s3cret",
        "\"s3cret\"",
        "mode = \"jwt\"\njwt_secret = \"x\"",
    ),
    ("bind", "127.0.0.1:9000", "\"127.0.0.1:9000\"", ""),
    ("tls_cert", "a.pem", "\"a.pem\"", TLS),
    ("tls_key", "b.pem", "\"b.pem\"", TLS),
    ("allow_plain", "true", "true", ""),
    ("reconnect_grace", "1m30s", "\"90s\"", ""),
    ("capacity", "300", "300", ""),
    ("max_active", "40", "40", ""),
    ("idle_timeout", "5m", "\"5m\"", ""),
    ("join_timeout", "3s", "\"3s\"", ""),
    ("heartbeat_timeout", "20s", "\"20\"", ""),
    ("rate_per_second", "5", "5", ""),
    ("rate_burst", "6", "6", ""),
    ("app_rate_per_second", "7", "7", ""),
    ("app_rate_burst", "8", "8", ""),
    ("outbox_capacity", "64", "64", ""),
    ("udp_echo_port", "0", "0", ""),
    ("turn_secret", "s3cret", "\"s3cret\"", TURN),
    (
        "turn_urls",
        "turn:a.example.com,turns:b.example.com",
        "[\"turn:a.example.com\", \"turns:b.example.com\"]",
        TURN,
    ),
    ("turn_ttl", "10m", "\"10m\"", TURN),
    ("media", "true", "false", ""),
    ("media_udp_port", "40000", "40000", ""),
    (
        "media_announce",
        "203.0.113.7,::1",
        "[\"203.0.113.7\", \"::1\"]",
        "",
    ),
    ("audio_slots", "2", "2", ""),
    ("video_slots", "16", "16", ""),
    ("share_slots", "0", "0", ""),
    ("media_workers", "3", "3", ""),
    ("media_port_sharing", "one-reader", "\"one-reader\"", ""),
    ("media_send_batch", "true", "false", ""),
    ("header_read_timeout", "3s", "\"3s\"", ""),
    ("max_connections", "50", "50", ""),
    ("max_connections_per_ip", "5", "5", ""),
    ("max_pending_upgrades", "7", "7", ""),
    ("max_tls_handshakes", "3", "3", ""),
    ("max_open_rooms", "2", "2", ""),
    ("max_prejoin_frame_bytes", "2048", "2048", ""),
    ("rate_limit_control_frames", "true", "false", ""),
];

/// Every setting can be given in the file, the environment and a flag, the three agree on
/// what it means, and it changes the server's configuration: a setting missing from a
/// source, or read but never used, fails here.
#[test]
fn every_setting_in_every_source() -> TestResult {
    let infos = Settings::describe();
    let keys: BTreeSet<_> = infos.iter().map(|info| info.key).collect();
    let sampled: BTreeSet<_> = SAMPLES.iter().map(|sample| sample.0).collect();
    assert_eq!(keys, sampled, "SAMPLES has one value for every setting");
    assert_eq!(keys.len(), infos.len(), "no key twice");
    for info in &infos {
        let &(_, text, toml_value, companions) = SAMPLES
            .iter()
            .find(|sample| sample.0 == info.key)
            .ok_or("sampled")?;
        let args: Vec<&str> = match info.form {
            Form::Switch => vec![info.flag],
            Form::Value | Form::List => vec![info.flag, text],
        };
        let from_flags = Settings::default().overlay(flags(&args)?);
        let from_env =
            Settings::default().overlay(SettingsLayer::from_env(&env(&[(info.env, text)]))?);
        let from_file = Settings::default().overlay(SettingsLayer::parse(&format!(
            "{} = {toml_value}",
            info.key
        ))?);
        assert_ne!(
            from_flags,
            Settings::default(),
            "{} from its flag",
            info.key
        );
        assert_eq!(from_env, from_flags, "{} from {}", info.key, info.env);
        assert_eq!(from_file, from_flags, "{} from the file", info.key);

        let base = if companions.contains("mode =") {
            SettingsLayer::parse(companions)?
        } else {
            SettingsLayer::parse(&format!("mode = \"open\"\n{companions}"))?
        };
        let without = Settings::default().overlay(base.clone());
        let with = without.clone().overlay(flags(&args)?);
        assert_ne!(
            without.into_server_config()?,
            with.into_server_config()?,
            "{} changes the server's configuration",
            info.key
        );
    }
    Ok(())
}

#[test]
fn list_flags_repeat_and_split_at_commas() -> TestResult {
    let layer = flags(&[
        "--media-announce",
        "192.0.2.1,192.0.2.2",
        "--media-announce",
        "::1",
    ])?;
    let expected: Vec<IpAddr> = vec![[192, 0, 2, 1].into(), [192, 0, 2, 2].into(), "::1".parse()?];
    assert_eq!(layer.media_announce, Some(expected));
    let twice = flags(&["--bind", "127.0.0.1:1", "--bind", "127.0.0.1:2"]);
    assert!(
        twice.is_err(),
        "a single-valued flag given twice is refused"
    );
    Ok(())
}

#[test]
fn names_follow_one_convention() {
    let infos = Settings::describe();
    let mut seen = BTreeSet::new();
    for info in &infos {
        let name = info.flag.strip_prefix("--").unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}: flags are --lower-case",
            info.flag
        );
        let snake = |text: &str| text.replace('-', "_");
        let from_flag = match info.form {
            Form::Switch if info.flag.starts_with("--no-") => snake(name.trim_start_matches("no-")),
            Form::List if !info.key.ends_with('s') || snake(name) == info.key => snake(name),
            Form::List => format!("{}s", snake(name)),
            Form::Value | Form::Switch => snake(name),
        };
        assert_eq!(
            from_flag, info.key,
            "{}: the key is the flag's name",
            info.flag
        );
        let env_stem = match info.form {
            Form::Switch => snake(name),
            Form::Value | Form::List => info.key.to_owned(),
        };
        assert_eq!(
            info.env,
            format!("HUDDLE_{}", env_stem.to_ascii_uppercase()),
            "{}: the environment variable is HUDDLE_ and the key (a switch's: the flag's name)",
            info.key
        );
        if info.form == Form::Switch {
            assert_eq!(
                info.flag.starts_with("--no-"),
                info.default.as_deref() == Some("true"),
                "{}: a switch turns its default around: --no-… exactly when on by default",
                info.flag
            );
        }
        assert!(
            info.value_name.is_some() != (info.form == Form::Switch),
            "{}: value name",
            info.flag
        );
        assert!(!info.help.is_empty(), "{}: help", info.key);
        for name in [info.key, info.flag, info.env] {
            assert!(seen.insert(name), "{name} is used twice");
        }
    }
    assert!(
        !seen.contains("--config") && !seen.contains(CONFIG_ENV),
        "--config is not a setting"
    );
}

/// The settings table in docs/server.md is the one the code declares;
/// `HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle-server settings_docs` rewrites it.
#[test]
fn settings_docs_table_is_current() -> TestResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/server.md");
    let docs = std::fs::read_to_string(&path)?;
    let begin = docs
        .find(DOCS_BEGIN)
        .ok_or("docs/server.md has the settings table's first marker")?;
    let start = begin + DOCS_BEGIN.len() + 1;
    let end = docs
        .find(DOCS_END)
        .ok_or("docs/server.md has the settings table's last marker")?;
    let current = docs.get(start..end).ok_or("markers in order")?;
    let wanted = markdown_table();
    if current != wanted {
        if std::env::var_os("HUDDLE_UPDATE_GENERATED").is_some() {
            std::fs::write(&path, format!("{}{wanted}{}", &docs[..start], &docs[end..]))?;
        } else {
            let (has, wants) = current
                .lines()
                .map(Some)
                .chain(std::iter::repeat(None))
                .zip(wanted.lines().map(Some).chain(std::iter::repeat(None)))
                .find(|(has, wants)| has != wants)
                .unwrap_or_default();
            return Err(format!(
                "docs/server.md's settings table is stale: HUDDLE_UPDATE_GENERATED=1 cargo test \
                 -p huddle-server settings_docs rewrites it\n  has:   {}\n  wants: {}",
                has.unwrap_or("(nothing)"),
                wants.unwrap_or("(nothing)")
            )
            .into());
        }
    }
    for info in Settings::describe() {
        assert!(
            wanted.contains(&format!("`{}", info.flag)),
            "{} in the docs",
            info.flag
        );
        assert!(wanted.contains(info.env), "{} in the docs", info.env);
    }
    Ok(())
}

#[test]
fn defaults_are_the_library_defaults() -> TestResult {
    let open = Settings {
        mode: Mode::Open,
        ..Settings::default()
    };
    assert_eq!(
        open.into_server_config()?,
        ServerConfig::new(AuthMode::Open)
    );
    let jwt = Settings {
        jwt_secret: Some(Secret("s".into())),
        ..Settings::default()
    };
    assert_eq!(
        jwt.into_server_config()?,
        ServerConfig::new(AuthMode::Jwt {
            secret: b"s".to_vec()
        })
    );
    let shown: Vec<_> = Settings::describe()
        .into_iter()
        .map(|info| (info.key, info.default))
        .collect();
    for (key, default) in [
        ("bind", "127.0.0.1:7880"),
        ("turn_ttl", "1h"),
        ("max_prejoin_frame_bytes", "16384"),
    ] {
        assert!(
            shown.contains(&(key, Some(default.to_owned()))),
            "{key} defaults to {default}"
        );
    }
    Ok(())
}

#[test]
fn file_errors_name_the_setting() {
    for (line, says) in [
        ("bnid = \"x\"", "unknown field `bnid`"),
        (
            "rate_burst = \"x\"",
            "setting `rate_burst`: expected a whole number, found string",
        ),
        (
            "audio_slots = 300",
            "setting `audio_slots`: 300 is not from 0 to 255",
        ),
        (
            "max_connections = -1",
            "setting `max_connections`: -1 is not from 0",
        ),
        (
            "reconnect_grace = 30",
            "setting `reconnect_grace`: expected a duration",
        ),
        (
            "reconnect_grace = \"5x\"",
            "setting `reconnect_grace`: unknown unit `x`",
        ),
        (
            "media = \"no\"",
            "setting `media`: expected true or false, found string",
        ),
        ("mode = \"closed\"", "setting `mode`: unknown mode `closed`"),
        (
            "bind = \"localhost\"",
            "setting `bind`: `localhost` is not IP:PORT",
        ),
        (
            "media_announce = \"::1\"",
            "setting `media_announce`: expected a list, found string",
        ),
        (
            "media_announce = [\"x\"]",
            "setting `media_announce`: `x` is not an IP address",
        ),
        (
            "turn_urls = [1]",
            "setting `turn_urls`: expected a string, found integer",
        ),
        (
            "tls_cert = \"\"",
            "setting `tls_cert`: the file name is empty",
        ),
    ] {
        let error = SettingsLayer::parse(line)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(m) if m.contains(says)),
            "{line}: {error:?}"
        );
    }
}

#[test]
fn file_errors_name_the_file() -> TestResult {
    let path =
        std::env::temp_dir().join(format!("huddle-settings-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "mode = \"open\"\nrate_brust = 3\n")?;
    let error = SettingsLayer::load(&path)
        .map(|_| ())
        .map_err(|e| e.to_string());
    std::fs::remove_file(&path)?;
    let message = error.err().ok_or("refused")?;
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("line 2") && message.contains("rate_brust"),
        "{message}"
    );
    Ok(())
}

#[test]
fn environment_errors_name_the_setting_and_variable() {
    for (var, value, says) in [
        (
            "HUDDLE_RATE_BURST",
            "abc",
            "setting `rate_burst` from environment variable HUDDLE_RATE_BURST: \
             `abc` is not a whole number",
        ),
        ("HUDDLE_RATE_BURST", "", "`` is not a whole number"),
        (
            "HUDDLE_ALLOW_PLAIN",
            "1",
            "setting `allow_plain` from environment variable HUDDLE_ALLOW_PLAIN: \
             `1` is neither `true` nor `false`",
        ),
        (
            "HUDDLE_JOIN_TIMEOUT",
            "soon",
            "setting `join_timeout` from environment variable HUDDLE_JOIN_TIMEOUT",
        ),
        (
            "HUDDLE_MEDIA_ANNOUNCE",
            "192.0.2.1,",
            "`` is not an IP address",
        ),
        ("HUDDLE_MODE", "", "unknown mode ``"),
    ] {
        let error = SettingsLayer::from_env(&env(&[(var, value)]))
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(m) if m.contains(says)),
            "{var}={value}: {error:?}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt as _;
        let mut bad = Environment::new();
        bad.insert(
            "HUDDLE_BIND".to_owned(),
            OsString::from_vec(vec![0xff, 0xfe]),
        );
        let error = SettingsLayer::from_env(&bad)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(m) if m.contains("HUDDLE_BIND") && m.contains("UTF-8")),
            "{error:?}"
        );
    }
}

#[test]
fn flag_errors_name_the_flag() {
    for (args, says) in [
        (&["--rate-burst", "abc"][..], "--rate-burst"),
        (&["--reconnect-grace", "5x"][..], "unknown unit `x`"),
        (&["--mode", "closed"][..], "unknown mode `closed`"),
        (&["--allow-plain=true"][..], "--allow-plain"),
        (&["--tls-cert", ""][..], "--tls-cert"),
    ] {
        let error = flags(args).map(|_| ()).map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(m) if m.contains(says)),
            "{args:?}: {error:?}"
        );
    }
}

/// Whatever a source says, loading answers with settings or an error about that setting;
/// it never panics.
#[test]
fn junk_in_any_source_is_an_error_never_a_panic() -> TestResult {
    let texts = [
        "",
        "x",
        "-1",
        "0",
        "99999999999999999999999",
        "1,2",
        ",",
        "\u{0}",
        "true",
        "1h",
        "::1",
    ];
    let tomls = [
        "\"x\"",
        "1",
        "-1",
        "[1]",
        "[\"x\"]",
        "{ a = 1 }",
        "true",
        "1.5",
        "1979-05-27",
    ];
    for info in Settings::describe() {
        for text in texts {
            let from_env = SettingsLayer::from_env(&env(&[(info.env, text)]));
            if let Err(e) = &from_env {
                assert!(
                    matches!(e, ServerError::Setting { setting, .. } if *setting == info.key),
                    "{e}"
                );
            }
            let from_flag = flags(&[info.flag, text]);
            for layer in [from_env.ok(), from_flag.ok()].into_iter().flatten() {
                let _ = Settings::default().overlay(layer).into_server_config();
            }
        }
        for toml_value in tomls {
            match SettingsLayer::parse(&format!("{} = {toml_value}", info.key)) {
                Ok(layer) => {
                    let _ = Settings::default().overlay(layer).into_server_config();
                }
                Err(e) => assert!(e.to_string().contains(info.key), "{}: {e}", info.key),
            }
        }
    }
    Ok(())
}

#[test]
fn turn_settings_need_secret_and_urls() -> TestResult {
    let both = file(
        "turn_secret = \"s3cret\"\nturn_urls = [\"turn:127.0.0.1:3478?transport=udp\"]\n\
         turn_ttl = \"10m\"\nudp_echo_port = 0",
    )?
    .into_server_config()?;
    let turn = both.nettest.turn.ok_or("TURN configured")?;
    assert_eq!(turn.secret, b"s3cret");
    assert_eq!(turn.urls, ["turn:127.0.0.1:3478?transport=udp"]);
    assert_eq!(turn.ttl, Duration::from_secs(600));
    assert_eq!(both.nettest.udp_port, Some(0));
    refused(
        &["turn_secret = \"s3cret\"", "turn_urls = []"],
        "both a secret",
    )?;
    refused(
        &[
            "turn_secret = \"\"\nturn_urls = [\"turn:x\"]",
            "turn_secret = \"s\"\nturn_urls = []",
        ],
        "non-empty secret",
    )
}

#[test]
fn media_settings() -> TestResult {
    let config = file(
        "media_udp_port = 40000\nmedia_announce = [\"203.0.113.7\"]\naudio_slots = 2\n\
         video_slots = 16\nshare_slots = 1",
    )?
    .into_server_config()?;
    assert!(config.media.enabled);
    assert_eq!(config.media.udp_port, 40000);
    assert_eq!(config.media.announce, [IpAddr::from([203, 0, 113, 7])]);
    assert_eq!(
        (
            config.media.audio_slots,
            config.media.video_slots,
            config.media.share_slots
        ),
        (2, 16, 1)
    );
    let off = file("media = false")?.into_server_config()?;
    assert!(!off.media.enabled);
    refused(
        &[
            "audio_slots = 0",
            "audio_slots = 9",
            "video_slots = 0",
            "video_slots = 26",
            "share_slots = 5",
        ],
        "slots",
    )
}

#[test]
fn connection_limits() -> TestResult {
    assert_eq!(
        file("")?.into_server_config()?.limits,
        ConnectionLimits::default()
    );
    let config = file(
        "header_read_timeout = \"3s\"\nmax_connections = 50\nmax_connections_per_ip = 5\n\
         max_pending_upgrades = 7\nmax_tls_handshakes = 3\nmax_open_rooms = 2\n\
         max_prejoin_frame_bytes = 2048\nrate_limit_control_frames = false",
    )?
    .into_server_config()?;
    assert_eq!(
        config.limits,
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(3),
            max_connections: 50,
            max_connections_per_ip: 5,
            max_pending_upgrades: 7,
            max_tls_handshakes: 3,
            max_open_rooms: 2,
            max_prejoin_frame_bytes: 2048,
            rate_limit_control_frames: false,
        }
    );
    refused(
        &[
            "max_connections = 0",
            "max_connections_per_ip = 0",
            "max_pending_upgrades = 0",
            "max_tls_handshakes = 0",
            "max_open_rooms = 0",
        ],
        "at least 1",
    )?;
    refused(
        &[
            "max_prejoin_frame_bytes = 100",
            "max_prejoin_frame_bytes = 100000",
        ],
        "pre-join",
    )?;
    refused(&["header_read_timeout = \"0s\""], "header read timeout")
}

#[test]
fn refuses_bad_combinations() -> TestResult {
    let jwt_without_secret = SettingsLayer::parse("mode = \"jwt\"")?;
    assert!(Settings::default()
        .overlay(jwt_without_secret)
        .into_server_config()
        .is_err());
    refused(&["bind = \"0.0.0.0:7880\""], "refusing to serve plain HTTP")?;
    assert!(file("bind = \"0.0.0.0:7880\"\nallow_plain = true")?
        .into_server_config()
        .is_ok());
    refused(&["tls_cert = \"c.pem\""], "both a certificate and a key")
}
