//! Echo cancellation on the real PulseAudio loop: far-end speech is played through the
//! speaker path and comes back through the microphone path (the null sink's monitor)
//! together with a near-end talker played by a second stream that is not part of the echo
//! reference. After convergence the echo must drop by at least 20 dB while the near-end
//! talker stays.

mod common;

use std::time::Duration;

use common::{collect, energy, ensure_pulse, flatten, locate, ncc_at, wait_first, TestResult};
use huddle_media::{
    AudioFrame, EchoAligner, MicCapture, NoiseLevel, ProcessingConfig, SonoraProcessor,
    SpeakerPlayout, SpeechSource, SAMPLES_PER_FRAME,
};

const FAR_SECONDS: f32 = 9.0;
const NEAR_START: f32 = 6.0;
const NEAR_SECONDS: f32 = 7.0;
/// Generous playout lead: the test machine is shared with builds, and an underrun shifts
/// the played signals against the timeline the test measures on.
const LEAD: Duration = Duration::from_millis(120);

/// Attempts at most: see below.
const ATTEMPTS: u32 = 3;

#[test]
fn echo_is_cancelled_and_near_end_speech_is_kept() -> TestResult {
    ensure_pulse()?;
    // A run in which the playout underran or the capture overran had an echo path that
    // jumped in time mid-measurement, which is not the situation the figures are defined
    // for; when such a run misses a figure it is repeated. A clean run that misses fails.
    for attempt in 1..=ATTEMPTS {
        match measure() {
            Ok(()) => return Ok(()),
            Err(Miss {
                glitched: Some(glitch),
                why,
            }) if attempt < ATTEMPTS => {
                println!("attempt {attempt}: {why}, with {glitch}; measuring again");
            }
            Err(miss) => return Err(miss.why.into()),
        }
    }
    Err("no attempt left".into())
}

/// A missed figure, and whether the run glitched.
struct Miss {
    why: String,
    glitched: Option<String>,
}

impl From<Box<dyn std::error::Error>> for Miss {
    fn from(e: Box<dyn std::error::Error>) -> Self {
        Miss {
            why: e.to_string(),
            glitched: None,
        }
    }
}

impl From<&str> for Miss {
    fn from(e: &str) -> Self {
        Miss {
            why: e.to_owned(),
            glitched: None,
        }
    }
}

impl From<huddle_media::MediaError> for Miss {
    fn from(e: huddle_media::MediaError) -> Self {
        Miss {
            why: e.to_string(),
            glitched: None,
        }
    }
}

fn measure() -> Result<(), Miss> {
    let (mic, _) = MicCapture::start(None)?;
    let (far_speaker, _) = SpeakerPlayout::start_with_lead(None, LEAD)?;
    let (near_speaker, _) = SpeakerPlayout::start_with_lead(None, LEAD)?;
    let captured_sub = mic.subscribe(3000)?;
    let reference_sub = far_speaker.reference(3000)?;
    wait_first(&captured_sub, Duration::from_secs(10))?;

    // Timeline: far-end alone 0-6 s, double talk 6-9 s, near-end alone 9-13 s (measured
    // from 10 s, so that a late far-end cannot leak into it).
    let far = SpeechSource::new(11).take_seconds(FAR_SECONDS);
    let mut near_talker = SpeechSource::new(22);
    near_talker.set_level_dbfs(-22.0);
    let near_speech = near_talker.take_seconds(NEAR_SECONDS);
    let mut near = vec![0.0f32; (NEAR_START * 48_000.0) as usize];
    near.extend_from_slice(&near_speech);

    far_speaker.play_clip(far.clone())?;
    near_speaker.play_clip(near)?;
    let captured = collect(
        &captured_sub,
        Duration::from_secs_f32(NEAR_START + NEAR_SECONDS + 2.0),
    )?;
    let reference = collect(&reference_sub, Duration::from_millis(200))?;

    // Where the far-end speech starts in the capture (the echo path's start).
    let mic_raw = flatten(&captured);
    println!(
        "captured {} frames ({:.1} dBFS overall), reference {} frames ({:.1} dBFS), \
         underruns far {} near {}, mic overruns {}",
        captured.len(),
        huddle_media::frame::rms_dbfs(&mic_raw),
        reference.len(),
        huddle_media::frame::rms_dbfs(&flatten(&reference)),
        far_speaker.underruns(),
        near_speaker.underruns(),
        mic.stats().overruns,
    );
    let probe = &far[..48_000];
    let (far_at, far_peak) = locate(&mic_raw, probe).ok_or("capture too short")?;
    let far_frame = far_at / SAMPLES_PER_FRAME;

    // Process in capture order, feeding the playout reference by media-clock time.
    let mut processor = SonoraProcessor::new(ProcessingConfig {
        echo_cancellation: true,
        noise_suppression: Some(NoiseLevel::Moderate),
        auto_gain: false,
        high_pass: true,
    });
    let mut aligner = EchoAligner::new();
    let mut refs = reference.into_iter().peekable();
    let mut processed: Vec<AudioFrame> = Vec::with_capacity(captured.len());
    for frame in &captured {
        while let Some(r) = refs.next_if(|r| r.timestamp <= frame.timestamp) {
            aligner.push_render(r);
        }
        let mut f = frame.clone();
        aligner.process(&mut processor, &mut f)?;
        processed.push(f);
    }
    let out = flatten(&processed);

    let secs = |s: f32| far_at + (s * 48_000.0) as usize;
    let window = |x: &[f32], a: f32, b: f32| x[secs(a).min(x.len())..secs(b).min(x.len())].to_vec();

    // ERLE over far-end-only speech after 3.5 s of convergence.
    let erle = 10.0
        * (energy(&window(&mic_raw, 4.0, NEAR_START))
            / energy(&window(&out, 4.0, NEAR_START)).max(1e-12))
        .log10();

    // Near-end alone: how much of its energy survives processing.
    let near_only_change = 10.0
        * (energy(&window(&out, 10.5, 12.8)) / energy(&window(&mic_raw, 10.5, 12.8)).max(1e-12))
            .log10();

    // Double talk: correlation of the output with the clean near-end speech, aligned where
    // the near-end talker appears in the raw capture.
    let near_probe = &near_speech[4 * 48_000..6 * 48_000];
    let search_from = secs(NEAR_START + 3.5);
    let (near_lag, near_raw_peak) =
        locate(&mic_raw[search_from..], near_probe).ok_or("near-end not captured")?;
    let near_start = (search_from + near_lag).saturating_sub(4 * 48_000);
    let dt_len = (2.5 * 48_000.0) as usize;
    let dt_from = near_start + 24_000;
    let dt_near = &near_speech[24_000..24_000 + dt_len];
    // Processing may delay the signal a little (band splitting); measure it on the
    // near-end-only part and compensate.
    let (out_lag, out_peak) =
        locate(&out[search_from..], near_probe).ok_or("near-end lost in processing")?;
    let processing_delay = out_lag as i64 - near_lag as i64;
    let dt_out_from = (dt_from as i64 + processing_delay).max(0) as usize;
    let dt_corr_out = ncc_at(&out, dt_near, dt_out_from);
    // The loop has unity gain, so the near-end's share of the capture has the energy of the
    // clean near-end signal; compare what comes out during double talk with that.
    let dt_out = &out[dt_out_from.min(out.len())..(dt_out_from + dt_len).min(out.len())];
    let dt_level_change = 10.0 * (energy(dt_out) / energy(dt_near).max(1e-12)).log10();
    let dt_corr_raw = ncc_at(&mic_raw, dt_near, dt_from);

    let stats = processor_stats(&processor);
    println!(
        "echo loop: far-end found at {:.0} ms (peak {far_peak:.3}); ERLE {erle:.1} dB over far-end-only speech; \
         near-end alone changed by {near_only_change:.1} dB; double talk: output level vs near-end {dt_level_change:.1} dB, \
         correlation with near-end raw {dt_corr_raw:.3} -> processed {dt_corr_out:.3} (near-end located with peak {near_raw_peak:.3}, after processing {out_peak:.3} \
         with {processing_delay} samples processing delay); \
         canceller stats: {stats}",
        far_at as f64 / 48.0,
    );
    let glitches = far_speaker.underruns() + near_speaker.underruns() + mic.stats().overruns;
    // The raw capture must hold the near-end talker where the timeline puts it; when it does
    // not (the sound server stalled a stream, which our counters cannot see), the run
    // measured a broken timeline, not the canceller.
    let timeline_broken = dt_corr_raw < 0.3;
    let glitch = match (glitches > 0, timeline_broken) {
        (true, _) => Some(format!("{glitches} underruns/overruns")),
        (false, true) => Some(format!(
            "the raw capture does not follow the timeline (near-end correlation {dt_corr_raw:.3})"
        )),
        (false, false) => None,
    };
    let check = |ok: bool, why: String| -> Result<(), Miss> {
        if ok {
            return Ok(());
        }
        Err(Miss {
            why,
            glitched: glitch.clone(),
        })
    };
    check(
        far_frame + 1300 <= captured.len(),
        "capture ended before the test timeline".into(),
    )?;
    check(erle >= 20.0, format!("ERLE {erle:.1} dB is below 20 dB"))?;
    check(
        near_only_change > -3.0,
        format!("near-end alone lost {near_only_change:.1} dB"),
    )?;
    check(
        dt_level_change > -6.0,
        format!("near-end during double talk lost {dt_level_change:.1} dB"),
    )?;
    // Processing alone (band splitting, filters) caps the waveform correlation of clean
    // near-end speech at `out_peak`; in double talk at least half of that must remain.
    check(
        dt_corr_out > 0.5 * out_peak,
        format!(
            "near-end during double talk correlates only {dt_corr_out:.3} (clean {out_peak:.3})"
        ),
    )?;
    Ok(())
}

fn processor_stats(p: &SonoraProcessor) -> String {
    use huddle_media::AudioProcessor;
    let s = p.stats();
    format!(
        "ERL {:?} dB, ERLE {:?} dB, delay {:?} ms",
        s.echo_return_loss_db.map(|v| (v * 10.0).round() / 10.0),
        s.echo_return_loss_enhancement_db
            .map(|v| (v * 10.0).round() / 10.0),
        s.delay_ms
    )
}
