//! huddle-room
