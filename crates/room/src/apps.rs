//! The channels of in-meeting apps: per app, who has it open, the latest state snapshot and
//! the most recent messages, all bounded. App data is relayed, never read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use huddle_proto::limits::{APP_RECENT_MESSAGES, MAX_APPS_PER_SESSION, MAX_OPEN_APPS_PER_MEMBER};
use huddle_proto::{AppId, AppMessage, ParticipantId};
use serde_json::Value;

use crate::error::RoomError;

/// One app's channel.
#[derive(Debug, Default)]
struct Channel {
    open: BTreeSet<ParticipantId>,
    state: Option<Value>,
    recent: VecDeque<AppMessage>,
    next_seq: u64,
}

/// Every app channel of a session.
#[derive(Debug, Default)]
pub(crate) struct AppChannels {
    channels: BTreeMap<AppId, Channel>,
}

/// What a member connecting to an app gets.
pub(crate) struct Opened {
    pub state: Option<Value>,
    pub recent: Vec<AppMessage>,
}

impl AppChannels {
    /// Connects `who` to `app` (again, harmlessly, when already connected).
    pub fn open(&mut self, who: ParticipantId, app: &AppId) -> Result<Opened, RoomError> {
        let open_elsewhere = self
            .channels
            .iter()
            .filter(|(id, c)| *id != app && c.open.contains(&who))
            .count();
        if open_elsewhere >= MAX_OPEN_APPS_PER_MEMBER {
            return Err(RoomError::TooManyApps(
                "a member may have at most 8 apps open; close one first",
            ));
        }
        if !self.channels.contains_key(app) && self.channels.len() >= MAX_APPS_PER_SESSION {
            self.forget_unused();
            if self.channels.len() >= MAX_APPS_PER_SESSION {
                return Err(RoomError::TooManyApps(
                    "this session already uses 32 apps, the most it may",
                ));
            }
        }
        let channel = self.channels.entry(app.clone()).or_default();
        channel.open.insert(who);
        Ok(Opened {
            state: channel.state.clone(),
            recent: channel.recent.iter().cloned().collect(),
        })
    }

    /// Disconnects `who` from `app`; true when it was connected.
    pub fn close(&mut self, who: ParticipantId, app: &AppId) -> bool {
        self.channels
            .get_mut(app)
            .is_some_and(|c| c.open.remove(&who))
    }

    /// Disconnects `who` from every app (it left the session).
    pub fn leave(&mut self, who: ParticipantId) {
        for channel in self.channels.values_mut() {
            channel.open.remove(&who);
        }
    }

    /// Whether `who` has `app` open.
    pub fn is_open(&self, who: ParticipantId, app: &AppId) -> bool {
        self.channels
            .get(app)
            .is_some_and(|c| c.open.contains(&who))
    }

    /// Appends a message from `from` to `app`'s channel; answers it and who gets it.
    pub fn send(
        &mut self,
        from: ParticipantId,
        app: &AppId,
        data: Value,
    ) -> Option<(AppMessage, Vec<ParticipantId>)> {
        let channel = self.channels.get_mut(app)?;
        channel.next_seq += 1;
        let message = AppMessage {
            app: app.clone(),
            seq: channel.next_seq,
            from,
            data,
        };
        if channel.recent.len() >= APP_RECENT_MESSAGES {
            channel.recent.pop_front();
        }
        channel.recent.push_back(message.clone());
        Some((message, channel.open.iter().copied().collect()))
    }

    /// Replaces `app`'s state snapshot; false when the channel does not exist.
    pub fn set_state(&mut self, app: &AppId, state: Value) -> bool {
        match self.channels.get_mut(app) {
            Some(channel) => {
                channel.state = Some(state);
                true
            }
            None => false,
        }
    }

    /// Drops channels nobody has open and that hold no state, to make room for a new one.
    fn forget_unused(&mut self) {
        self.channels
            .retain(|_, c| !c.open.is_empty() || c.state.is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str) -> Result<AppId, huddle_proto::ProtoError> {
        AppId::parse(id)
    }

    #[test]
    fn messages_are_numbered_and_kept_bounded() -> Result<(), Box<dyn std::error::Error>> {
        let mut apps = AppChannels::default();
        let board = app("whiteboard")?;
        apps.open(ParticipantId(1), &board)?;
        apps.open(ParticipantId(2), &board)?;
        for i in 0..(APP_RECENT_MESSAGES as u64 + 10) {
            let (m, to) = apps
                .send(ParticipantId(1), &board, Value::from(i))
                .ok_or("channel exists")?;
            assert_eq!(m.seq, i + 1);
            assert_eq!(to, vec![ParticipantId(1), ParticipantId(2)]);
        }
        let late = apps.open(ParticipantId(3), &board)?;
        assert_eq!(late.recent.len(), APP_RECENT_MESSAGES);
        assert_eq!(late.recent.first().map(|m| m.seq), Some(11));
        assert_eq!(late.state, None);
        assert!(apps.set_state(&board, Value::from("board")));
        let again = apps.open(ParticipantId(4), &board)?;
        assert_eq!(again.state, Some(Value::from("board")));
        Ok(())
    }

    #[test]
    fn closing_and_leaving_stop_delivery() -> Result<(), Box<dyn std::error::Error>> {
        let mut apps = AppChannels::default();
        let poll = app("poll")?;
        apps.open(ParticipantId(1), &poll)?;
        apps.open(ParticipantId(2), &poll)?;
        assert!(apps.close(ParticipantId(2), &poll));
        assert!(!apps.close(ParticipantId(2), &poll));
        let (_, to) = apps
            .send(ParticipantId(1), &poll, Value::Null)
            .ok_or("exists")?;
        assert_eq!(to, vec![ParticipantId(1)]);
        apps.leave(ParticipantId(1));
        assert!(!apps.is_open(ParticipantId(1), &poll));
        assert!(apps
            .send(ParticipantId(1), &app("other")?, Value::Null)
            .is_none());
        Ok(())
    }

    #[test]
    fn apps_per_member_and_session_are_bounded() -> Result<(), Box<dyn std::error::Error>> {
        let mut apps = AppChannels::default();
        for i in 0..MAX_OPEN_APPS_PER_MEMBER {
            apps.open(ParticipantId(1), &app(&format!("a{i}"))?)?;
        }
        assert!(matches!(
            apps.open(ParticipantId(1), &app("one-more")?),
            Err(RoomError::TooManyApps(_))
        ));
        // Reopening one already open is not one more.
        apps.open(ParticipantId(1), &app("a0")?)?;
        for i in MAX_OPEN_APPS_PER_MEMBER..MAX_APPS_PER_SESSION {
            apps.open(ParticipantId(2), &app(&format!("a{i}"))?)?;
            apps.close(ParticipantId(2), &app(&format!("a{i}"))?);
        }
        // Full, but channels without members or state make room.
        apps.open(ParticipantId(3), &app("fresh")?)?;
        for i in 0..MAX_APPS_PER_SESSION {
            let id = app(&format!("s{i}"))?;
            if apps.open(ParticipantId(4), &id).is_ok() {
                apps.set_state(&id, Value::Null);
                apps.close(ParticipantId(4), &id);
            }
        }
        assert!(matches!(
            apps.open(ParticipantId(5), &app("no-room")?),
            Err(RoomError::TooManyApps(_))
        ));
        Ok(())
    }
}
