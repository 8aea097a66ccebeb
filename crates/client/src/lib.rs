//! huddle-client
