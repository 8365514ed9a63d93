//! What to run: the options of a load run and the checks they must pass before anything
//! connects.

use std::time::Duration;

use rumqttc::QoS;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `mqtt://host:port[?…]`; `client_id` is replaced per connection.
    pub url: String,
    pub devices: usize,
    /// Messages per second, all connections together.
    pub rate: f64,
    pub readings_per_msg: usize,
    pub qos: QoS,
    pub duration: Duration,
    /// Every M-th message breaches (0 = never).
    pub alert_every: u64,
    pub connections: usize,
    pub ws: Option<String>,
    pub token: Option<String>,
    /// `http://host:port` of the hub, for `/metrics`.
    pub http: Option<String>,
    /// How long to wait after sending for acks, alerts and the hub to catch up.
    pub grace: Duration,
    /// MQTT subscriber connections that receive the load back from the broker and measure
    /// publish → subscriber latency (0 = none; more than 1 share `$share/iochub-load/…`).
    pub subscribers: usize,
    /// The WebSocket sends SenML packs (a Node-RED flow's `websocket out`), not hub frames: no
    /// token, no subscription, every pack whose first value breaches is an alert.
    pub ws_senml: bool,
    /// The hub counter whose growth is `hub_readings_per_s`.
    pub hub_metric: String,
    /// Print a progress line every second on stderr.
    pub progress: bool,
}

/// An option a run cannot start with.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptionsError {
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
    #[error("--rate must be a positive number")]
    Rate,
    #[error("--duration must be positive")]
    Duration,
    #[error("--ws needs --token (or --ws-senml)")]
    WsWithoutToken,
}

impl LoadOptions {
    /// The first option that makes the run impossible.
    pub fn check(&self) -> Result<(), OptionsError> {
        if self.devices == 0 {
            return Err(OptionsError::Zero("devices"));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(OptionsError::Rate);
        }
        if self.readings_per_msg == 0 {
            return Err(OptionsError::Zero("readings-per-msg"));
        }
        if self.connections == 0 {
            return Err(OptionsError::Zero("connections"));
        }
        if self.duration.is_zero() {
            return Err(OptionsError::Duration);
        }
        if self.ws.is_some() && self.token.is_none() && !self.ws_senml {
            return Err(OptionsError::WsWithoutToken);
        }
        Ok(())
    }

    /// The devices of connection `c`: every `connections`-th index from `c`.
    pub fn devices_of(&self, c: usize) -> Vec<usize> {
        (c..self.devices).step_by(self.connections.max(1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> LoadOptions {
        LoadOptions {
            url: "mqtt://127.0.0.1:1883".into(),
            devices: 10,
            rate: 100.0,
            readings_per_msg: 10,
            qos: QoS::AtLeastOnce,
            duration: Duration::from_secs(1),
            alert_every: 0,
            connections: 3,
            ws: None,
            token: None,
            http: None,
            grace: Duration::from_secs(1),
            progress: false,
            subscribers: 0,
            ws_senml: false,
            hub_metric: "iochub_ingest_readings_total".into(),
        }
    }

    #[test]
    fn impossible_options_are_refused_by_name() {
        assert_eq!(valid().check(), Ok(()));
        let refused = |edit: fn(&mut LoadOptions)| {
            let mut o = valid();
            edit(&mut o);
            o.check().expect_err("refused").to_string()
        };
        assert_eq!(refused(|o| o.devices = 0), "--devices must be at least 1");
        assert_eq!(
            refused(|o| o.rate = f64::NAN),
            "--rate must be a positive number"
        );
        assert_eq!(
            refused(|o| o.rate = -1.0),
            "--rate must be a positive number"
        );
        assert_eq!(
            refused(|o| o.readings_per_msg = 0),
            "--readings-per-msg must be at least 1"
        );
        assert_eq!(
            refused(|o| o.connections = 0),
            "--connections must be at least 1"
        );
        assert_eq!(
            refused(|o| o.duration = Duration::ZERO),
            "--duration must be positive"
        );
        assert_eq!(
            refused(|o| o.ws = Some("ws://x/ws".into())),
            "--ws needs --token (or --ws-senml)"
        );
        let mut o = valid();
        o.ws = Some("ws://x/ws".into());
        o.ws_senml = true;
        assert_eq!(o.check(), Ok(()), "a SenML WebSocket needs no token");
    }

    #[test]
    fn devices_are_dealt_over_the_connections() {
        let o = valid();
        assert_eq!(o.devices_of(0), [0, 3, 6, 9]);
        assert_eq!(o.devices_of(2), [2, 5, 8]);
        let mut few = valid();
        few.devices = 2;
        assert!(
            few.devices_of(2).is_empty(),
            "more connections than devices"
        );
    }
}
