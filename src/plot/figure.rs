//! What a figure shows, taken from an output file: which neurons the raster shows, the binned
//! population rates, the traces. No drawing here.

use crate::analysis::{population_rate_hz, population_trains, Window};
use crate::record::OutputFile;

use super::{PlotError, PlotOptions};

/// Most traces drawn per report; a caption says when there are more.
pub const MAX_TRACES: usize = 8;

/// Everything to draw, in data units (ms, Hz, mV, nS).
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub window: Window,
    /// One per population whose spikes the file holds, in the file's order; its index is its
    /// colour.
    pub rasters: Vec<Raster>,
    pub rate_bin_ms: f64,
    /// One panel per report (population, variable).
    pub traces: Vec<TracePanel>,
}

/// The raster of one population.
#[derive(Clone, Debug, PartialEq)]
pub struct Raster {
    pub population: String,
    pub n_neurons: u32,
    /// The node ids shown, increasing; row i of the band shows `shown[i]`.
    pub shown: Vec<u32>,
    /// One mark per spike of a shown neuron in the window: (time [ms], row in the band).
    pub marks: Vec<(f64, u32)>,
    /// Population rate [Hz] of all `n_neurons` in bins of `Figure::rate_bin_ms` from the start
    /// of the window.
    pub rate_hz: Vec<f64>,
}

impl Raster {
    /// "E: 200 of 3,200 neurons shown", "I: all 800 neurons" or "out: 1 neuron".
    pub fn caption(&self) -> String {
        if self.n_neurons == 1 {
            format!("{}: 1 neuron", self.population)
        } else if self.shown.len() < self.n_neurons as usize {
            format!(
                "{}: {} of {} neurons shown",
                self.population,
                crate::format::count(self.shown.len() as u64),
                crate::format::count(u64::from(self.n_neurons))
            )
        } else {
            format!(
                "{}: all {} neurons",
                self.population,
                crate::format::count(u64::from(self.n_neurons))
            )
        }
    }
}

/// Recorded traces of one state variable of one population.
#[derive(Clone, Debug, PartialEq)]
pub struct TracePanel {
    /// Index of the population among the rasters' colours (its order in the file).
    pub colour: usize,
    pub population: String,
    pub variable: String,
    /// "mV" or "nS".
    pub units: String,
    /// Neurons recorded in the file, of which the first [`MAX_TRACES`] are drawn.
    pub n_recorded: usize,
    /// (node id, samples (time [ms], value) in the window).
    pub lines: Vec<(u64, Vec<(f64, f64)>)>,
}

impl TracePanel {
    /// "V_m of E, neurons 0, 1, 2, 3" (and "8 of 40 recorded shown" when cut).
    pub fn caption(&self) -> String {
        let ids: Vec<String> = self.lines.iter().map(|(id, _)| id.to_string()).collect();
        let noun = if ids.len() == 1 { "neuron" } else { "neurons" };
        let mut caption = format!(
            "{} of {}, {noun} {}",
            self.variable,
            self.population,
            ids.join(", ")
        );
        if self.lines.len() < self.n_recorded {
            caption += &format!(
                " ({} of {} recorded shown)",
                self.lines.len(),
                self.n_recorded
            );
        }
        caption
    }
}

/// Up to `max` node ids of `0..n`, evenly spread (node floor(i n / max) for row i), so that a
/// subsample does not show only the first neurons (in COBA those got the kick).
pub fn shown_nodes(n: u32, max: usize) -> Vec<u32> {
    let n64 = u64::from(n);
    let max = max as u64;
    if n64 <= max {
        return (0..n).collect();
    }
    // i < max < n, so i * n / max < n fits u32.
    (0..max).map(|i| (i * n64 / max) as u32).collect()
}

impl Figure {
    pub fn from_file(
        file: &OutputFile,
        window: Window,
        options: &PlotOptions,
    ) -> Result<Self, PlotError> {
        options.validate(window)?;
        if file.spikes.is_empty() && file.reports.is_empty() {
            return Err(PlotError::Nothing);
        }
        let rasters: Vec<Raster> = population_trains(file, window)?
            .into_iter()
            .map(|p| {
                let shown = shown_nodes(p.n_neurons, options.max_neurons);
                let mut marks = Vec::new();
                for (row, &node) in shown.iter().enumerate() {
                    let row = row as u32;
                    marks.extend(p.trains.train(node as usize).iter().map(|&t| (t, row)));
                }
                Raster {
                    population: p.table.population.clone(),
                    n_neurons: p.n_neurons,
                    shown,
                    marks,
                    rate_hz: population_rate_hz(&p.trains, options.rate_bin_ms),
                }
            })
            .collect();

        let colour_of = |population: &str| {
            file.spikes
                .iter()
                .position(|t| t.population == population)
                .unwrap_or(file.spikes.len())
        };
        let traces = file
            .reports
            .iter()
            .map(|report| {
                let width = report.node_ids.len();
                let in_window: Vec<usize> = (0..report.n_samples)
                    .filter(|&i| {
                        let t = report.time_ms(i);
                        t >= window.from_ms && t <= window.to_ms
                    })
                    .collect();
                let lines = report
                    .node_ids
                    .iter()
                    .enumerate()
                    .take(MAX_TRACES)
                    .map(|(column, &node)| {
                        let samples = in_window
                            .iter()
                            .map(|&i| {
                                (
                                    report.time_ms(i),
                                    f64::from(report.data[i * width + column]),
                                )
                            })
                            .collect();
                        (node, samples)
                    })
                    .collect();
                TracePanel {
                    colour: colour_of(&report.population),
                    population: report.population.clone(),
                    variable: report.variable.clone(),
                    units: report.units.clone(),
                    n_recorded: width,
                    lines,
                }
            })
            .collect();
        Ok(Figure {
            window,
            rasters,
            rate_bin_ms: options.rate_bin_ms,
            traces,
        })
    }

    /// Marks in the raster, all populations together.
    pub fn n_marks(&self) -> usize {
        self.rasters.iter().map(|r| r.marks.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsamples_spread_over_the_population() {
        assert_eq!(shown_nodes(5, 10), [0, 1, 2, 3, 4]);
        assert_eq!(shown_nodes(10, 4), [0, 2, 5, 7]);
        let big = shown_nodes(3200, 200);
        assert_eq!(big.len(), 200);
        assert_eq!(big[1], 16);
        assert_eq!(*big.last().unwrap(), 3184);
        assert!(shown_nodes(7, 0).is_empty());
    }

    #[test]
    fn captions_say_what_is_shown() {
        let raster = Raster {
            population: "E".into(),
            n_neurons: 3200,
            shown: shown_nodes(3200, 200),
            marks: Vec::new(),
            rate_hz: Vec::new(),
        };
        assert_eq!(raster.caption(), "E: 200 of 3,200 neurons shown");
        let all = Raster {
            shown: shown_nodes(800, 1000),
            n_neurons: 800,
            ..raster
        };
        assert_eq!(all.caption(), "E: all 800 neurons");
        let one = Raster {
            shown: vec![0],
            n_neurons: 1,
            ..all
        };
        assert_eq!(one.caption(), "E: 1 neuron");
        assert_eq!(crate::format::count(1_234_567), "1,234,567");
    }
}
