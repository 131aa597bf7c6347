//! Drawing a [`Figure`] with plotters, on any of its backends (PNG and SVG here): the raster on
//! top, the population rates below it, then one panel per recorded trace, on one time axis.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{Figure, TracePanel};

/// Colours of the populations, in the file's order (E red and I blue in the usual two-population
/// configs), then cycling.
const PALETTE: [RGBColor; 6] = [
    RGBColor(200, 40, 40),
    RGBColor(30, 90, 200),
    RGBColor(40, 150, 60),
    RGBColor(230, 130, 20),
    RGBColor(130, 60, 170),
    RGBColor(120, 80, 50),
];

/// Heights of the panels [px].
pub const RASTER_HEIGHT: u32 = 420;
pub const RATE_HEIGHT: u32 = 220;
pub const TRACE_HEIGHT: u32 = 200;

const CAPTION_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 15;
const FONT: FontFamily = FontFamily::SansSerif;

pub fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// The figure's height [px] for its panels.
pub fn height(figure: &Figure) -> u32 {
    let spikes = if figure.rasters.is_empty() {
        0
    } else {
        RASTER_HEIGHT + RATE_HEIGHT
    };
    spikes + TRACE_HEIGHT * figure.traces.len() as u32
}

/// A tick label: as short as the value allows ("100", "0.5", "-62.5").
fn tick(value: &f64) -> String {
    let rounded = (value * 1e6).round() / 1e6;
    // Adding 0 turns -0, which would print as "-0", into 0.
    format!("{}", rounded + 0.0)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let mut breaks = Vec::new();
    let mut y = 0;
    if !figure.rasters.is_empty() {
        y += RASTER_HEIGHT;
        breaks.push(y);
        y += RATE_HEIGHT;
        breaks.push(y);
    }
    for _ in 1..figure.traces.len() {
        y += TRACE_HEIGHT;
        breaks.push(y);
    }
    let mut panels = root
        .split_by_breakpoints::<u32, u32, _, _>([], breaks)
        .into_iter();
    let n_panels = panels.len();
    let mut drawn = 0;
    let mut is_last = || {
        drawn += 1;
        drawn == n_panels
    };
    if !figure.rasters.is_empty() {
        if let (Some(raster), Some(rate)) = (panels.next(), panels.next()) {
            draw_raster(&raster, figure, is_last())?;
            draw_rates(&rate, figure, is_last())?;
        }
    }
    for (panel, traces) in panels.zip(&figure.traces) {
        draw_traces(&panel, figure, traces, is_last())?;
    }
    root.present()
}

fn caption_style() -> TextStyle<'static> {
    (FONT, CAPTION_SIZE).into_font().into()
}

fn label_style() -> TextStyle<'static> {
    (FONT, LABEL_SIZE).into_font().into()
}

/// A panel over the figure's time window, with `y` on its vertical axis; room below for the time
/// axis's title where `x_desc`.
fn time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: String,
    y: std::ops::Range<f64>,
    x_desc: bool,
    figure: &Figure,
) -> Result<TimeChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .caption(caption, caption_style())
        .margin(10)
        .margin_right(30)
        .x_label_area_size(if x_desc { 40 } else { 25 })
        .y_label_area_size(70)
        .build_cartesian_2d(figure.window.from_ms..figure.window.to_ms, y)
}

/// A panel of `time_chart`.
type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The light grid and labelled axes of a panel of lines (rates, traces).
fn draw_line_mesh<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    y_desc: String,
    x_desc: bool,
) -> DrawResult<DB> {
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .max_light_lines(0)
        .bold_line_style(BLACK.mix(0.08))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(label_style())
        .axis_desc_style(label_style());
    if x_desc {
        mesh.x_desc("time [ms]");
    }
    mesh.draw()
}

/// Spikes as dots, one band of rows per population, the first population on top.
fn draw_raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_desc: bool,
) -> DrawResult<DB> {
    let rows: u32 = figure.rasters.iter().map(|r| r.shown.len() as u32).sum();
    let captions: Vec<String> = figure.rasters.iter().map(|r| r.caption()).collect();
    let mut chart = time_chart(
        area,
        format!("Spikes ({})", captions.join("; ")),
        0.0..f64::from(rows.max(1)),
        x_desc,
        figure,
    )?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .y_labels(0)
        .x_label_formatter(&tick)
        .label_style(label_style())
        .axis_desc_style(label_style());
    if x_desc {
        mesh.x_desc("time [ms]");
    }
    mesh.draw()?;

    // Dots that stay visible in a dense raster but do not merge in a sparse one.
    let radius = if rows > 100 { 1 } else { 2 };
    let mut top = rows;
    let base = area.get_base_pixel();
    for (index, raster) in figure.rasters.iter().enumerate() {
        let band = raster.shown.len() as u32;
        let row_y = move |row: u32| f64::from(top - row) - 0.5;
        let style = colour(index).filled();
        chart.draw_series(
            raster
                .marks
                .iter()
                .map(|&(t, row)| Circle::new((t, row_y(row)), radius, style)),
        )?;
        if top < rows {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![
                    (figure.window.from_ms, f64::from(top)),
                    (figure.window.to_ms, f64::from(top)),
                ],
                BLACK.mix(0.4),
            )))?;
        }
        // The population's name in the label area, level with the middle of its band.
        let (x, y) = chart.backend_coord(&(
            figure.window.from_ms,
            f64::from(top) - f64::from(band) / 2.0,
        ));
        area.draw(&Text::new(
            raster.population.clone(),
            (x - base.0 - 10, y - base.1),
            label_style()
                .color(&colour(index))
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        top -= band;
    }
    Ok(())
}

/// The population rate of each population, as steps over its bins.
fn draw_rates<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_desc: bool,
) -> DrawResult<DB> {
    let peak = figure
        .rasters
        .iter()
        .flat_map(|r| r.rate_hz.iter().copied())
        .fold(0.0, f64::max);
    let mut chart = time_chart(
        area,
        format!(
            "Population rate ({} ms bins, all neurons)",
            figure.rate_bin_ms
        ),
        0.0..(peak * 1.1).max(1.0),
        x_desc,
        figure,
    )?;
    draw_line_mesh(&mut chart, "rate [Hz]".to_string(), x_desc)?;
    for (index, raster) in figure.rasters.iter().enumerate() {
        let from = figure.window.from_ms;
        let bin = figure.rate_bin_ms;
        let steps = raster.rate_hz.iter().enumerate().flat_map(|(b, &rate)| {
            let start = from + b as f64 * bin;
            [(start, rate), (start + bin, rate)]
        });
        let style = colour(index).stroke_width(1);
        chart
            .draw_series(LineSeries::new(steps, style))?
            .label(raster.population.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(label_style())
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()
}

/// The recorded traces of one (population, variable): one line per neuron, in shades of the
/// population's colour.
fn draw_traces<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    panel: &TracePanel,
    x_desc: bool,
) -> DrawResult<DB> {
    let values = || {
        panel
            .lines
            .iter()
            .flat_map(|(_, s)| s.iter().map(|&(_, v)| v))
    };
    let low = values().fold(f64::INFINITY, f64::min);
    let high = values().fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if low.is_finite() && high > low {
        let pad = 0.05 * (high - low);
        (low - pad, high + pad)
    } else if low.is_finite() {
        (low - 1.0, low + 1.0)
    } else {
        (0.0, 1.0)
    };
    let mut chart = time_chart(area, panel.caption(), low..high, x_desc, figure)?;
    draw_line_mesh(
        &mut chart,
        format!("{} [{}]", panel.variable, panel.units),
        x_desc,
    )?;
    let base = colour(panel.colour);
    let n = panel.lines.len().max(1);
    for (i, (_, samples)) in panel.lines.iter().enumerate() {
        // Lighter shades for later neurons, never lighter than halfway to white.
        let shade = 0.5 * i as f64 / n as f64;
        let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * shade) as u8;
        let style = RGBColor(mix(base.0), mix(base.1), mix(base.2)).stroke_width(1);
        chart.draw_series(LineSeries::new(samples.iter().copied(), style))?;
    }
    Ok(())
}
