//! Every message survives encode -> decode unchanged, and every variant's `type` is one the
//! decoder knows (so the TYPES lists cannot drift from the enums).

use huddle_proto::{
    decode_client, decode_server, encode, Action, AudiencePage, ChatMessage, ChatSeq,
    ClientMessage, ConnectionState, Departure, EndReason, ErrorCode, IceServer, Join, LeaveReason,
    LobbyExit, MediaEvent, MediaRequest, Member, MemberChange, MemberMetadata, MemberUpdate,
    Metadata, MetadataChange, MetadataDiff, ParticipantId, Reaction, RequestId, Resume, ResumeKey,
    Resync, Role, ServerEvent, ServerMessage, SessionInfo, VideoWant, Waiter, WaiterId, Welcome,
    PROTOCOL_VERSION,
};
use std::collections::BTreeSet;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const P: ParticipantId = ParticipantId(2);

fn all_actions() -> Vec<Action> {
    let mut all = Action::examples(P);
    all.push(Action::Chat {
        to: None,
        text: "hello \"all\" <b>".into(),
    });
    all.push(Action::UpdateRoomMetadata {
        change: MetadataChange {
            set: metadata(),
            delete: vec!["old".into()],
            replace: true,
        },
    });
    all.push(Action::UpdateMemberMetadata {
        participant: Some(P),
        change: MetadataChange::delete(vec!["status".into()]),
    });
    all
}

fn metadata() -> Metadata {
    let value = serde_json::json!({
        "topic": "Q3 \"review\" <b>",
        "agenda": [1, 2.5, null, true, {"nested": "é"}],
    });
    match value {
        serde_json::Value::Object(m) => m,
        _ => Metadata::new(),
    }
}

fn all_client_messages() -> Vec<ClientMessage> {
    let mut out = vec![
        ClientMessage::Join(Join {
            protocol_version: PROTOCOL_VERSION,
            session_name: "Weekly Sync".into(),
            display_name: "Ann".into(),
            passcode: Some("1234".into()),
            token: Some("eyJ...".into()),
            resume: Some(Resume {
                participant_id: P,
                resume_key: ResumeKey("k3y".into()),
            }),
            audio_muted: true,
            video_on: false,
            idle_timeout_mins: Some(10),
        }),
        ClientMessage::Join(Join {
            protocol_version: PROTOCOL_VERSION,
            session_name: "x".into(),
            display_name: String::new(),
            passcode: None,
            token: None,
            resume: None,
            audio_muted: false,
            video_on: true,
            idle_timeout_mins: None,
        }),
        ClientMessage::ChatHistory {
            id: RequestId(9),
            after_seq: ChatSeq(41),
        },
        ClientMessage::Ping { nonce: u64::MAX },
        ClientMessage::RosterPage {
            id: RequestId(8),
            after: Some("00000000000000ab.57".to_owned()),
            limit: 100,
            search: Some("ann".to_owned()),
        },
        ClientMessage::RosterPage {
            id: RequestId(9),
            after: None,
            limit: 1,
            search: None,
        },
        ClientMessage::Media {
            media: MediaRequest::Offer {
                sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".to_owned(),
            },
        },
        ClientMessage::Media {
            media: MediaRequest::Subscribe {
                videos: vec![VideoWant {
                    participant: ParticipantId(4),
                    width: 640,
                    height: 360,
                }],
            },
        },
    ];
    out.extend(
        all_actions()
            .into_iter()
            .enumerate()
            .map(|(i, action)| ClientMessage::Request {
                id: RequestId(i as u64),
                action,
            }),
    );
    out
}

fn member() -> Member {
    Member {
        id: P,
        display_name: "Bo".into(),
        role: Role::Participant,
        audio_muted: true,
        video_on: false,
        sharing: false,
        talking: false,
        hand_raised: true,
        connection: ConnectionState::Reconnecting,
        deafened: false,
        join_order: 2,
    }
}

fn session() -> SessionInfo {
    SessionInfo {
        name: "Weekly Sync".into(),
        locked: false,
        share_locked: true,
        spotlight: Some(P),
        passcode_protected: true,
        audience_chat: true,
        max_active: 1000,
        capacity: 5000,
        waiting_room: false,
        hands_first: false,
    }
}

fn chat() -> ChatMessage {
    ChatMessage {
        seq: ChatSeq(7),
        from: ParticipantId(1),
        from_name: "Ann".into(),
        to: Some(P),
        text: "hi".into(),
    }
}

fn all_events() -> Vec<ServerEvent> {
    let by = ParticipantId(1);
    vec![
        ServerEvent::MembersChanged {
            members: vec![member()],
            updated: vec![MemberChange {
                participant: P,
                changes: MemberUpdate {
                    role: Some(Role::Audience),
                    ..MemberUpdate::default()
                },
            }],
            left: vec![Departure {
                participant: ParticipantId(9),
                reason: LeaveReason::ConnectionLost,
            }],
            member_metadata: vec![MemberMetadata {
                participant: P,
                metadata: metadata(),
            }],
            audience_count: 4_210,
        },
        ServerEvent::MembersChanged {
            members: Vec::new(),
            updated: Vec::new(),
            left: Vec::new(),
            member_metadata: Vec::new(),
            audience_count: 0,
        },
        ServerEvent::Joined { member: member() },
        ServerEvent::Left {
            participant: P,
            reason: LeaveReason::Left,
        },
        ServerEvent::Left {
            participant: P,
            reason: LeaveReason::Removed { by },
        },
        ServerEvent::Left {
            participant: P,
            reason: LeaveReason::ConnectionLost,
        },
        ServerEvent::Left {
            participant: P,
            reason: LeaveReason::SessionEnded,
        },
        ServerEvent::Updated {
            participant: P,
            changes: MemberUpdate {
                audio_muted: Some(false),
                role: Some(Role::Manager),
                ..MemberUpdate::default()
            },
        },
        ServerEvent::SessionUpdated { session: session() },
        ServerEvent::Chat { message: chat() },
        ServerEvent::Reaction {
            participant: P,
            reaction: Reaction::ThumbsUp,
        },
        ServerEvent::RoomMetadataUpdated {
            by,
            changes: MetadataDiff {
                set: metadata(),
                deleted: vec!["old".into()],
            },
        },
        ServerEvent::MemberMetadataUpdated {
            participant: P,
            by: P,
            changes: MetadataDiff {
                set: Metadata::new(),
                deleted: vec!["status".into()],
            },
        },
        ServerEvent::YouWereMuted { by },
        ServerEvent::YourVideoStopped { by },
        ServerEvent::UnmuteRequested { by },
        ServerEvent::YouWereRenamed {
            by,
            name: "Bob".into(),
        },
        ServerEvent::YourHandLowered { by },
        ServerEvent::YourHearingChanged { by, deaf: true },
        ServerEvent::WaiterJoined {
            waiter: Waiter {
                id: WaiterId(4),
                display_name: "Gus".into(),
            },
        },
        ServerEvent::WaiterLeft {
            waiter: WaiterId(4),
            exit: LobbyExit::Admitted {
                by,
                participant: ParticipantId(9),
            },
        },
        ServerEvent::WaiterLeft {
            waiter: WaiterId(5),
            exit: LobbyExit::Denied { by },
        },
        ServerEvent::WaiterLeft {
            waiter: WaiterId(6),
            exit: LobbyExit::Left,
        },
        ServerEvent::YourRoleChanged {
            by,
            role: Role::Audience,
        },
        ServerEvent::YouWereRemoved { by },
        ServerEvent::SessionEnded {
            reason: EndReason::EndedByHost { by },
        },
        ServerEvent::SessionEnded {
            reason: EndReason::IdleTimeout,
        },
        ServerEvent::SessionEnded {
            reason: EndReason::Empty,
        },
        ServerEvent::SessionEnded {
            reason: EndReason::ServerShutdown,
        },
    ]
}

fn all_server_messages() -> Vec<ServerMessage> {
    let mut out = vec![
        ServerMessage::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            participant_id: P,
            role: Role::Host,
            resume_key: ResumeKey("k3y".into()),
            resumed: false,
            session: session(),
            members: vec![member()],
            audience: AudiencePage {
                count: 4_210,
                members: vec![member()],
                next: Some("00000000000000ab.57".to_owned()),
            },
            chat: vec![chat()],
            metadata: metadata(),
            member_metadata: vec![MemberMetadata {
                participant: P,
                metadata: metadata(),
            }],
            lobby: vec![Waiter {
                id: WaiterId(3),
                display_name: "Wendy".into(),
            }],
            heartbeat_interval_ms: 5000,
        }),
        ServerMessage::Ok { id: RequestId(3) },
        ServerMessage::error(
            Some(RequestId(3)),
            ErrorCode::PermissionDenied,
            "missing permission: admin",
        ),
        ServerMessage::error(None, ErrorCode::RateLimited, "slow down"),
        ServerMessage::ChatHistory {
            id: RequestId(4),
            messages: vec![chat()],
            complete: false,
        },
        ServerMessage::Pong { nonce: 0 },
        ServerMessage::RosterPage {
            id: RequestId(8),
            page: AudiencePage {
                count: 3,
                members: vec![member()],
                next: None,
            },
            member_metadata: Vec::new(),
        },
        ServerMessage::Resync(Resync {
            role: Role::Audience,
            session: session(),
            members: vec![member()],
            audience: AudiencePage::default(),
            metadata: metadata(),
            member_metadata: Vec::new(),
            last_chat_seq: Some(ChatSeq(7)),
            lobby: Vec::new(),
        }),
        ServerMessage::Waiting {
            waiter: WaiterId(4),
            session_name: "Weekly Sync".into(),
        },
        ServerMessage::Media {
            media: MediaEvent::Ready {
                ice_servers: vec![IceServer {
                    urls: vec!["turn:turn.example.com:3478?transport=udp".to_owned()],
                    username: "1763800000:member-5".to_owned(),
                    credential: "c2VjcmV0".to_owned(),
                }],
                audio_slots: 3,
                video_slots: 9,
                share_slots: 2,
            },
        },
        ServerMessage::Media {
            media: MediaEvent::Answer {
                sdp: "v=0\r\n".to_owned(),
            },
        },
        ServerMessage::Media {
            media: MediaEvent::Slots {
                audio: vec![Some(ParticipantId(2)), None],
                video: vec![None, Some(ParticipantId(3))],
                share: vec![Some(ParticipantId(3)), None],
            },
        },
        ServerMessage::Media {
            media: MediaEvent::Failed {
                message: "the media connection was lost".to_owned(),
            },
        },
    ];
    out.extend(
        all_events()
            .into_iter()
            .map(|event| ServerMessage::Event { event }),
    );
    out
}

fn type_of(json: &str) -> Result<String, Box<dyn std::error::Error>> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    Ok(v.get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or("no type field")?
        .to_owned())
}

#[test]
fn every_client_message_round_trips() -> TestResult {
    for msg in all_client_messages() {
        let text = encode(&msg)?;
        assert_eq!(decode_client(&text)?, msg, "{text}");
    }
    Ok(())
}

#[test]
fn every_server_message_round_trips() -> TestResult {
    for msg in all_server_messages() {
        let text = encode(&msg)?;
        assert_eq!(decode_server(&text)?, msg, "{text}");
    }
    Ok(())
}

#[test]
fn type_lists_match_the_enums() -> TestResult {
    let actions: BTreeSet<String> = all_actions()
        .iter()
        .map(|a| type_of(&encode(a)?))
        .collect::<Result<_, _>>()?;
    let listed: BTreeSet<String> = Action::TYPES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(actions, listed);

    let client: BTreeSet<String> = all_client_messages()
        .iter()
        .map(|m| type_of(&encode(m)?))
        .collect::<Result<_, _>>()?;
    let listed: BTreeSet<String> = ClientMessage::TYPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(client, listed);

    let server: BTreeSet<String> = all_server_messages()
        .iter()
        .map(|m| type_of(&encode(m)?))
        .collect::<Result<_, _>>()?;
    let listed: BTreeSet<String> = ServerMessage::TYPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(server, listed);
    Ok(())
}

#[test]
fn wire_shape_is_flat_and_snake_case() -> TestResult {
    let text = encode(&ClientMessage::Request {
        id: RequestId(1),
        action: Action::MuteAudio { participant: P },
    })?;
    assert_eq!(
        text,
        r#"{"type":"request","id":1,"action":{"type":"mute_audio","participant":2}}"#
    );
    let text = encode(&ServerMessage::Event {
        event: ServerEvent::Left {
            participant: P,
            reason: LeaveReason::Removed {
                by: ParticipantId(1),
            },
        },
    })?;
    assert_eq!(
        text,
        r#"{"type":"event","event":{"type":"left","participant":2,"reason":{"kind":"removed","by":1}}}"#
    );
    // A minimal join from a hand-written client: optional fields may be left out.
    let join = decode_client(
        r#"{"type":"join","protocol_version":1,"session_name":"a","display_name":"b"}"#,
    )?;
    assert!(matches!(
        join,
        ClientMessage::Join(Join {
            passcode: None,
            audio_muted: false,
            ..
        })
    ));
    Ok(())
}

#[test]
fn media_messages_without_share_fields_still_decode() -> TestResult {
    // A server from before screen share sends neither `share_slots` nor `share`.
    let ready = decode_server(
        r#"{"type":"media","media":{"kind":"ready","ice_servers":[],"audio_slots":3,"video_slots":9}}"#,
    )?;
    assert!(matches!(
        ready,
        ServerMessage::Media {
            media: MediaEvent::Ready { share_slots: 0, .. }
        }
    ));
    let slots =
        decode_server(r#"{"type":"media","media":{"kind":"slots","audio":[null],"video":[4]}}"#)?;
    let ServerMessage::Media {
        media: MediaEvent::Slots { share, video, .. },
    } = slots
    else {
        panic!("not slots: {slots:?}");
    };
    assert!(share.is_empty());
    assert_eq!(video, vec![Some(ParticipantId(4))]);
    Ok(())
}

#[test]
fn metadata_messages_are_flat() -> TestResult {
    let set = decode_client(
        r#"{"type":"request","id":1,"action":{"type":"update_member_metadata","set":{"status":"away"}}}"#,
    )?;
    let ClientMessage::Request {
        action:
            Action::UpdateMemberMetadata {
                participant: None,
                change,
            },
        ..
    } = set
    else {
        panic!("not a member metadata update: {set:?}");
    };
    assert_eq!(change.set.get("status"), Some(&serde_json::json!("away")));
    assert!(change.delete.is_empty() && !change.replace);
    let text = encode(&ServerEvent::RoomMetadataUpdated {
        by: ParticipantId(1),
        changes: MetadataDiff {
            set: Metadata::new(),
            deleted: vec!["topic".into()],
        },
    })?;
    assert_eq!(
        text,
        r#"{"type":"room_metadata_updated","by":1,"deleted":["topic"]}"#
    );
    // Metadata that is not an object is a field error, like any other wrong type.
    assert!(matches!(
        decode_client(
            r#"{"type":"request","id":1,"action":{"type":"update_room_metadata","set":"x"}}"#
        ),
        Err(huddle_proto::ProtoError::InvalidMessage { .. })
    ));
    // A welcome from before metadata still decodes.
    let mut old = serde_json::to_value(all_server_messages().remove(0))?;
    if let Some(obj) = old.as_object_mut() {
        obj.remove("metadata");
        obj.remove("member_metadata");
    }
    let ServerMessage::Welcome(w) = decode_server(&old.to_string())? else {
        panic!("not a welcome");
    };
    assert!(w.metadata.is_empty() && w.member_metadata.is_empty());
    Ok(())
}
