//! H.264 over RTP (RFC 6184): whether a payload is where a decoder can begin.

/// True when an H.264 RTP payload (RFC 6184, modes 0/1) carries an IDR slice or an SPS:
/// the start of a frame a decoder can begin at.
#[must_use]
pub fn is_keyframe(payload: &[u8]) -> bool {
    const SPS: u8 = 7;
    const IDR: u8 = 5;
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1F {
        // STAP-A: 2-byte sizes followed by NAL units.
        24 => {
            let mut rest = payload.get(1..).unwrap_or_default();
            while let [hi, lo, after @ ..] = rest {
                let size = usize::from(u16::from_be_bytes([*hi, *lo]));
                let Some(nal) = after.get(..size) else {
                    return false;
                };
                if nal.first().is_some_and(|h| matches!(h & 0x1F, SPS | IDR)) {
                    return true;
                }
                rest = after.get(size..).unwrap_or_default();
            }
            false
        }
        // FU-A: the start fragment names the NAL type.
        28 => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && matches!(fu & 0x1F, SPS | IDR)),
        t => matches!(t, SPS | IDR),
    }
}

/// True when Annex B H.264 data holds an SPS or IDR NAL unit.
#[must_use]
pub fn is_keyframe_annexb(data: &[u8]) -> bool {
    let mut i = 0;
    while let Some(window) = data.get(i..i + 4) {
        if let [0, 0, 1, nal] = *window {
            if matches!(nal & 0x1F, 5 | 7) {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests build their inputs by hand")]
mod tests {
    use super::*;

    #[test]
    fn keyframes_are_found_in_every_packetization() {
        // Single NAL: IDR (type 5) and a P slice (type 1).
        assert!(is_keyframe(&[0x65, 0x88]));
        assert!(!is_keyframe(&[0x41, 0x9a]));
        // STAP-A with SPS and PPS.
        assert!(is_keyframe(&[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]));
        // STAP-A with only a PPS.
        assert!(!is_keyframe(&[0x78, 0, 2, 0x68, 0xce]));
        // FU-A start of an IDR, and its middle fragment.
        assert!(is_keyframe(&[0x7c, 0x85, 1, 2]));
        assert!(!is_keyframe(&[0x7c, 0x05, 1, 2]));
        // Garbage and truncation never panic.
        assert!(!is_keyframe(&[]));
        assert!(!is_keyframe(&[0x78, 0xff, 0xff, 0x67]));
        assert!(!is_keyframe(&[0x7c]));
    }

    #[test]
    fn annexb_keyframes() {
        assert!(is_keyframe_annexb(&[0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x65]));
        assert!(is_keyframe_annexb(&[0, 0, 1, 0x65]));
        assert!(!is_keyframe_annexb(&[0, 0, 0, 1, 0x41, 0, 0]));
        assert!(!is_keyframe_annexb(&[]));
        assert!(!is_keyframe_annexb(&[0, 0, 1]));
    }
}
