//! Turning measured figures into good / fair / poor and plain advice. Pure functions, so the
//! rules are tested without a network; the thresholds and where they come from are written in
//! `docs/nettest.md`.

use serde::Serialize;

/// Overall verdict shown on the pre-join screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Video and audio should work without visible trouble.
    Good,
    /// A call will work, with some freezes, lower video quality or delay.
    Fair,
    /// A call will suffer: audio breaks up, video freezes, or it cannot connect by UDP.
    Poor,
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grade::Good => "good",
            Grade::Fair => "fair",
            Grade::Poor => "poor",
        })
    }
}

/// Round-trip time below which delay is unnoticeable (ITU-T G.114: one-way below 150 ms is
/// acceptable for most interactive use; half of this budget leaves room for media buffering).
pub const GOOD_RTT_MS: f64 = 150.0;
/// Round-trip time above which delay disturbs conversation (one-way above 150 ms, G.114).
pub const POOR_RTT_MS: f64 = 300.0;
/// Jitter below which an audio jitter buffer absorbs it with little added delay.
pub const GOOD_JITTER_MS: f64 = 30.0;
/// Jitter above which the jitter buffer adds noticeable delay or drops audio.
pub const POOR_JITTER_MS: f64 = 50.0;
/// Loss below which Opus in-band FEC and video recovery hide it.
pub const GOOD_LOSS_PCT: f64 = 1.0;
/// Loss above which audio breaks up and video freezes.
pub const POOR_LOSS_PCT: f64 = 5.0;
/// Throughput each way comfortable for 720p30 video plus audio (kbit/s).
pub const GOOD_KBPS: f64 = 2500.0;
/// Throughput each way below which 720p video cannot be sent or received (kbit/s); below
/// this the call falls back to lower resolutions.
pub const POOR_KBPS: f64 = 1200.0;

/// The figures the grade is drawn from; `None` where a stage could not measure.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// UDP round-trip time, median, ms.
    pub rtt_ms: Option<f64>,
    /// UDP jitter, ms.
    pub jitter_ms: Option<f64>,
    /// Round-trip loss, percent.
    pub loss_pct: Option<f64>,
    /// Download throughput, kbit/s.
    pub download_kbps: Option<f64>,
    /// Upload throughput, kbit/s.
    pub upload_kbps: Option<f64>,
    /// The UDP echo answered.
    pub udp_ok: bool,
    /// A TURN relay was obtained (or `None` when none is configured).
    pub turn_ok: Option<bool>,
}

/// The grade and the sentences that explain it, worst problem first.
pub fn grade(f: &Figures) -> (Grade, Vec<String>) {
    let mut grade = Grade::Good;
    let mut advice: Vec<(Grade, String)> = Vec::new();
    let mut note = |g: Grade, text: &str| {
        advice.push((g, text.to_owned()));
    };
    if !f.udp_ok {
        let text = match f.turn_ok {
            Some(true) => {
                "UDP is blocked: the call will be relayed over TURN, which adds delay. \
                 Try another network or ask your administrator to allow UDP."
            }
            _ => {
                "UDP is blocked and no relay was reached: video and audio may not connect. \
                 Try another network or ask your administrator to allow UDP."
            }
        };
        note(Grade::Poor, text);
    }
    if let Some(loss) = f.loss_pct {
        if loss > POOR_LOSS_PCT {
            note(
                Grade::Poor,
                "Heavy packet loss: audio will break up and video may freeze. \
                 Try a wired connection or move closer to the Wi-Fi router.",
            );
        } else if loss >= GOOD_LOSS_PCT {
            note(
                Grade::Fair,
                "Some packet loss: video may stutter. A wired connection would help.",
            );
        }
    }
    if let Some(rtt) = f.rtt_ms {
        if rtt > POOR_RTT_MS {
            note(
                Grade::Poor,
                "Long delay to the server: people will talk over each other. \
                 A server nearer to you, or a wired connection, would help.",
            );
        } else if rtt >= GOOD_RTT_MS {
            note(
                Grade::Fair,
                "Noticeable delay to the server: conversation may feel slightly slow.",
            );
        }
    }
    if let Some(jitter) = f.jitter_ms {
        if jitter > POOR_JITTER_MS {
            note(
                Grade::Poor,
                "Very uneven delay (jitter): audio may be choppy. Close other programs that \
                 use the network, or try a wired connection.",
            );
        } else if jitter >= GOOD_JITTER_MS {
            note(
                Grade::Fair,
                "Uneven delay (jitter): audio may occasionally sound choppy.",
            );
        }
    }
    for (kbps, way) in [(f.download_kbps, "download"), (f.upload_kbps, "upload")] {
        let Some(kbps) = kbps else { continue };
        if kbps < POOR_KBPS {
            note(
                Grade::Poor,
                &format!(
                    "The {way} speed is too low for 720p video: others' video may freeze or \
                     look blurry. Pause downloads and streaming, or turn your camera off."
                ),
            );
        } else if kbps < GOOD_KBPS {
            note(
                Grade::Fair,
                &format!("The {way} speed is modest: video quality may drop at times."),
            );
        }
    }
    if f.download_kbps.is_none() || f.upload_kbps.is_none() {
        note(
            Grade::Fair,
            "The speed test did not finish, so video quality could not be checked.",
        );
    }
    if f.udp_ok && f.turn_ok == Some(false) {
        note(
            Grade::Fair,
            "The relay (TURN) server could not be reached: calls from restrictive networks \
             may fail.",
        );
    }
    for (g, _) in &advice {
        grade = grade.max(*g);
    }
    advice.sort_by_key(|a| std::cmp::Reverse(a.0));
    (grade, advice.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Figures {
        Figures {
            rtt_ms: Some(20.0),
            jitter_ms: Some(2.0),
            loss_pct: Some(0.0),
            download_kbps: Some(50_000.0),
            upload_kbps: Some(20_000.0),
            udp_ok: true,
            turn_ok: Some(true),
        }
    }

    #[test]
    fn clean_is_good_without_advice() {
        let (g, advice) = grade(&clean());
        assert_eq!(g, Grade::Good);
        assert!(advice.is_empty());
    }

    #[test]
    fn each_threshold() {
        type Change = fn(&mut Figures);
        let cases: [(Change, Grade); 9] = [
            (|f| f.loss_pct = Some(2.0), Grade::Fair),
            (|f| f.loss_pct = Some(5.5), Grade::Poor),
            (|f| f.rtt_ms = Some(200.0), Grade::Fair),
            (|f| f.rtt_ms = Some(320.0), Grade::Poor),
            (|f| f.jitter_ms = Some(35.0), Grade::Fair),
            (|f| f.jitter_ms = Some(60.0), Grade::Poor),
            (|f| f.upload_kbps = Some(2000.0), Grade::Fair),
            (|f| f.download_kbps = Some(1000.0), Grade::Poor),
            (|f| f.udp_ok = false, Grade::Poor),
        ];
        for (change, expected) in cases {
            let mut f = clean();
            change(&mut f);
            let (g, advice) = grade(&f);
            assert_eq!(g, expected, "{f:?}");
            assert!(!advice.is_empty(), "{f:?}");
        }
    }

    #[test]
    fn worst_advice_first() {
        let mut f = clean();
        f.jitter_ms = Some(35.0);
        f.loss_pct = Some(9.0);
        let (g, advice) = grade(&f);
        assert_eq!(g, Grade::Poor);
        assert!(advice[0].contains("packet loss"), "{advice:?}");
    }
}
