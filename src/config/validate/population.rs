//! `[[population]]`: names, sizes, `iaf_cond_exp` parameters (checked by NEST's rules in
//! [`IafCondExpParams::validate`]) and initial values.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use crate::config::error::table_label;
use crate::config::raw::RawPopulation;
use crate::config::spec::{Distribution, PopulationSpec};
use crate::config::units::Dimension;
use crate::model::IafCondExpParams;

use super::{DistributionRules, Problem, Table, Validator};

/// What later tables need to know about a population.
pub(super) struct PopulationEntry {
    pub(super) name: Option<String>,
    /// `None` if `n` was invalid.
    pub(super) n: Option<u32>,
    pub(super) spec: Option<PopulationSpec>,
}

const NEURON_MODELS: [&str; 1] = ["iaf_cond_exp"];

impl Validator {
    pub(super) fn populations(&mut self, raws: &[Spanned<RawPopulation>]) -> Vec<PopulationEntry> {
        if raws.is_empty() {
            self.report(
                0..0,
                "population".into(),
                Problem::new(
                    "the config defines no population",
                    "add a [[population]] table with name = \"...\" and n = <number of neurons>",
                ),
            );
        }
        // Name -> the line that defines it.
        let mut defined: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::with_capacity(raws.len());
        for (index, raw) in raws.iter().enumerate() {
            let r = raw.get_ref();
            let name_field = |k: &str| match k {
                "name" => r.name.as_ref().map(|n| n.get_ref().clone()),
                _ => None,
            };
            let t = Table {
                label: table_label("population", index, name_field),
                span: raw.span(),
            };
            let name = self.population_name(&t, r, &mut defined);
            let n = self
                .required(&t, "n", &r.n, "the number of neurons, at least 1")
                .and_then(|n| {
                    let help = "the number of neurons, from 1 to 4294967295";
                    self.integer(&t, "n", n, 1, i64::from(u32::MAX), help)
                })
                .map(|n| n as u32);
            let model_ok = r
                .model
                .as_ref()
                .is_none_or(|m| self.choice(&t, "model", m, &NEURON_MODELS).is_some());
            let spec = self.population_spec(&t, r);
            entries.push(PopulationEntry {
                spec: (|| {
                    let mut spec = spec?;
                    spec.name = name.clone()?;
                    spec.n = n?;
                    model_ok.then_some(spec)
                })(),
                name,
                n,
            });
        }
        entries
    }

    /// A valid name, not yet in `defined` (name -> line).
    fn population_name(
        &mut self,
        t: &Table,
        r: &RawPopulation,
        defined: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let meaning = "a unique name of letters, digits, '_' and '-'";
        let name = self.required(t, "name", &r.name, meaning)?;
        let text = name.get_ref();
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if text.is_empty() || !text.chars().all(allowed) {
            return self.fail(
                t,
                "name",
                name.span(),
                format!("\"{text}\" is not a valid population name"),
                "use letters, digits, '_' and '-' only (the name becomes an HDF5 group)",
            );
        }
        let line = self.line_of(name.span().start);
        if let Some(first) = defined.insert(text.clone(), line) {
            return self.fail(
                t,
                "name",
                name.span(),
                format!("a population named \"{text}\" is already defined on line {first}"),
                "give each population its own name",
            );
        }
        Some(text.clone())
    }

    /// Parameters and initial state of a population (name and n are filled in by the caller).
    fn population_spec(&mut self, t: &Table, r: &RawPopulation) -> Option<PopulationSpec> {
        let mut params = IafCondExpParams::default();
        let mut all_read = true;
        let mut given: Vec<(&str, Range<usize>)> = Vec::new();
        for (key, dimension, raw, field) in [
            ("C_m", Dimension::Capacitance, &r.c_m, &mut params.c_m),
            ("g_L", Dimension::Conductance, &r.g_l, &mut params.g_l),
            ("E_L", Dimension::Voltage, &r.e_l, &mut params.e_l),
            ("V_th", Dimension::Voltage, &r.v_th, &mut params.v_th),
            (
                "V_reset",
                Dimension::Voltage,
                &r.v_reset,
                &mut params.v_reset,
            ),
            ("t_ref", Dimension::Time, &r.t_ref, &mut params.t_ref),
            ("E_ex", Dimension::Voltage, &r.e_ex, &mut params.e_ex),
            ("E_in", Dimension::Voltage, &r.e_in, &mut params.e_in),
            (
                "tau_syn_ex",
                Dimension::Time,
                &r.tau_syn_ex,
                &mut params.tau_syn_ex,
            ),
            (
                "tau_syn_in",
                Dimension::Time,
                &r.tau_syn_in,
                &mut params.tau_syn_in,
            ),
            ("I_e", Dimension::Current, &r.i_e, &mut params.i_e),
        ] {
            if let Some(q) = raw {
                given.push((key, q.span()));
                match self.quantity(t, key, q, dimension) {
                    Some(v) => *field = v,
                    None => all_read = false,
                }
            }
        }
        let params_ok = all_read && self.nest_checks(t, &params, &given);
        let conductance = DistributionRules {
            no_normal: Some("a normal draw could give a negative conductance"),
            non_negative: true,
        };
        let voltage = DistributionRules {
            no_normal: None,
            non_negative: false,
        };
        let v_m = match &r.v_m {
            Some(d) => self.distribution(t, "V_m", d, Dimension::Voltage, voltage),
            None => Some(Distribution::Constant(params.e_l)),
        };
        let mut conductance_or_zero = |key: &str, d: &Option<Spanned<_>>| match d {
            Some(d) => self.distribution(t, key, d, Dimension::Conductance, conductance),
            None => Some(Distribution::Constant(0.0)),
        };
        let g_ex = conductance_or_zero("g_ex", &r.g_ex);
        let g_in = conductance_or_zero("g_in", &r.g_in);
        Some(PopulationSpec {
            name: String::new(),
            n: 0,
            params: params_ok.then_some(params)?,
            v_m: v_m?,
            g_ex: g_ex?,
            g_in: g_in?,
        })
    }

    /// NEST's checks of the parameters ([`IafCondExpParams::validate`]), reported at the
    /// parameter if the file sets it (`given`: key and span), else at the table.
    fn nest_checks(
        &mut self,
        t: &Table,
        params: &IafCondExpParams,
        given: &[(&str, Range<usize>)],
    ) -> bool {
        let Err(e) = params.validate() else {
            return true;
        };
        let span_of = |key: &str| {
            given
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, s)| s.clone())
        };
        // V_reset >= V_th may come from a V_th set against the default V_reset.
        let (key, span) = match (span_of(e.param), span_of("V_th")) {
            (Some(span), _) => (e.param, span),
            (None, Some(span)) if e.param == "V_reset" => ("V_th", span),
            (None, _) => (e.param, t.span.clone()),
        };
        let help = if e.param == "V_reset" {
            "V_reset must stay below V_th (NEST's defaults: V_reset = -60 mV, V_th = -55 mV)"
                .to_string()
        } else {
            format!(
                "{} is checked as NEST checks it; see docs/config.md for its unit",
                e.param
            )
        };
        self.report(span, t.key(key), Problem::new(e.message, help));
        false
    }
}
