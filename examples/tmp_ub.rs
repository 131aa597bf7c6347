use lifsim::backend::Backend;
fn main() {
    let n: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let t_stop: f64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1000.0);
    let text = std::fs::read_to_string("configs/coba.toml")
        .unwrap()
        .replace(
            "n = 3200                              # NE = 0.8 N",
            &format!("n = {}", n * 4 / 5),
        )
        .replace(
            "n = 800                               # NI = 0.2 N",
            &format!("n = {}", n / 5),
        )
        .replace(
            "neurons = \"0:400\"",
            &format!("neurons = \"0:{}\"", n / 10),
        );
    let mut spec = lifsim::config::parse(&text, std::path::Path::new("x.toml")).unwrap();
    spec.simulation.t_stop_ms = t_stop;
    spec.recorders
        .retain(|r| matches!(r, lifsim::config::RecorderSpec::Spikes { .. }));
    let net = lifsim::network::build(&spec, 2).unwrap();
    let mut b = lifsim::backend::cpu::CpuBackend::new(&net, 1);
    let mut batch = lifsim::backend::Batch::default();
    let t = std::time::Instant::now();
    let mut spikes = 0;
    while b.steps_done() < net.n_steps {
        b.advance(1000, &mut batch).unwrap();
        spikes += batch.spikes.len();
    }
    let e = t.elapsed().as_secs_f64();
    println!("n {n}: {:.1} ms, {spikes} spikes", e * 1e3);
}
