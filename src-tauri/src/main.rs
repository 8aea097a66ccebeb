//! Huddle desktop app.
//!
//! `main` answers `--version` and `--help` before anything touches a display, so the
//! packaged binary can be checked on a headless machine; otherwise it starts logging and
//! hands over to the Tauri shell in [`app`].
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod app;
mod apps;
mod call;
mod cli;
mod commands;
mod devices;
mod error;
mod frames;
#[cfg(test)]
mod generated;
mod host;
mod latest;
mod links;
mod logging;
mod notifications;
mod renderer;
mod settings;
mod video_server;
mod webview;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse(std::env::args_os().skip(1)) {
        cli::Invocation::Version => {
            println!("{}", cli::version_line());
            ExitCode::SUCCESS
        }
        cli::Invocation::Help => {
            println!("{}", cli::help_text());
            ExitCode::SUCCESS
        }
        cli::Invocation::Invalid(message) => {
            eprintln!("huddle: {message}\n\n{}", cli::help_text());
            ExitCode::from(2)
        }
        cli::Invocation::Run => {
            let renderer = renderer::configure();
            let log = match logging::init() {
                Ok(log) => log,
                Err(err) => {
                    eprintln!("huddle: {err}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(?renderer, "webview renderer");
            match app::run(log, renderer) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "the app stopped with an error");
                    eprintln!("huddle: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
