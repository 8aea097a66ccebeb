//! Tauri commands, one module per domain. Each is a few lines that forward to the code
//! that does the work; the capability file lists every command the window may call.

pub mod app;
pub mod apps;
pub mod call;
pub mod devices;
pub mod host;
pub mod manage;
pub mod network;
pub mod settings;
