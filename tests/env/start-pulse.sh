#!/usr/bin/env bash
# Starts a PulseAudio daemon with a null sink so that Huddle's real audio paths (cpal over
# ALSA's pulse plugin) have a speaker and a microphone on machines without a sound card.
#
# - sink `huddle_sink` is the default speaker; its monitor `huddle_sink.monitor` is the
#   default microphone, so whatever is played can be captured again (a perfect echo path);
# - ALSA's default pcm/ctl are routed to PulseAudio, and two named pcms (`huddle_speaker`,
#   `huddle_mic`) name the sink and its monitor explicitly.
#
# Idempotent: running it again leaves a healthy setup alone. Prints nothing on success;
# on failure prints why on stderr and exits non-zero.
set -euo pipefail

SINK=huddle_sink

fail() {
    echo "start-pulse: $*" >&2
    exit 1
}

for tool in pulseaudio pactl; do
    command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed (Debian packages: pulseaudio pulseaudio-utils)"
done
[ -e /usr/share/alsa/alsa.conf.d/50-pulseaudio.conf ] || [ -e /etc/alsa/conf.d/50-pulseaudio.conf ] \
    || fail "ALSA's pulse plugin is missing (Debian package: libasound2-plugins)"

# The ALSA configuration: system-wide when we may write it (root), else per user.
if [ "$(id -u)" = 0 ]; then
    ALSA_CONF=/etc/asound.conf
else
    ALSA_CONF="$HOME/.asoundrc"
fi
ALSA_WANTED="# Written by Huddle's tests/env/start-pulse.sh: route ALSA through PulseAudio.
pcm.!default { type pulse hint { show on description \"Default (PulseAudio)\" } }
ctl.!default { type pulse }
pcm.huddle_speaker { type pulse device $SINK hint { show on description \"Huddle null sink\" } }
pcm.huddle_mic { type pulse device $SINK.monitor hint { show on description \"Huddle null sink monitor\" } }
"
if [ ! -f "$ALSA_CONF" ] || [ "$(cat "$ALSA_CONF")" != "$(printf '%s' "$ALSA_WANTED")" ]; then
    printf '%s' "$ALSA_WANTED" >"$ALSA_CONF" || fail "cannot write $ALSA_CONF"
fi

# Start the daemon unless one already answers.
if ! pactl info >/dev/null 2>&1; then
    log_dir="${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}"
    # Root is allowed a per-user daemon; it only warns. -n skips default.pa, which would probe
    # for sound cards that do not exist; the native protocol is what clients connect through.
    pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit -n \
        --load=module-native-protocol-unix \
        --load=module-always-sink \
        --log-target="file:$log_dir/huddle-pulse.log" >/dev/null 2>&1 \
        || fail "pulseaudio did not start (see $log_dir/huddle-pulse.log)"
    for _ in $(seq 1 50); do
        pactl info >/dev/null 2>&1 && break
        sleep 0.1
    done
    pactl info >/dev/null 2>&1 || fail "pulseaudio started but does not answer (see $log_dir/huddle-pulse.log)"
fi

if ! pactl list short sinks 2>/dev/null | awk '{print $2}' | grep -qx "$SINK"; then
    pactl load-module module-null-sink sink_name="$SINK" rate=48000 channels=2 \
        sink_properties=device.description=Huddle_null_sink >/dev/null \
        || fail "cannot load a null sink"
fi
pactl set-default-sink "$SINK" || fail "cannot make $SINK the default sink"
pactl set-default-source "$SINK.monitor" || fail "cannot make $SINK.monitor the default source"
# A muted or quiet monitor would make every capture test read silence.
pactl set-sink-volume "$SINK" 100% >/dev/null 2>&1 || true
pactl set-source-volume "$SINK.monitor" 100% >/dev/null 2>&1 || true
pactl set-sink-mute "$SINK" 0 >/dev/null 2>&1 || true
pactl set-source-mute "$SINK.monitor" 0 >/dev/null 2>&1 || true

pactl list short sources 2>/dev/null | awk '{print $2}' | grep -qx "$SINK.monitor" \
    || fail "the monitor source $SINK.monitor is missing"
