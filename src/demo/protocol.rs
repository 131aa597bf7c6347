//! The messages between the page and the server: JSON text over the WebSocket, one object per
//! message, tagged by `"type"`.
//!
//! From the page ([`ClientMessage`]), e.g.
//! ```json
//! {"type": "spike"}
//! {"type": "set_param", "name": "g_L", "value": 20.0}
//! {"type": "set_slowdown", "view": "neuron", "factor": 100}
//! {"type": "network_start"}
//! ```
//! Unknown types, unknown or missing fields, wrong types and values out of range are answered
//! with `{"type": "error", "message": "..."}`; the connection stays open.
//!
//! From the server ([`ServerMessage`]): `hello` once, then `neuron` and `network` frames about
//! 30 times a second, and replies (`input_spike`, `params`, `slowdown`, `network_info`, `error`).

use serde::{Deserialize, Serialize};

use super::network::{NetworkFrame, NetworkInfo};
use super::two_neurons::{InputSpike, Param, ParamInfo, ParamValues, Trace};

/// Longest message the page may send [bytes]; the page's longest is under 100.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Which view a setting is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// The two-neuron view.
    Neuron,
    /// The network view.
    Network,
}

/// What the page can ask for. Variants without data are written `Spike {}`, not `Spike`: serde
/// checks for unknown fields in struct variants only, and `{"type": "spike", "x": 1}` must be
/// refused like any other message with a field too many.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// The input neuron fires now.
    Spike {},
    /// Sets one slider of the two-neuron view.
    SetParam {
        name: Param,
        value: f64,
    },
    /// Every slider back to its default.
    ResetParams {},
    /// Time runs `factor` times slower than real time in `view`.
    SetSlowdown {
        view: View,
        factor: f64,
    },
    /// Builds the network if needed and runs it.
    NetworkStart {},
    NetworkStop {},
    /// Plays the network config's kick stimulus again, and runs.
    NetworkKick {},
}

/// A message from the page that is not one of [`ClientMessage`].
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("message of {0} bytes is too long (at most {MAX_MESSAGE_BYTES})")]
    TooLong(usize),
    #[error("bad message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses and checks the shape of one message; values are checked where they are used.
pub fn parse(text: &str) -> Result<ClientMessage, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLong(text.len()));
    }
    Ok(serde_json::from_str(text)?)
}

/// Fixed parameters of the output neuron the page needs to scale its drawing [mV].
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FixedParams {
    #[serde(rename = "E_L")]
    pub e_l: f64,
    #[serde(rename = "V_reset")]
    pub v_reset: f64,
    #[serde(rename = "E_ex")]
    pub e_ex: f64,
    #[serde(rename = "C_m")]
    pub c_m: f64,
}

/// Slowdown of each view (times slower than real time) and the allowed range.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Slowdowns {
    pub neuron: f64,
    pub network: f64,
    pub min: f64,
    pub max: f64,
}

/// A frame of the two-neuron view: the samples since the last frame and the state now.
#[derive(Clone, Debug, Serialize)]
pub struct NeuronFrame<'a> {
    /// Time now [ms].
    pub t_ms: f64,
    pub trace: &'a Trace,
    /// State now.
    pub v_m: f32,
    pub g_ex: f32,
    pub refractory_ms: f64,
    /// Output spikes so far.
    pub spikes: u64,
}

/// What the server sends.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    Hello {
        lifsim_version: &'static str,
        dt_ms: f64,
        params: &'a [ParamInfo],
        values: ParamValues,
        fixed: FixedParams,
        slowdown: Slowdowns,
    },
    Neuron(NeuronFrame<'a>),
    InputSpike(InputSpike),
    /// The sliders now, after a change (or a refused change).
    Params {
        values: ParamValues,
    },
    Slowdown {
        view: View,
        factor: f64,
    },
    NetworkInfo(&'a NetworkInfo),
    Network(&'a NetworkFrame),
    Error {
        message: String,
    },
}

impl ServerMessage<'_> {
    /// The JSON text of the message.
    pub fn to_json(&self) -> String {
        // Every type here serialises to JSON: string keys, no failing Serialize impls.
        serde_json::to_string(self).expect("server messages serialise to JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_messages_parse() {
        assert_eq!(
            parse(r#"{"type":"spike"}"#).unwrap(),
            ClientMessage::Spike {}
        );
        assert_eq!(
            parse(r#"{"type":"set_param","name":"g_L","value":20}"#).unwrap(),
            ClientMessage::SetParam {
                name: Param::GL,
                value: 20.0
            }
        );
        assert_eq!(
            parse(r#"{"type":"set_slowdown","view":"network","factor":10.5}"#).unwrap(),
            ClientMessage::SetSlowdown {
                view: View::Network,
                factor: 10.5
            }
        );
        assert_eq!(
            parse(r#"{"type":"network_kick"}"#).unwrap(),
            ClientMessage::NetworkKick {}
        );
    }

    #[test]
    fn bad_messages_are_errors_that_say_what_is_wrong() {
        let cases = [
            ("", "EOF"),
            ("not json", "expected"),
            ("[1,2]", "type"),
            (r#"{"type":"explode"}"#, "unknown variant `explode`"),
            (r#"{"type":"spike","force":3}"#, "unknown field `force`"),
            (
                r#"{"type":"set_param","name":"g_L"}"#,
                "missing field `value`",
            ),
            (
                r#"{"type":"set_param","name":"C_m","value":1}"#,
                "unknown variant `C_m`",
            ),
            (
                r#"{"type":"set_param","name":"g_L","value":"20"}"#,
                "invalid type",
            ),
            (
                r#"{"type":"set_param","name":"g_L","value":20,"unit":"nS"}"#,
                "unknown field `unit`",
            ),
            (
                r#"{"type":"set_slowdown","view":"both","factor":1}"#,
                "unknown variant",
            ),
            (r#"{"kind":"spike"}"#, "missing field `type`"),
        ];
        for (text, expected) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text:?}: {e:?} lacks {expected:?}");
        }
        let long = format!(r#"{{"type":"spike","pad":"{}"}}"#, "x".repeat(5000));
        assert!(matches!(parse(&long), Err(ProtocolError::TooLong(_))));
    }

    #[test]
    fn server_messages_are_tagged_json() {
        let json = ServerMessage::Error {
            message: "no".to_string(),
        }
        .to_json();
        assert_eq!(json, r#"{"type":"error","message":"no"}"#);
        let json = ServerMessage::Params {
            values: ParamValues::default(),
        }
        .to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["type"], "params");
        assert_eq!(v["values"]["g_L"], 16.6667);
        assert_eq!(v["values"]["V_th"], -55.0);
        let trace = Trace {
            first_t_ms: 0.1,
            v_m: vec![-70.0],
            g_ex: vec![0.0],
            ..Trace::default()
        };
        let json = ServerMessage::Neuron(NeuronFrame {
            t_ms: 0.1,
            trace: &trace,
            v_m: -70.0,
            g_ex: 0.0,
            refractory_ms: 0.0,
            spikes: 0,
        })
        .to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["type"], "neuron");
        assert_eq!(v["trace"]["first_t_ms"], 0.1);
        assert_eq!(v["trace"]["v_m"][0], -70.0);
        assert_eq!(v["v_m"], -70.0);
    }
}
