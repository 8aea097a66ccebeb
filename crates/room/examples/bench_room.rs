//! Measures the room state machine at full size: 5,000 joins into one room, then chat
//! fan-out and member updates with every member present. Prints figures; asserts nothing.
//!
//! Run with `cargo run --release -p huddle-room --example bench_room [members]`.

use huddle_proto::{encode, Action, DisplayName, ResumeKey, ServerMessage, SessionName};
use huddle_room::{JoinRequest, Room, RoomConfig};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames queued per member before the oldest is dropped, like a driver's outbox.
const QUEUE: usize = 1024;

fn per_op(total: Duration, ops: u32) -> String {
    let ns = total.as_nanos() / u128::from(ops.max(1));
    if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1_000.0)
    } else {
        format!("{ns} ns")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let members: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 5_000,
    };
    let config = RoomConfig {
        capacity: members as usize,
        ..RoomConfig::default()
    };
    let now = Instant::now();
    let mut room = Room::new(SessionName::parse("bench")?, config, now);

    // Joins, each followed by draining its events as a driver would, and encoding the
    // welcome (whose roster grows with the room, so the cost grows too).
    let mut welcome_bytes = 0;
    let mut events = 0u64;
    let mut encode_time = Duration::ZERO;
    let start = Instant::now();
    for i in 0..members {
        let req = JoinRequest::new(
            DisplayName::new(&format!("Member {i}")),
            ResumeKey(format!("{i:032x}")),
        );
        let outcome = room
            .join(now, req)?
            .joined()
            .ok_or("a join waited in the lobby")?;
        let t = Instant::now();
        welcome_bytes = encode(&ServerMessage::Welcome(outcome.welcome))?.len();
        encode_time += t.elapsed();
        while room.poll_event().is_some() {
            events += 1;
        }
    }
    let join_time = start.elapsed();
    let room_join_time = join_time.saturating_sub(encode_time);
    println!("members                      {members}");
    println!(
        "joins, room only             {:.0} joins/s ({} per join, welcome built; {events} events)",
        f64::from(members) / room_join_time.as_secs_f64(),
        per_op(room_join_time, members)
    );
    println!(
        "joins, with welcome encoded  {:.0} joins/s ({} per join)",
        f64::from(members) / join_time.as_secs_f64(),
        per_op(join_time, members)
    );
    println!("welcome for the last joiner  {welcome_bytes} bytes");

    // Chat to everyone: the room's work, then a driver's fan-out: encode once, and for each
    // recipient push a shared handle to the frame onto that member's bounded queue.
    let host = room.host().ok_or("no host")?;
    let ids: Vec<_> = room.members().map(|m| m.id).collect();
    let rounds = 1_000u32;
    let mut room_time = Duration::ZERO;
    let mut fanout_time = Duration::ZERO;
    let mut queues: Vec<VecDeque<Arc<str>>> = vec![VecDeque::new(); ids.len()];
    let mut delivered = 0u64;
    let mut bytes = 0u64;
    for i in 0..rounds {
        let t = Instant::now();
        room.handle(
            now,
            host,
            Action::Chat {
                to: None,
                text: format!("message {i}"),
            },
        )?;
        let polled: Vec<_> = std::iter::from_fn(|| room.poll_event()).collect();
        room_time += t.elapsed();
        let t = Instant::now();
        for (recipient, event) in polled {
            let frame: Arc<str> = encode(&ServerMessage::Event { event })?.into();
            for (id, queue) in ids.iter().zip(queues.iter_mut()) {
                if recipient.includes(*id) {
                    if queue.len() == QUEUE {
                        queue.pop_front();
                    }
                    queue.push_back(Arc::clone(&frame));
                    delivered += 1;
                    bytes += frame.len() as u64;
                }
            }
        }
        fanout_time += t.elapsed();
    }
    println!(
        "chat to everyone, room      {} per message",
        per_op(room_time, rounds)
    );
    println!(
        "chat fan-out to {members:<5}       {} per message, {:.1} ns per recipient ({delivered} deliveries, {bytes} bytes)",
        per_op(fanout_time, rounds),
        fanout_time.as_nanos() as f64 / delivered.max(1) as f64
    );

    // A member toggling its microphone: one `updated` event for everyone.
    let t = Instant::now();
    let toggles = 10_000u32;
    let speaker = ids.get(1).copied().unwrap_or(host);
    for i in 0..toggles {
        room.handle(now, speaker, Action::SetAudio { muted: i % 2 == 0 })?;
        while room.poll_event().is_some() {}
    }
    println!(
        "own media update             {} per update",
        per_op(t.elapsed(), toggles)
    );

    // Mute everyone: one pass over the room, two events per unmuted member.
    let t = Instant::now();
    room.handle(now, host, Action::MuteAll)?;
    let mut n = 0u32;
    while room.poll_event().is_some() {
        n += 1;
    }
    println!(
        "mute all                     {:?} ({n} events)",
        t.elapsed()
    );

    // The gap refill a reconnecting member asks for.
    let t = Instant::now();
    let (history, _) = room.chat_history(speaker, huddle_proto::ChatSeq(0))?;
    println!(
        "chat history refill          {:?} for {} messages",
        t.elapsed(),
        history.len()
    );
    Ok(())
}
