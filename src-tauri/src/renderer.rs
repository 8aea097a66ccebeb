//! How the Linux webview draws. WebKitGTK's DMA-BUF renderer is the fast path on a machine
//! with a GPU; without one (no DRM render node: virtual machines, remote desktops, Xvfb) it
//! falls back to software GL and spends most of a core compositing the window, which caps
//! `requestAnimationFrame` — and so the video tiles — at ~15 frames/s. Measured on WebKitGTK
//! 2.50 with a 15 fps camera preview: 147 % CPU in the web process and 16.6 animation
//! frames/s with it; 26 % and 75 frames/s without it (docs/BENCHMARKS.md). So, before any
//! GTK or WebKit code runs, the app turns it off where no render node exists, unless the
//! user's environment already decides.

/// The variable WebKitGTK reads at start-up.
pub const DMABUF_VARIABLE: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// What the app decided, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// A render node exists: WebKit's default (DMA-BUF) renderer.
    Default,
    /// No render node: the DMA-BUF renderer is turned off.
    DmabufOff,
    /// The environment already sets the variable; left alone.
    UserSet,
    /// Not a platform that uses WebKitGTK.
    NotApplicable,
}

/// The decision, from whether the variable is set and the entries of `/dev/dri`.
pub fn decide(variable_set: bool, dri_entries: &[String]) -> Choice {
    if variable_set {
        Choice::UserSet
    } else if dri_entries.iter().any(|name| name.starts_with("renderD")) {
        Choice::Default
    } else {
        Choice::DmabufOff
    }
}

/// Looks at this machine and sets the variable when needed. Call first thing in `main`,
/// while the process has one thread (setting the environment is not thread-safe).
pub fn configure() -> Choice {
    if !cfg!(target_os = "linux") {
        return Choice::NotApplicable;
    }
    let entries: Vec<String> = std::fs::read_dir("/dev/dri")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let choice = decide(std::env::var_os(DMABUF_VARIABLE).is_some(), &entries);
    if choice == Choice::DmabufOff {
        std::env::set_var(DMABUF_VARIABLE, "1");
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_render_node_keeps_the_default_renderer() {
        assert_eq!(
            decide(false, &names(&["card0", "renderD128", "by-path"])),
            Choice::Default
        );
    }

    #[test]
    fn no_render_node_turns_the_dmabuf_renderer_off() {
        assert_eq!(decide(false, &names(&[])), Choice::DmabufOff);
        // A display-only card (no render node) is no help for rendering.
        assert_eq!(decide(false, &names(&["card0"])), Choice::DmabufOff);
    }

    #[test]
    fn the_users_setting_wins() {
        assert_eq!(decide(true, &names(&[])), Choice::UserSet);
        assert_eq!(decide(true, &names(&["renderD128"])), Choice::UserSet);
    }
}
