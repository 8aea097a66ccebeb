//! Media negotiation over the signaling socket is as untrusted as the rest: garbage offers get
//! a clear `failed`, oversized ones `invalid_message`, and media before `join` is refused.

mod common;

use common::{start_with, Client, TestResult};
use huddle_proto::{ClientMessage, ErrorCode, MediaEvent, MediaRequest, ServerMessage};
use huddle_server::ServerConfig;

#[tokio::test]
async fn bad_offers_get_clear_answers() -> TestResult {
    let server = start_with(ServerConfig::open_loopback()).await?;
    let (mut ann, _) = Client::join_open(&server.ws_url(), "media", "Ann").await?;

    ann.send(&ClientMessage::Media {
        media: MediaRequest::Offer {
            sdp: "this is not SDP".to_owned(),
        },
    })
    .await?;
    match ann.recv().await? {
        ServerMessage::Media {
            media: MediaEvent::Failed { message },
        } => assert!(message.contains("offer"), "{message}"),
        other => return Err(format!("expected media failed, got {other:?}").into()),
    }

    let huge = "a".repeat(huddle_proto::media::MAX_SDP_BYTES + 1);
    ann.send(&ClientMessage::Media {
        media: MediaRequest::Offer { sdp: huge },
    })
    .await?;
    match ann.recv().await? {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::InvalidMessage);
            assert!(message.contains("sdp"), "{message}");
        }
        other => return Err(format!("expected an error, got {other:?}").into()),
    }

    // The connection is still good for everything else.
    ann.send(&ClientMessage::Ping { nonce: 5 }).await?;
    assert!(matches!(
        ann.recv().await?,
        ServerMessage::Pong { nonce: 5 }
    ));
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn media_before_join_is_refused() -> TestResult {
    let server = start_with(ServerConfig::open_loopback()).await?;
    let mut client = Client::connect(&server.ws_url()).await?;
    client
        .send(&ClientMessage::Media {
            media: MediaRequest::Subscribe { videos: vec![] },
        })
        .await?;
    match client.recv().await? {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::NotJoined),
        other => return Err(format!("expected not_joined, got {other:?}").into()),
    }
    server.shutdown().await;
    Ok(())
}
