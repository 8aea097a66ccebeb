//! huddle-proto
