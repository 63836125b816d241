//! How `rtbench run` shows its progress: a bar on a terminal, else one plain line per step.
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Plain lines when asked (`--quiet`) or when stderr is no terminal (a log file, CI): the bar
/// hides itself there, and a redirected run would otherwise print nothing until its end.
pub fn plain(quiet: bool) -> bool {
    quiet || !std::io::stderr().is_terminal()
}

/// The progress bar, drawn on stderr.
pub fn bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}, ETA {eta}] {msg}")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
