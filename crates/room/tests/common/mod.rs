//! A simulated clock and a few helpers for driving a [`Room`] in tests.
#![allow(dead_code)] // each test file uses a different part of the harness

use huddle_proto::{
    DisplayName, ParticipantId, Passcode, ResumeKey, Role, ServerEvent, SessionName,
};
use huddle_room::{Admission, JoinOutcome, JoinRequest, Recipient, Room, RoomConfig, RoomError};
use std::time::{Duration, Instant};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub struct Sim {
    pub room: Room,
    pub now: Instant,
    keys: u64,
}

impl Sim {
    pub fn new(config: RoomConfig) -> Result<Sim, RoomError> {
        let now = Instant::now();
        let name = SessionName::parse("Test Session")?;
        Ok(Sim {
            room: Room::new(name, config, now),
            now,
            keys: 0,
        })
    }

    /// A join request with a unique resume key.
    pub fn request(&mut self, name: &str, role: Option<Role>) -> JoinRequest {
        self.keys += 1;
        let mut req = JoinRequest::new(
            DisplayName::new(name),
            ResumeKey(format!("key-{}", self.keys)),
        );
        req.role = role;
        req
    }

    pub fn join_as(&mut self, name: &str, role: Option<Role>) -> Result<ParticipantId, RoomError> {
        let req = self.request(name, role);
        Ok(self.join_req(req)?.participant_id)
    }

    /// A join that must make a member at once (no waiting room in the way).
    pub fn join_req(&mut self, req: JoinRequest) -> Result<JoinOutcome, RoomError> {
        match self.room.join(self.now, req)? {
            Admission::Joined(outcome) => Ok(*outcome),
            Admission::Waiting(_) => Err(RoomError::InvalidState("the join waits in the lobby")),
        }
    }

    pub fn with_passcode(mut req: JoinRequest, code: &str) -> Result<JoinRequest, RoomError> {
        req.passcode = Some(Passcode::parse(code)?);
        Ok(req)
    }

    /// Moves the clock and lets the room act on what fell due.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.room.handle_timeout(self.now);
    }

    pub fn drain(&mut self) -> Vec<(Recipient, ServerEvent)> {
        std::iter::from_fn(|| self.room.poll_event()).collect()
    }

    pub fn role(&self, id: ParticipantId) -> Option<Role> {
        self.room.member(id).map(|m| m.role)
    }
}

/// The events `id` would receive out of `events`.
pub fn for_member(events: &[(Recipient, ServerEvent)], id: ParticipantId) -> Vec<ServerEvent> {
    events
        .iter()
        .filter(|(r, _)| r.includes(id))
        .map(|(_, e)| e.clone())
        .collect()
}
