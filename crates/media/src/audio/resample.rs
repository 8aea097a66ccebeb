//! Sample-rate conversion of mono audio between a device's rate and the engine's 48 kHz,
//! with rubato's sinc resampler. Input of any length goes in, output accumulates and is
//! taken out in whatever sizes the caller needs.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler as _, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use crate::MediaError;

/// Mono resampler from `from_hz` to `to_hz`; a plain copy when the rates match.
pub struct MonoResampler {
    inner: Option<Async<f32>>,
    chunk: usize,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    ratio: f64,
}

impl MonoResampler {
    /// A resampler between two rates (8 kHz .. 384 kHz).
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, MediaError> {
        for r in [from_hz, to_hz] {
            if !(8_000..=384_000).contains(&r) {
                return Err(MediaError::InvalidArgument(format!(
                    "sample rate {r} Hz is outside 8 kHz..384 kHz"
                )));
            }
        }
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        // 10 ms of input per call keeps latency low and matches device callback sizes.
        let chunk = (from_hz / 100) as usize;
        let inner = if from_hz == to_hz {
            None
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 64,
                f_cutoff: Some(0.92),
                oversampling_factor: 128,
                interpolation: SincInterpolationType::Linear,
                window: WindowFunction::BlackmanHarris2,
            };
            Some(
                Async::<f32>::new_sinc(ratio, 1.1, &params, chunk, 1, FixedAsync::Input)
                    .map_err(|e| MediaError::InvalidArgument(format!("resampler: {e}")))?,
            )
        };
        let out_max = inner.as_ref().map_or(chunk, |r| r.output_frames_max());
        Ok(MonoResampler {
            inner,
            chunk,
            pending: Vec::with_capacity(chunk * 4),
            out_buf: vec![0.0; out_max],
            ratio,
        })
    }

    /// Output rate over input rate.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Delay the resampler adds, in output samples.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Converts `input`, appending the converted samples to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), MediaError> {
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= self.chunk {
            let src =
                InterleavedSlice::new(&self.pending[start..start + self.chunk], 1, self.chunk)
                    .map_err(|e| MediaError::InvalidArgument(format!("resampler input: {e}")))?;
            let frames = self.out_buf.len();
            let mut dst = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, frames)
                .map_err(|e| MediaError::InvalidArgument(format!("resampler output: {e}")))?;
            let (used, produced) = inner
                .process_into_buffer(&src, &mut dst, None)
                .map_err(|e| MediaError::InvalidArgument(format!("resampling: {e}")))?;
            out.extend_from_slice(&self.out_buf[..produced]);
            start += used;
        }
        self.pending.drain(..start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_44k1_to_48k_keeping_a_tone() -> Result<(), MediaError> {
        let mut r = MonoResampler::new(44_100, 48_000)?;
        let tone: Vec<f32> = (0..44_100)
            .map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / 44_100.0).sin() * 0.5)
            .collect();
        let mut out = Vec::new();
        for chunk in tone.chunks(441 * 3 + 17) {
            r.process(chunk, &mut out)?;
        }
        assert!((out.len() as i64 - 48_000).abs() < 1000, "{}", out.len());
        // Fit the best 1 kHz sinusoid (any phase: the resampler's delay is fractional)
        // and measure what is left: noise and distortion.
        let seg = &out[2000..42_000];
        let w = std::f64::consts::TAU * 1000.0 / 48_000.0;
        let (mut c, mut q) = (0.0f64, 0.0f64);
        for (i, s) in seg.iter().enumerate() {
            c += f64::from(*s) * (w * i as f64).cos();
            q += f64::from(*s) * (w * i as f64).sin();
        }
        let (c, q) = (2.0 * c / seg.len() as f64, 2.0 * q / seg.len() as f64);
        let (mut err, mut pow) = (0.0f64, 0.0f64);
        for (i, s) in seg.iter().enumerate() {
            let fit = c * (w * i as f64).cos() + q * (w * i as f64).sin();
            err += (f64::from(*s) - fit).powi(2);
            pow += fit * fit;
        }
        let snr = 10.0 * (pow / err).log10();
        assert!(snr > 40.0, "SNR {snr:.1} dB");
        Ok(())
    }

    #[test]
    fn same_rate_is_a_copy_and_silly_rates_are_refused() -> Result<(), MediaError> {
        let mut r = MonoResampler::new(48_000, 48_000)?;
        let mut out = Vec::new();
        r.process(&[0.25; 100], &mut out)?;
        assert_eq!(out, vec![0.25; 100]);
        assert!(MonoResampler::new(0, 48_000).is_err());
        Ok(())
    }
}
