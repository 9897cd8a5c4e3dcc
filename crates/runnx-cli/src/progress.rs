//! Progress on stderr for long work, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Spinner {
    active: bool,
    label: String,
    start: Instant,
}

impl Spinner {
    pub fn start(label: &str) -> Spinner {
        let active = std::io::stderr().is_terminal();
        if active {
            eprint!("{label} ...");
            let _ = std::io::stderr().flush();
        }
        Spinner {
            active,
            label: label.to_string(),
            start: Instant::now(),
        }
    }

    pub fn finish(self) {
        if self.active {
            eprintln!(
                "\r{} ... done in {:.2} s",
                self.label,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// A `[#####.....] k/n` bar, redrawn in place.
pub struct Bar {
    active: bool,
    label: String,
    total: usize,
}

impl Bar {
    pub fn new(label: &str, total: usize) -> Bar {
        Bar {
            active: std::io::stderr().is_terminal(),
            label: label.to_string(),
            total,
        }
    }

    pub fn set(&self, done: usize) {
        if !self.active {
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(self.total).unwrap_or(width);
        eprint!(
            "\r{} [{}{}] {done}/{}",
            self.label,
            "#".repeat(filled),
            ".".repeat(width - filled.min(width)),
            self.total
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&self) {
        if self.active {
            eprintln!();
        }
    }
}
