//! huddle-server
