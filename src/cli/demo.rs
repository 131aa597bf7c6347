//! `lifsim demo`: serve the interactive LIF demo on 127.0.0.1 and print its address.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Args;

use lifsim::demo::{DemoConfig, DemoServer};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// TCP port to listen on (0: any free port; the address is printed).
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().port)]
    port: u16,
    /// Address to listen on. Only loopback addresses (127.0.0.1, ::1) are accepted unless
    /// --allow-remote is given.
    #[arg(long, value_name = "ADDR", default_value_t = DemoConfig::default().bind)]
    bind: IpAddr,
    /// Allow a --bind address that other machines can reach. The demo has no authentication:
    /// anyone who reaches it can use it, and the CPU time it takes.
    #[arg(long)]
    allow_remote: bool,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let server = DemoServer::bind(&DemoConfig {
        bind: args.bind,
        port: args.port,
        allow_remote: args.allow_remote,
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "lifsim demo: open {} in a browser", server.url())?;
    if args.allow_remote && !args.bind.is_loopback() {
        writeln!(
            out,
            "listening on {} (reachable from other machines: --allow-remote)",
            server.local_addr()
        )?;
    }
    writeln!(out, "press Ctrl-C to stop")?;
    out.flush()?;
    drop(out);
    server.run()?;
    Ok(ExitCode::SUCCESS)
}
