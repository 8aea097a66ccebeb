//! Human-friendly durations for configuration and the token command (`30s`, `2h`, `1h30m`).
//!
//! Written by hand instead of pulling a crate in: the grammar is tiny and the server must
//! reject anything ambiguous rather than guess.

use std::time::Duration;

/// Parses a duration such as `90`, `45s`, `10m`, `2h`, `1d` or `1h30m`.
///
/// A bare number means seconds. Units: `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".to_owned());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text
            .parse()
            .map_err(|_| format!("duration `{text}` is too large"))?;
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "duration `{text}` must be numbers with units, e.g. 2h or 30s"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number
            .parse()
            .map_err(|_| format!("duration `{text}` is too large"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3_600)),
            "d" => Duration::from_secs(value.saturating_mul(86_400)),
            "" => return Err(format!("duration `{text}` is missing a unit after {value}")),
            other => return Err(format!("unknown unit `{other}` in duration `{text}`")),
        };
        total = total.saturating_add(part);
        rest = after;
    }
    Ok(total)
}

/// Formats a duration the way [`parse_duration`] reads it back, in the largest units that
/// fit: `1h`, `30s`, `1h30m`, `250ms`.
pub fn format_duration(duration: Duration) -> String {
    const UNITS: [(&str, u128); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let mut rest = duration.as_millis();
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, millis) in UNITS {
        if rest >= millis {
            text.push_str(&format!("{}{unit}", rest / millis));
            rest %= millis;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_compounds() -> Result<(), String> {
        assert_eq!(parse_duration("90")?, Duration::from_secs(90));
        assert_eq!(parse_duration("45s")?, Duration::from_secs(45));
        assert_eq!(parse_duration("10m")?, Duration::from_secs(600));
        assert_eq!(parse_duration("2h")?, Duration::from_secs(7_200));
        assert_eq!(parse_duration("1d")?, Duration::from_secs(86_400));
        assert_eq!(parse_duration("1h30m")?, Duration::from_secs(5_400));
        assert_eq!(parse_duration("250ms")?, Duration::from_millis(250));
        Ok(())
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "h",
            "2x",
            "2 h",
            "-5s",
            "1.5h",
            "99999999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn formats_round_trip() -> Result<(), String> {
        for d in [
            Duration::ZERO,
            Duration::from_secs(30),
            Duration::from_millis(1_250),
            Duration::from_secs(5_400),
            Duration::from_secs(90_061),
        ] {
            assert_eq!(parse_duration(&format_duration(d))?, d);
        }
        assert_eq!(format_duration(Duration::from_secs(3_600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        Ok(())
    }
}
