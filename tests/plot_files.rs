//! `lifsim plot` and `lifsim run --plot`: the files are valid PNG and SVG of the announced size,
//! the raster has one mark per spike shown, coloured by population, and captions say what is
//! shown.

mod synthetic;

use std::path::Path;

use lifsim::analysis::Window;
use lifsim::plot::{plot_file, ImageFormat, PlotOptions, PlotSummary};
use synthetic::*;

/// Fills of the raster marks of E and I: the first two colours of the palette.
const E_FILL: &str = "#C82828";
const I_FILL: &str = "#1E5AC8";

fn plot(
    path: &Path,
    figure: &Path,
    window: Option<(f64, f64)>,
    options: &PlotOptions,
) -> PlotSummary {
    let file = lifsim::record::read(path).unwrap();
    let window = match window {
        Some((from, to)) => Window::new(from, to).unwrap(),
        None => Window::of_file(&file, None, None).unwrap(),
    };
    plot_file(&file, window, figure, options).unwrap()
}

struct Svg {
    width: u32,
    height: u32,
    /// Fill of every <circle>.
    circle_fills: Vec<String>,
    texts: Vec<String>,
}

fn parse_svg(path: &Path) -> Svg {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let dimension = |name: &str| root.attribute(name).unwrap().parse::<u32>().unwrap();
    let elements = || root.descendants().filter(|n| n.is_element());
    Svg {
        width: dimension("width"),
        height: dimension("height"),
        circle_fills: elements()
            .filter(|n| n.tag_name().name() == "circle")
            .map(|n| n.attribute("fill").unwrap_or_default().to_owned())
            .collect(),
        texts: elements()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text().map(str::to_owned))
            .collect(),
    }
}

impl Svg {
    fn count_fill(&self, fill: &str) -> usize {
        self.circle_fills
            .iter()
            .filter(|f| f.eq_ignore_ascii_case(fill))
            .count()
    }

    fn has_text(&self, needle: &str) -> bool {
        self.texts.iter().any(|t| t.contains(needle))
    }
}

#[test]
fn svg_raster_has_one_mark_per_spike_coloured_by_population() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let figure = dir.path().join("raster.svg");
    let summary = plot(&path, &figure, None, &PlotOptions::default());
    assert_eq!(summary.format, ImageFormat::Svg);
    // Raster 420 + rates 220 + one trace panel (V_m of E) 200.
    assert_eq!((summary.width_px, summary.height_px), (1200, 840));
    assert_eq!(summary.traces, ["E/V_m"]);

    let svg = parse_svg(&figure);
    assert_eq!((svg.width, svg.height), (1200, 840));
    // 10 spikes of E and 6 of I; nothing else is drawn as a circle.
    assert_eq!(svg.circle_fills.len(), 16);
    assert_eq!((svg.count_fill(E_FILL), svg.count_fill(I_FILL)), (10, 6));
    for caption in [
        "E: all 4 neurons",
        "I: all 3 neurons",
        "Population rate (5 ms bins",
        "V_m of E, neurons 0, 1",
        "time [ms]",
        "rate [Hz]",
        "V_m [mV]",
    ] {
        assert!(
            svg.has_text(caption),
            "no text {caption:?} in {:?}",
            svg.texts
        );
    }
}

#[test]
fn subsampled_rasters_say_so_and_windows_cut_the_marks() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let figure = dir.path().join("sub.svg");
    let two = PlotOptions {
        max_neurons: 2,
        ..PlotOptions::default()
    };
    let summary = plot(&path, &figure, None, &two);
    // E shows nodes 0 and 2 (4 + 2 spikes), I nodes 0 and 1 (4 + 1).
    assert_eq!(summary.rasters[0].caption, "E: 2 of 4 neurons shown");
    assert_eq!(summary.rasters[1].caption, "I: 2 of 3 neurons shown");
    let svg = parse_svg(&figure);
    assert_eq!((svg.count_fill(E_FILL), svg.count_fill(I_FILL)), (6, 5));
    assert!(svg.has_text("E: 2 of 4 neurons shown"), "{:?}", svg.texts);

    // (20, 60]: E0 40, E1 25 50, E2 30; I1 60.
    let summary = plot(&path, &figure, Some((20.0, 60.0)), &PlotOptions::default());
    let marks: Vec<usize> = summary.rasters.iter().map(|r| r.marks).collect();
    assert_eq!(marks, [4, 1]);
    let svg = parse_svg(&figure);
    assert_eq!((svg.count_fill(E_FILL), svg.count_fill(I_FILL)), (4, 1));
}

#[test]
fn png_is_valid_and_of_the_announced_size() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let figure = dir.path().join("raster.png");
    let options = PlotOptions {
        width_px: 800,
        ..PlotOptions::default()
    };
    let summary = plot(&path, &figure, None, &options);
    assert_eq!(summary.format, ImageFormat::Png);

    let bytes = std::fs::read(&figure).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert!(bytes.len() < 300_000, "{} bytes", bytes.len());
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("valid PNG data");
    assert_eq!((frame.width, frame.height), (800, summary.height_px));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    // The marks of E are there, in E's red.
    let red = pixels[..frame.buffer_size()]
        .chunks(3)
        .filter(|p| p == &[200, 40, 40])
        .count();
    assert!(red > 10, "{red} pixels of E's colour");
}

#[test]
fn unknown_formats_and_empty_files_are_refused() {
    let _files = files_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let file = lifsim::record::read(&path).unwrap();
    let window = Window::of_file(&file, None, None).unwrap();
    let error = plot_file(
        &file,
        window,
        &dir.path().join("fig.jpg"),
        &PlotOptions::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("name the figure *.png or *.svg"),
        "{error}"
    );

    let mut empty = file.clone();
    empty.spikes.clear();
    empty.reports.clear();
    let error = plot_file(
        &empty,
        window,
        &dir.path().join("fig.png"),
        &PlotOptions::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("spike_recorder"), "{error}");

    let error = plot_file(
        &file,
        window,
        &dir.path().join("no/such/dir/fig.png"),
        &PlotOptions::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("directory exists"), "{error}");
}

#[test]
fn cli_plot_and_run_plot_write_figures() {
    let _files = files_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path());
    let svg = dir.path().join("cli.svg");
    let stdout = lifsim_ok(&[
        "plot",
        path.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
        "--max-neurons",
        "2",
        "--from",
        "0",
        "--to",
        "50",
    ]);
    assert!(stdout.contains("E: 2 of 4 neurons shown"), "{stdout}");
    // (0, 50]: E0 10 20 40, E2 5 30; I0 1 2 3 4.
    let parsed = parse_svg(&svg);
    assert_eq!(
        (parsed.count_fill(E_FILL), parsed.count_fill(I_FILL)),
        (5, 4)
    );

    let bad = lifsim(&["plot", path.to_str().unwrap(), "-o", "fig.gif"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("*.png or *.svg"));

    // `run --plot`: the two-neuron demo, with its V_m and g_ex traces.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/single_neuron.toml");
    let out = dir.path().join("single.h5");
    let figure = dir.path().join("single.svg");
    let stdout = lifsim_ok(&[
        "run",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--plot",
        figure.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(stdout.contains("plot: "), "{stdout}");
    let spikes = lifsim::record::read(&out).unwrap().spikes[0]
        .timestamps_ms
        .len();
    assert!(spikes > 0);
    let parsed = parse_svg(&figure);
    assert_eq!(parsed.circle_fills.len(), spikes);
    assert!(parsed.has_text("V_m of output"), "{:?}", parsed.texts);
    assert!(parsed.has_text("g_ex of output"), "{:?}", parsed.texts);
    assert_eq!(parsed.height, 420 + 220 + 2 * 200);

    // A bad figure name is refused before anything runs.
    let out2 = dir.path().join("never.h5");
    let refused = lifsim(&[
        "run",
        config.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--plot",
        "fig.pdf",
    ]);
    assert!(!refused.status.success());
    assert!(!out2.exists(), "the run should not have started");
}
