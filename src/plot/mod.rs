//! Figures of a run, drawn with plotters into PNG or SVG: a raster of the spikes (subsampled in
//! large populations), the population rates and the recorded traces, on one time axis and
//! coloured by population. What `lifsim plot` and `lifsim run --plot` draw.
//!
//! [`figure`] picks what to show from an output file (pure data); `draw` draws it.

mod draw;
pub mod figure;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::analysis::{check_bin, AnalysisError, Window};
use crate::record::OutputFile;

pub use figure::{shown_nodes, Figure, Raster, TracePanel, MAX_TRACES};

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error(
        "cannot tell the image format of {}: name the figure *.png or *.svg",
        .path.display()
    )]
    UnknownFormat { path: PathBuf },

    #[error(
        "the file holds no spikes and no traces to plot; record them with a `spike_recorder` or \
         a `multimeter` in the config (docs/config.md)"
    )]
    Nothing,

    #[error("invalid {option}: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },

    #[error(
        "cannot draw {} ({message}); check that its directory exists and is writable",
        .path.display()
    )]
    Draw { path: PathBuf, message: String },

    #[error("the font built into lifsim failed to load; this is a bug, please report it")]
    Font,

    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// The image formats lifsim draws, told by the file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// The format of `path` by its extension (`.png` or `.svg`, any case).
    pub fn of_path(path: &Path) -> Result<Self, PlotError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(PlotError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// How to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotOptions {
    /// Most neurons per population in the raster; larger populations are subsampled evenly.
    pub max_neurons: usize,
    /// Bin of the population rate [ms].
    pub rate_bin_ms: f64,
    /// Width of the image [px]; the height follows from the panels.
    pub width_px: u32,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            max_neurons: 200,
            rate_bin_ms: 5.0,
            width_px: 1200,
        }
    }
}

impl PlotOptions {
    fn validate(&self, window: Window) -> Result<(), PlotError> {
        if self.max_neurons == 0 {
            return Err(PlotError::InvalidOption {
                option: "--max-neurons",
                reason: "show at least 1 neuron per population".into(),
            });
        }
        check_bin("--rate-bin", self.rate_bin_ms, window)?;
        if !(300..=10_000).contains(&self.width_px) {
            return Err(PlotError::InvalidOption {
                option: "--width",
                reason: format!("between 300 and 10000 px (got {})", self.width_px),
            });
        }
        Ok(())
    }
}

/// What was drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotSummary {
    pub format: ImageFormat,
    pub width_px: u32,
    pub height_px: u32,
    /// The rasters: which neurons of each population were shown and how many marks they got.
    pub rasters: Vec<RasterSummary>,
    /// "population/variable" of each trace panel.
    pub traces: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RasterSummary {
    /// "E: 200 of 3,200 neurons shown".
    pub caption: String,
    pub shown: usize,
    pub n_neurons: u32,
    /// Spikes drawn (of the shown neurons, in the window).
    pub marks: usize,
}

/// Draws the figure of `file` over `window` into `path` (PNG or SVG, by its extension),
/// replacing any file there.
pub fn plot_file(
    file: &OutputFile,
    window: Window,
    path: &Path,
    options: &PlotOptions,
) -> Result<PlotSummary, PlotError> {
    let format = ImageFormat::of_path(path)?;
    let figure = Figure::from_file(file, window, options)?;
    register_font()?;
    let size = (options.width_px, draw::height(&figure));
    match format {
        ImageFormat::Png => {
            // plotters draws into an RGB buffer and the PNG is encoded here, so the compression
            // can be chosen: plotters' own writer uses the image crate's fast default.
            let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
            draw::draw(
                &BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area(),
                &figure,
            )
            .map_err(|e| draw_error(path, e))?;
            write_png(path, size, &pixels).map_err(|e| draw_error(path, e))?;
        }
        ImageFormat::Svg => {
            draw::draw(&SVGBackend::new(path, size).into_drawing_area(), &figure)
                .map_err(|e| draw_error(path, e))?;
        }
    }
    Ok(PlotSummary {
        format,
        width_px: size.0,
        height_px: size.1,
        rasters: figure
            .rasters
            .iter()
            .map(|r| RasterSummary {
                caption: r.caption(),
                shown: r.shown.len(),
                n_neurons: r.n_neurons,
                marks: r.marks.len(),
            })
            .collect(),
        traces: figure
            .traces
            .iter()
            .map(|t| format!("{}/{}", t.population, t.variable))
            .collect(),
    })
}

fn draw_error(path: &Path, error: impl std::fmt::Display) -> PlotError {
    PlotError::Draw {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Writes 8-bit RGB `pixels` as a PNG, compressed as well as the format allows.
fn write_png(path: &Path, (width, height): (u32, u32), pixels: &[u8]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

/// Text is drawn with DejaVu Sans, built into the binary, so figures look the same on every
/// machine and need no system fonts.
fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    ok.then_some(()).ok_or(PlotError::Font)
}
