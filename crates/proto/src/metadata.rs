//! Room and member metadata: application-defined JSON objects that the server keeps and
//! hands to everyone, but never interprets.
//!
//! A change is a [`MetadataChange`]: keys to set (merged over what is there), keys to delete,
//! or `replace` to drop every key not being set. [`MetadataChange::apply`] checks the keys
//! and the limits of [`crate::limits`] and computes both the new object and the
//! [`MetadataDiff`] that tells everyone what changed; on any error nothing is applied.

use crate::error::ProtoError;
use crate::ids::ParticipantId;
use crate::limits::{MAX_METADATA_KEYS, MAX_METADATA_KEY_CHARS};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A metadata object: string keys, any JSON values.
pub type Metadata = Map<String, Value>;

/// How to change one metadata object (the room's or a member's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataChange {
    /// Keys to set to these values; other keys stay unless `replace` is true.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Metadata,
    /// Keys to remove; absent keys are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<String>,
    /// Drop every key not in `set` first: `set` becomes the whole object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
}

/// What a change did to a metadata object: the keys that got a new value (with it) and the
/// keys that were removed. Keys set to the value they already had are not listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataDiff {
    /// Keys added or given a new value.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Metadata,
    /// Keys removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
}

/// One member's metadata, as listed in `welcome`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMetadata {
    /// The member.
    pub participant: ParticipantId,
    /// Its metadata (never empty in a `welcome`).
    pub metadata: Metadata,
}

impl MetadataChange {
    /// Sets these keys, keeping the others.
    #[must_use]
    pub fn merge(set: Metadata) -> MetadataChange {
        MetadataChange {
            set,
            ..MetadataChange::default()
        }
    }

    /// Removes these keys.
    #[must_use]
    pub fn delete(keys: Vec<String>) -> MetadataChange {
        MetadataChange {
            delete: keys,
            ..MetadataChange::default()
        }
    }

    /// Makes `set` the whole object.
    #[must_use]
    pub fn replace(set: Metadata) -> MetadataChange {
        MetadataChange {
            set,
            delete: Vec::new(),
            replace: true,
        }
    }

    /// The object `current` becomes under this change, and what changed; `max_bytes` bounds
    /// the new object's JSON encoding.
    ///
    /// # Errors
    /// [`ProtoError::MetadataKey`] for an empty, too long or control-character key, or a key
    /// both set and deleted; [`ProtoError::MetadataTooManyKeys`] or
    /// [`ProtoError::MetadataTooLarge`] when the result would exceed the limits.
    pub fn apply(
        &self,
        current: &Metadata,
        max_bytes: usize,
    ) -> Result<(Metadata, MetadataDiff), ProtoError> {
        for key in self.set.keys().chain(&self.delete) {
            check_key(key)?;
        }
        if let Some(key) = self.delete.iter().find(|k| self.set.contains_key(*k)) {
            return Err(ProtoError::MetadataKey {
                key: short(key),
                reason: "is both set and deleted",
            });
        }
        let mut next = if self.replace {
            Metadata::new()
        } else {
            current.clone()
        };
        for key in &self.delete {
            next.remove(key);
        }
        for (key, value) in &self.set {
            next.insert(key.clone(), value.clone());
        }
        if next.len() > MAX_METADATA_KEYS {
            return Err(ProtoError::MetadataTooManyKeys {
                len: next.len(),
                max: MAX_METADATA_KEYS,
            });
        }
        let len = encoded_len(&next)?;
        if len > max_bytes {
            return Err(ProtoError::MetadataTooLarge {
                len,
                max: max_bytes,
            });
        }
        let diff = MetadataDiff {
            set: next
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            deleted: current
                .keys()
                .filter(|k| !next.contains_key(*k))
                .cloned()
                .collect(),
        };
        Ok((next, diff))
    }
}

impl MetadataDiff {
    /// True when nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.deleted.is_empty()
    }

    /// Applies the diff to a copy of the object it was computed on: how a client keeps its
    /// metadata in step with the events.
    pub fn apply_to(&self, metadata: &mut Metadata) {
        for key in &self.deleted {
            metadata.remove(key);
        }
        for (key, value) in &self.set {
            metadata.insert(key.clone(), value.clone());
        }
    }

    /// Applies the diff to one member's entry in a map of every member's metadata, dropping
    /// the entry once it is empty (as `welcome` lists only members with metadata).
    pub fn apply_to_member(
        &self,
        all: &mut BTreeMap<ParticipantId, Metadata>,
        participant: ParticipantId,
    ) {
        let metadata = all.entry(participant).or_default();
        self.apply_to(metadata);
        if metadata.is_empty() {
            all.remove(&participant);
        }
    }
}

fn check_key(key: &str) -> Result<(), ProtoError> {
    let reason = if key.is_empty() {
        "is empty"
    } else if key.chars().count() > MAX_METADATA_KEY_CHARS {
        "is longer than 64 characters"
    } else if key.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(ProtoError::MetadataKey {
        key: short(key),
        reason,
    })
}

/// Echoing a 60 KiB key back in an error would amplify a flood.
fn short(key: &str) -> String {
    key.chars().take(MAX_METADATA_KEY_CHARS).collect()
}

fn encoded_len(metadata: &Metadata) -> Result<usize, ProtoError> {
    serde_json::to_vec(metadata)
        .map(|v| v.len())
        .map_err(|e| ProtoError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_MEMBER_METADATA_BYTES;
    use serde_json::json;

    fn obj(v: Value) -> Metadata {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn merge_delete_and_replace() -> Result<(), ProtoError> {
        let current = obj(json!({"foo": "bar", "baz": true}));
        let (next, diff) =
            MetadataChange::merge(obj(json!({"baz": false, "t": 10}))).apply(&current, 1024)?;
        assert_eq!(next, obj(json!({"foo": "bar", "baz": false, "t": 10})));
        assert_eq!(diff.set, obj(json!({"baz": false, "t": 10})));
        assert!(diff.deleted.is_empty());

        let (next, diff) =
            MetadataChange::delete(vec!["foo".into(), "nope".into()]).apply(&current, 1024)?;
        assert_eq!(next, obj(json!({"baz": true})));
        assert_eq!(diff.deleted, vec!["foo".to_owned()]);

        let (next, diff) =
            MetadataChange::replace(obj(json!({"baz": true, "n": null}))).apply(&current, 1024)?;
        assert_eq!(next, obj(json!({"baz": true, "n": null})));
        assert_eq!(
            diff.set,
            obj(json!({"n": null})),
            "unchanged keys are not listed"
        );
        assert_eq!(diff.deleted, vec!["foo".to_owned()]);

        let mut copy = current.clone();
        diff.apply_to(&mut copy);
        assert_eq!(copy, next);
        Ok(())
    }

    #[test]
    fn setting_what_is_there_changes_nothing() -> Result<(), ProtoError> {
        let current = obj(json!({"a": [1, 2]}));
        let (next, diff) = MetadataChange::merge(current.clone()).apply(&current, 1024)?;
        assert_eq!(next, current);
        assert!(diff.is_empty());
        Ok(())
    }

    #[test]
    fn bad_keys_are_refused() {
        for key in ["", "a\u{7}b", &"k".repeat(65)] {
            let change = MetadataChange::merge(obj(json!({ key: 1 })));
            assert!(
                matches!(
                    change.apply(&Metadata::new(), 1024),
                    Err(ProtoError::MetadataKey { .. })
                ),
                "{key:?}"
            );
        }
        assert!(MetadataChange::merge(obj(json!({ "k".repeat(64): 1 })))
            .apply(&Metadata::new(), 1024)
            .is_ok());
        let both = MetadataChange {
            set: obj(json!({"a": 1})),
            delete: vec!["a".into()],
            replace: false,
        };
        assert!(matches!(
            both.apply(&Metadata::new(), 1024),
            Err(ProtoError::MetadataKey { .. })
        ));
        let long_delete = MetadataChange::delete(vec!["x".repeat(10_000)]);
        match long_delete.apply(&Metadata::new(), 1024) {
            Err(ProtoError::MetadataKey { key, .. }) => assert_eq!(key.len(), 64),
            other => panic!("expected MetadataKey, got {other:?}"),
        }
    }

    #[test]
    fn limits_count_the_whole_object() -> Result<(), ProtoError> {
        let big = obj(json!({"a": "x".repeat(MAX_MEMBER_METADATA_BYTES)}));
        let err = MetadataChange::merge(big).apply(&Metadata::new(), MAX_MEMBER_METADATA_BYTES);
        assert!(matches!(err, Err(ProtoError::MetadataTooLarge { .. })));
        assert_eq!(
            err.map_err(|e| e.code()),
            Err(crate::ErrorCode::MetadataTooLarge)
        );
        // Two halves that fit alone do not fit together.
        let half = "x".repeat(MAX_MEMBER_METADATA_BYTES / 2);
        let (current, _) = MetadataChange::merge(obj(json!({"a": half})))
            .apply(&Metadata::new(), MAX_MEMBER_METADATA_BYTES)?;
        assert!(matches!(
            MetadataChange::merge(obj(json!({"b": half})))
                .apply(&current, MAX_MEMBER_METADATA_BYTES),
            Err(ProtoError::MetadataTooLarge { .. })
        ));
        // Replacing frees the room the old keys took.
        assert!(MetadataChange::replace(obj(json!({"b": half})))
            .apply(&current, MAX_MEMBER_METADATA_BYTES)
            .is_ok());
        let many: Metadata = (0..=MAX_METADATA_KEYS)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        assert!(matches!(
            MetadataChange::merge(many).apply(&Metadata::new(), 8192),
            Err(ProtoError::MetadataTooManyKeys { .. })
        ));
        Ok(())
    }
}
