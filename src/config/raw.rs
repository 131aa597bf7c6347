//! The config file as written: serde structs mirroring the TOML tables, each value kept with its
//! position in the file (`Spanned`) so that validation can point at it.
//!
//! Only the shape is checked here: unknown keys (`deny_unknown_fields`) and value types. Required
//! keys are `Option`s, so that `validate` can report every missing key in one go, with the
//! meaning of each; units, ranges and cross-references are checked there too.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::units::{format_number, parse_quantity, Dimension, QuantityError};

/// A whole config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub simulation: Option<Spanned<RawSimulation>>,
    #[serde(default)]
    pub population: Vec<Spanned<RawPopulation>>,
    #[serde(default)]
    pub projection: Vec<Spanned<RawProjection>>,
    #[serde(default)]
    pub stimulus: Vec<Spanned<RawStimulus>>,
    /// `None` when the file has no `[[record]]`: then the spikes of every population are kept.
    pub record: Option<Vec<Spanned<RawRecord>>>,
}

/// `[simulation]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub dt: Option<Spanned<Quantity>>,
    pub t_stop: Option<Spanned<Quantity>>,
    pub seed: Option<Spanned<i64>>,
    pub backend: Option<Spanned<String>>,
    pub threads: Option<Spanned<i64>>,
}

/// `[[population]]`, with the `iaf_cond_exp` parameters under NEST's names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    pub name: Option<Spanned<String>>,
    pub n: Option<Spanned<i64>>,
    pub model: Option<Spanned<String>>,
    #[serde(rename = "C_m")]
    pub c_m: Option<Spanned<Quantity>>,
    #[serde(rename = "g_L")]
    pub g_l: Option<Spanned<Quantity>>,
    #[serde(rename = "E_L")]
    pub e_l: Option<Spanned<Quantity>>,
    #[serde(rename = "V_th")]
    pub v_th: Option<Spanned<Quantity>>,
    #[serde(rename = "V_reset")]
    pub v_reset: Option<Spanned<Quantity>>,
    pub t_ref: Option<Spanned<Quantity>>,
    #[serde(rename = "E_ex")]
    pub e_ex: Option<Spanned<Quantity>>,
    #[serde(rename = "E_in")]
    pub e_in: Option<Spanned<Quantity>>,
    pub tau_syn_ex: Option<Spanned<Quantity>>,
    pub tau_syn_in: Option<Spanned<Quantity>>,
    #[serde(rename = "I_e")]
    pub i_e: Option<Spanned<Quantity>>,
    #[serde(rename = "V_m")]
    pub v_m: Option<Spanned<RawDistribution>>,
    pub g_ex: Option<Spanned<RawDistribution>>,
    pub g_in: Option<Spanned<RawDistribution>>,
}

/// `[[projection]]`; `indegree`, `outdegree`, `N` and `p` belong to one rule each.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProjection {
    pub name: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub receptor: Option<Spanned<String>>,
    pub weight: Option<Spanned<RawDistribution>>,
    pub delay: Option<Spanned<RawDistribution>>,
    pub rule: Option<Spanned<String>>,
    pub indegree: Option<Spanned<i64>>,
    pub outdegree: Option<Spanned<i64>>,
    #[serde(rename = "N")]
    pub n: Option<Spanned<i64>>,
    pub p: Option<Spanned<f64>>,
    pub allow_autapses: Option<Spanned<bool>>,
    pub allow_multapses: Option<Spanned<bool>>,
    pub storage: Option<Spanned<String>>,
}

/// `[[stimulus]]`: the keys of every generator; `validate` rejects those that do not belong to
/// the chosen `model`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStimulus {
    pub name: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub neurons: Option<Spanned<String>>,
    pub rate: Option<Spanned<Quantity>>,
    pub start: Option<Spanned<Quantity>>,
    pub stop: Option<Spanned<Quantity>>,
    pub weight: Option<Spanned<Quantity>>,
    pub receptor: Option<Spanned<String>>,
    pub delay: Option<Spanned<Quantity>>,
    pub spike_times: Option<Spanned<Vec<Spanned<Quantity>>>>,
    pub amplitude: Option<Spanned<Quantity>>,
    pub amplitude_times: Option<Spanned<Vec<Spanned<Quantity>>>>,
    pub amplitude_values: Option<Spanned<Vec<Spanned<Quantity>>>>,
}

/// `[[record]]`: the keys of both recorders; `validate` rejects those of the other model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    pub model: Option<Spanned<String>>,
    pub populations: Option<Spanned<Vec<Spanned<String>>>>,
    pub population: Option<Spanned<String>>,
    pub neurons: Option<Spanned<RawNeurons>>,
    pub record_from: Option<Spanned<Vec<Spanned<String>>>>,
    pub interval: Option<Spanned<Quantity>>,
}

/// A dimensional value as written: a bare number in lifsim's unit, or a string with a unit.
#[derive(Clone, Debug, PartialEq)]
pub enum Quantity {
    Number(f64),
    Text(String),
}

impl Quantity {
    /// The value in lifsim's unit for `dimension`.
    pub fn value(&self, dimension: Dimension) -> Result<f64, QuantityError> {
        match self {
            Quantity::Number(v) if v.is_finite() => Ok(*v),
            Quantity::Number(_) => Err(QuantityError::NotFinite),
            Quantity::Text(text) => parse_quantity(text, dimension),
        }
    }

    /// The value as the user wrote it, for messages: `-50` or `"-50 nS"`.
    pub fn as_written(&self) -> String {
        match self {
            Quantity::Number(v) => format_number(*v),
            Quantity::Text(text) => format!("\"{text}\""),
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

struct QuantityVisitor;

impl<'de> Visitor<'de> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or a string with a unit such as \"100 ms\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Ok(Quantity::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Ok(Quantity::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        Ok(Quantity::Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        Ok(Quantity::Text(v.to_string()))
    }
}

/// A value drawn per neuron or synapse: a constant, `{ uniform = [low, high] }` or
/// `{ normal = { mean = .., std = .. } }`.
#[derive(Clone, Debug, PartialEq)]
pub enum RawDistribution {
    Constant(Quantity),
    /// The bounds as written; `validate` checks there are two.
    Uniform(Vec<Spanned<Quantity>>),
    Normal {
        mean: Spanned<Quantity>,
        std: Spanned<Quantity>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNormal {
    mean: Spanned<Quantity>,
    std: Spanned<Quantity>,
}

const DISTRIBUTIONS: &[&str] = &["uniform", "normal"];

impl<'de> Deserialize<'de> for RawDistribution {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DistributionVisitor)
    }
}

struct DistributionVisitor;

impl<'de> Visitor<'de> for DistributionVisitor {
    type Value = RawDistribution;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a number, a string with a unit, { uniform = [low, high] } or \
             { normal = { mean = .., std = .. } }",
        )
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        QuantityVisitor.visit_i64(v).map(RawDistribution::Constant)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        QuantityVisitor.visit_u64(v).map(RawDistribution::Constant)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        QuantityVisitor.visit_f64(v).map(RawDistribution::Constant)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        QuantityVisitor.visit_str(v).map(RawDistribution::Constant)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let distribution = match map.next_key::<String>()?.as_deref() {
            Some("uniform") => RawDistribution::Uniform(map.next_value()?),
            Some("normal") => {
                let RawNormal { mean, std } = map.next_value()?;
                RawDistribution::Normal { mean, std }
            }
            Some(other) => return Err(de::Error::unknown_field(other, DISTRIBUTIONS)),
            None => {
                return Err(de::Error::custom(
                    "an empty table is not a distribution; expected { uniform = [low, high] } \
                     or { normal = { mean = .., std = .. } }",
                ))
            }
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "a distribution table holds exactly one of `uniform` or `normal`",
            ));
        }
        Ok(distribution)
    }
}

/// A multimeter's neurons: a slice string such as `"0:10"` or a list of indices.
#[derive(Clone, Debug, PartialEq)]
pub enum RawNeurons {
    Slice(String),
    List(Vec<Spanned<i64>>),
}

impl<'de> Deserialize<'de> for RawNeurons {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NeuronsVisitor)
    }
}

struct NeuronsVisitor;

impl<'de> Visitor<'de> for NeuronsVisitor {
    type Value = RawNeurons;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a slice such as \"0:10\" or a list of neuron indices such as [0, 5, 9]")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawNeurons::Slice(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::new();
        while let Some(index) = seq.next_element()? {
            list.push(index);
        }
        Ok(RawNeurons::List(list))
    }
}
