//! `lifsim`: the command line. Parsing and presentation live in `cli/`; the work is done by the
//! library.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    quiet_wayland_probe();
    let args = cli::Cli::parse();
    match cli::execute(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Mesa's Vulkan drivers look for a Wayland display while listing GPUs, and libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set in the environment." where that variable is
/// unset (containers, CI, ssh sessions). lifsim draws nothing: give it the temporary directory,
/// where no Wayland socket is found and nothing is printed. Done first, before any thread starts.
fn quiet_wayland_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}
