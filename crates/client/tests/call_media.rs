//! Media end to end through the real server's forwarding unit on loopback: three headless
//! clients see and hear each other; mute and removal stop media at once; cameras switch;
//! screens are shared.

mod call_support;

use std::sync::Arc;
use std::time::Duration;

use call_support::{
    all_connected, envelope, eventually, in_order, join, options, speech_match_recent, Client,
    SpeechReference, TestResult,
};
use huddle_client::call::{LocalVideo, ScreenInput, VideoInput};
use huddle_client::ClientError;
use huddle_media::camera::{CameraRegistry, CaptureFormat, SyntheticFault};
use huddle_media::{DeviceKind, MediaError};
use huddle_proto::{Action, ParticipantId};
use huddle_server::{Server, ServerConfig};

/// Media tests measure real-time behaviour: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_clients_see_and_hear_each_other() -> TestResult {
    let _serial = SERIAL.lock().await;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let a = join(options(&url, "media", "Ann", 11)).await?;
    let b = join(options(&url, "media", "Bob", 44)).await?;
    let c = join(options(&url, "media", "Cy", 33)).await?;
    let clients = [&a, &b, &c];
    all_connected(&clients).await?;
    let seeds = [(a.id, 11), (b.id, 44), (c.id, 33)];

    // Everyone decodes everyone else's video, frame counters in order.
    for me in &clients {
        for (other, _) in seeds.iter().filter(|(id, _)| *id != me.id) {
            let got = eventually("30 frames", Duration::from_secs(20), || {
                me.frames_from(*other).len() >= 30
            })
            .await;
            if got.is_err() {
                for x in &clients {
                    eprintln!(
                        "{}: {:?} frames {:?}",
                        x.id,
                        x.call.stats(),
                        x.with(|r| r
                            .video
                            .iter()
                            .map(|(k, v)| (*k, v.len()))
                            .collect::<Vec<_>>())
                    );
                }
            }
            got?;
            let frames = me.frames_from(*other);
            let stamped = frames.iter().filter(|s| s.counter.is_some()).count();
            assert!(
                stamped * 10 >= frames.len() * 9,
                "{} of {} frames from {other} at {} carry a readable stamp",
                stamped,
                frames.len(),
                me.id
            );
            assert!(
                in_order(&frames),
                "frames from {other} at {} out of order: {:?}",
                me.id,
                frames.iter().map(|f| f.counter).collect::<Vec<_>>()
            );
        }
    }

    // Voice activity reaches the roster: Ann sees Bob talking at some point.
    eventually("Bob shown talking", Duration::from_secs(10), || {
        a.call
            .session()
            .state()
            .member(ParticipantId(b.id))
            .is_some_and(|m| m.talking)
    })
    .await?;

    // Everyone hears everyone else: what arrives is what that speaker said.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let heard: Vec<_> = clients
        .iter()
        .map(|me| me.with(|r| r.audio.clone()))
        .collect();
    let references: std::collections::HashMap<u64, SpeechReference> = seeds
        .iter()
        .map(|(_, seed)| (*seed, SpeechReference::new(*seed)))
        .collect();
    for (me, heard) in clients.iter().zip(&heard) {
        for (other, seed) in seeds.iter().filter(|(id, _)| *id != me.id) {
            let audio = heard.get(other).cloned().unwrap_or_default();
            assert!(
                audio.len() >= 2 * 48_000,
                "{} heard only {} ms of {other}",
                me.id,
                audio.len() / 48
            );
            let right = speech_match_recent(&audio, &references[seed]);
            let wrong_seed = seeds.iter().find(|(id, _)| *id != *other && *id != me.id);
            let wrong =
                wrong_seed.map_or(0.0, |(_, s)| speech_match_recent(&audio, &references[s]));
            eprintln!(
                "{} hears {other}: correlation {right:.2} (other speaker {wrong:.2}) over {} ms; jitter {:?}",
                me.id,
                audio.len() / 48,
                me.call.audio_stats()
            );
            assert!(right > 0.6, "{} hears {other} poorly: {right:.2}", me.id);
            assert!(
                right > wrong + 0.3,
                "{}: {other} not told apart ({right:.2} vs {wrong:.2})",
                me.id
            );
        }
    }
    for me in &clients {
        let stats = me.call.stats();
        eprintln!("{}: {stats:?}", me.id);
        assert_eq!(stats.decode_errors, 0);
    }
    for me in &clients {
        me.call.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mute_and_removal_stop_media_at_once() -> TestResult {
    let _serial = SERIAL.lock().await;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let host = join(options(&url, "control", "Host", 1)).await?;
    let b = join(options(&url, "control", "Bee", 2)).await?;
    let c = join(options(&url, "control", "Cee", 3)).await?;
    all_connected(&[&host, &b, &c]).await?;
    eventually("Bee hears Cee", Duration::from_secs(15), || {
        b.with(|r| r.audio.get(&c.id).map_or(0, Vec::len)) > 48_000
    })
    .await?;

    // The host mutes Cee: everyone's roster says so, and Cee's voice stops reaching Bee.
    host.call.session().mute(ParticipantId(c.id)).await?;
    eventually("Cee muted in every roster", Duration::from_secs(5), || {
        [&host, &b, &c].iter().all(|x| {
            x.call
                .session()
                .state()
                .member(ParticipantId(c.id))
                .is_some_and(|m| m.audio_muted)
        })
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = b.with(|r| r.audio.get(&c.id).map_or(0, Vec::len));
    let sent_before = c.call.stats().audio_packets_sent;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = b.with(|r| r.audio.get(&c.id).map_or(0, Vec::len));
    assert_eq!(
        c.call.stats().audio_packets_sent,
        sent_before,
        "Cee still sends audio"
    );
    // What Bee decodes of Cee now is at most a concealment tail, not 2 s of speech.
    let heard = envelope(&b.with(|r| r.audio.get(&c.id).cloned().unwrap_or_default())[before..]);
    let loud = heard.iter().filter(|e| **e > 0.01).count();
    assert!(
        loud <= 5,
        "Bee still hears Cee: {loud} loud blocks in {} ms",
        (after - before) / 48
    );

    // The host removes Bee: Bee's video stops reaching Host at once and its slots empty.
    let frames_before = host.frames_from(b.id).len();
    host.call.session().remove(ParticipantId(b.id)).await?;
    eventually("Bee's slot cleared at Host", Duration::from_secs(2), || {
        host.with(|r| {
            r.slots.last().is_some_and(|(_, audio, video)| {
                !audio.contains(&Some(b.id)) && !video.contains(&Some(b.id))
            })
        })
    })
    .await?;
    let at_removal = host.frames_from(b.id).len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = host.frames_from(b.id).len();
    assert!(
        later - at_removal <= 2,
        "Bee's video kept arriving after removal ({frames_before} → {at_removal} → {later})"
    );
    // Cee keeps seeing Host.
    let seen = c.frames_from(host.id).len();
    eventually("Cee still sees Host", Duration::from_secs(5), || {
        c.frames_from(host.id).len() > seen + 10
    })
    .await?;
    host.call.leave().await?;
    c.call.leave().await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_cameras_mid_call() -> TestResult {
    let _serial = SERIAL.lock().await;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let registry = CameraRegistry::synthetic_only();
    let first = registry.add_synthetic("Front", SyntheticFault::None);
    let second = registry.add_synthetic("Document camera", SyntheticFault::None);
    let busy = registry.add_synthetic("Held by another app", SyntheticFault::Busy);
    let mut ann_options = options(&url, "switch", "Ann", 1);
    ann_options.video = VideoInput::Camera {
        registry,
        id: Some(first.info().id.clone()),
        format: call_support::TEST_FORMAT,
    };
    let ann = join(ann_options).await?;
    let bob = join(options(&url, "switch", "Bob", 2)).await?;
    all_connected(&[&ann, &bob]).await?;
    eventually(
        "Bob sees Ann's first camera",
        Duration::from_secs(20),
        || bob.frames_from(ann.id).len() >= 40,
    )
    .await?;
    // Ann's own tile watches what her camera captures: the camera is opened once.
    let local = ann.call.local_video();
    let live = |l: &LocalVideo| matches!(l, LocalVideo::Live(_));
    eventually("Ann's own camera is live", Duration::from_secs(5), || {
        live(&local.borrow())
    })
    .await?;
    let before = bob.frames_from(ann.id).len();
    let highest = bob
        .frames_from(ann.id)
        .iter()
        .filter_map(|s| s.counter)
        .max()
        .unwrap_or(0);
    ann.call.set_camera(Some(second.info().id.clone()));
    // The second camera's frame counter starts from zero: its frames are new pictures.
    eventually(
        "Bob sees Ann's second camera",
        Duration::from_secs(10),
        || {
            bob.frames_from(ann.id)[before..]
                .iter()
                .filter_map(|s| s.counter)
                .any(|c| c < highest / 2)
        },
    )
    .await?;
    // A camera another app holds: the call says why, and keeps sending nothing from it.
    ann.call.set_camera(Some(busy.info().id.clone()));
    eventually("Ann's camera reported busy", Duration::from_secs(5), || {
        matches!(
            &*local.borrow(),
            LocalVideo::Failed(MediaError::DeviceBusy {
                kind: DeviceKind::Camera,
                ..
            })
        )
    })
    .await?;
    ann.call.set_camera(Some(first.info().id.clone()));
    eventually("Ann's camera live again", Duration::from_secs(5), || {
        live(&local.borrow())
    })
    .await?;
    ann.call.set_video(false).await?;
    eventually("Ann's camera off", Duration::from_secs(5), || {
        matches!(&*local.borrow(), LocalVideo::Off)
    })
    .await?;
    ann.call.leave().await?;
    bob.call.leave().await?;
    server.shutdown().await;
    Ok(())
}

/// Everyone's roster says whether `who` shares.
fn sharing_everywhere(clients: &[&Client], who: u64, on: bool) -> bool {
    clients.iter().all(|x| {
        x.call
            .session()
            .state()
            .member(ParticipantId(who))
            .is_some_and(|m| m.sharing == on)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn screen_share_reaches_everyone_and_follows_the_host() -> TestResult {
    let _serial = SERIAL.lock().await;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let screen = ScreenInput::synthetic(CaptureFormat::new(640, 360, 5));
    let mut host_options = options(&url, "share", "Host", 1);
    host_options.screen = Some(screen.clone());
    let mut bee_options = options(&url, "share", "Bee", 2);
    bee_options.screen = Some(screen);
    // Cee's screen cannot be captured (as on a desktop without screen capture).
    let mut cee_options = options(&url, "share", "Cee", 3);
    cee_options.screen = Some(ScreenInput {
        open: Arc::new(|_, _| {
            Err(MediaError::DeviceNotFound {
                kind: DeviceKind::Camera,
                id: None,
            })
        }),
        limit: ScreenInput::DEFAULT_LIMIT,
    });
    let host = join(host_options).await?;
    let bee = join(bee_options).await?;
    let cee = join(cee_options).await?;
    let all = [&host, &bee, &cee];
    all_connected(&all).await?;

    // Bee shares: everyone else gets her screen, at its own size, beside her camera.
    bee.call.set_sharing(true, None).await?;
    eventually(
        "Bee sharing in every roster",
        Duration::from_secs(5),
        || sharing_everywhere(&all, bee.id, true),
    )
    .await?;
    for viewer in [&host, &cee] {
        eventually("Bee's screen arrives", Duration::from_secs(15), || {
            viewer.screen_frames_from(bee.id).len() >= 5
        })
        .await?;
        let frame = viewer.screen_frames_from(bee.id)[0];
        assert_eq!((frame.width, frame.height), (640, 360));
        let cameras = viewer.frames_from(bee.id).len();
        eventually("Bee's camera keeps coming", Duration::from_secs(5), || {
            viewer.frames_from(bee.id).len() > cameras + 5
        })
        .await?;
    }
    assert!(
        bee.screen_frames_from(bee.id).is_empty(),
        "own share echoed"
    );
    assert!(matches!(
        &*bee.call.local_screen().borrow(),
        LocalVideo::Live(_)
    ));

    // A screen that cannot be captured: refused here, and nobody is told of a share.
    let refused = cee.call.set_sharing(true, None).await;
    assert!(
        matches!(&refused, Err(ClientError::Media(why)) if why.contains("cannot share")),
        "{refused:?}"
    );
    assert!(sharing_everywhere(&all, cee.id, false));

    // The host locks sharing to hosts: Bee's share stops at once, everywhere.
    host.call
        .session()
        .request(Action::LockSharing { locked: true })
        .await?;
    eventually("Bee's share ended", Duration::from_secs(5), || {
        sharing_everywhere(&all, bee.id, false)
    })
    .await?;
    eventually("Bee stops capturing", Duration::from_secs(5), || {
        matches!(&*bee.call.local_screen().borrow(), LocalVideo::Off)
    })
    .await?;
    eventually("Host's share slot freed", Duration::from_secs(5), || {
        host.with(|r| {
            r.share_slots
                .last()
                .is_some_and(|(_, share)| !share.contains(&Some(bee.id)))
        })
    })
    .await?;
    let sent = bee.call.stats().screen_frames_sent;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        bee.call.stats().screen_frames_sent <= sent + 1,
        "Bee kept sending her screen"
    );
    // Bee may not share again while locked; the host may.
    let again = bee.call.set_sharing(true, None).await;
    assert!(
        matches!(&again, Err(ClientError::Rejected { .. })),
        "{again:?}"
    );
    eventually(
        "Bee's refused share released",
        Duration::from_secs(5),
        || matches!(&*bee.call.local_screen().borrow(), LocalVideo::Off),
    )
    .await?;
    host.call.set_sharing(true, None).await?;
    eventually("Bee sees Host's screen", Duration::from_secs(15), || {
        bee.screen_frames_from(host.id).len() >= 5
    })
    .await?;
    host.call.set_sharing(false, None).await?;
    eventually("Host's share ended", Duration::from_secs(5), || {
        sharing_everywhere(&all, host.id, false)
    })
    .await?;
    for c in all {
        c.call.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}

/// Audio packets one client's jitter buffers have taken in, over every slot.
fn audio_packets_received(client: &Client) -> u64 {
    client
        .call
        .audio_stats()
        .iter()
        .map(|(_, stats)| stats.received)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deafened_member_is_sent_no_audio_packets() -> TestResult {
    let _serial = SERIAL.lock().await;
    let server = Server::start(ServerConfig::open_loopback()).await?;
    let url = server.http_url();
    let ann = join(options(&url, "deaf", "Ann", 11)).await?;
    let bob = join(options(&url, "deaf", "Bob", 44)).await?;
    let cy = join(options(&url, "deaf", "Cy", 33)).await?;
    all_connected(&[&ann, &bob, &cy]).await?;
    eventually("Bob and Cy hear audio", Duration::from_secs(10), || {
        audio_packets_received(&bob) > 50 && audio_packets_received(&cy) > 50
    })
    .await?;

    bob.call.session().set_deaf(None, true).await?;
    eventually(
        "Bob deafened and muted in Ann's roster",
        Duration::from_secs(5),
        || {
            ann.call
                .session()
                .state()
                .member(ParticipantId(bob.id))
                .is_some_and(|m| m.deafened && m.audio_muted)
        },
    )
    .await?;
    // What was in flight lands; from then on nothing may arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (bob_before, cy_before) = (audio_packets_received(&bob), audio_packets_received(&cy));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (bob_after, cy_after) = (audio_packets_received(&bob), audio_packets_received(&cy));
    eprintln!(
        "deafened: Bob {bob_before} -> {bob_after}, Cy {cy_before} -> {cy_after} audio packets"
    );
    assert_eq!(
        bob_after, bob_before,
        "audio packets reached a deafened member"
    );
    assert!(
        cy_after > cy_before + 50,
        "Cy stopped hearing: {cy_before} -> {cy_after}"
    );

    // The host lets Bob hear again.
    ann.call
        .session()
        .set_deaf(Some(ParticipantId(bob.id)), false)
        .await?;
    eventually("Bob hears again", Duration::from_secs(5), || {
        audio_packets_received(&bob) > bob_after + 50
    })
    .await?;
    for c in [&ann, &bob, &cy] {
        c.call.leave().await?;
    }
    server.shutdown().await;
    Ok(())
}
