//! Devices' MQTT accounts: who may connect to the broker and where each may publish.
//!
//! A device's username is its key; its password is random, shown once, and stored only as a
//! hash in Mosquitto's own `$7$` format (PBKDF2-SHA512), so the same hash serves the demo's
//! embedded broker and the `passwords` file `iochub mosquitto-auth` writes for a production
//! Mosquitto. The topic rule is one: a device publishes only under `ioc/{its key}/`, a gateway
//! also under the keys of the devices registered behind it; the hub's own account everywhere
//! under `ioc/`. [`MqttAccess`] is one immutable snapshot of that rule, swapped whole when a
//! credential or a gateway changes.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use arc_swap::ArcSwap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Sha512;
use subtle::ConstantTimeEq;

use crate::storage::{Store, StoreResult};

/// PBKDF2 rounds. Mosquitto's default (101): the passwords are 192 random bits, which no
/// number of rounds makes easier or harder to guess, and a reconnect storm stays cheap.
pub const ITERATIONS: u32 = 101;
const SALT_BYTES: usize = 12;
const HASH_BYTES: usize = 64;

/// Where devices publish: `ioc/{key}/…`.
pub const TOPIC_ROOT: &str = "ioc";

/// A new device password: 24 random bytes, URL-safe base64 (32 characters).
pub fn new_password() -> String {
    let mut bytes = [0u8; 24];
    // getrandom only fails when the OS has no entropy source at all; then refuse to go on.
    getrandom::fill(&mut bytes).expect("OS random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `$7${iterations}${salt}${hash}`, standard base64, as `mosquitto_passwd` writes it.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).expect("OS random source");
    hash_with(password, &salt, ITERATIONS)
}

fn hash_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; HASH_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out);
    format!(
        "$7${iterations}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(out)
    )
}

/// Whether `password` matches a `$7$` hash (in constant time; false for any other format).
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(""), Some("7"), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (
        iterations.parse::<u32>(),
        STANDARD.decode(salt),
        STANDARD.decode(expected),
    ) else {
        return false;
    };
    if iterations == 0 || iterations > 1_000_000 || expected.len() != HASH_BYTES {
        return false;
    }
    let mut out = [0u8; HASH_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, iterations, &mut out);
    out.ct_eq(&expected).into()
}

/// One account of the broker.
#[derive(Debug, Clone)]
struct Account {
    hash: String,
    /// The device keys it may publish for; `None` = anywhere under `ioc/` (the hub).
    publishes_for: Option<HashSet<String>>,
}

/// Who may connect and publish: built from the registry, then read by the broker on every
/// connect and publish without a lock.
#[derive(Debug, Clone, Default)]
pub struct MqttAccess {
    accounts: HashMap<String, Account>,
    hub: Option<String>,
}

impl MqttAccess {
    /// `credentials`: (device key, hash); `gateways`: (device key, the gateway it sits behind);
    /// `hub`: the hub's own (username, hash).
    pub fn new<'a>(
        credentials: impl IntoIterator<Item = (&'a str, &'a str)>,
        gateways: impl IntoIterator<Item = (&'a str, &'a str)>,
        hub: Option<(&str, &str)>,
    ) -> Self {
        let mut accounts: HashMap<String, Account> = credentials
            .into_iter()
            .map(|(key, hash)| {
                let own = HashSet::from([key.to_owned()]);
                let account = Account {
                    hash: hash.to_owned(),
                    publishes_for: Some(own),
                };
                (key.to_owned(), account)
            })
            .collect();
        for (device, gateway) in gateways {
            if let Some(Some(keys)) = accounts.get_mut(gateway).map(|a| a.publishes_for.as_mut()) {
                keys.insert(device.to_owned());
            }
        }
        if let Some((user, hash)) = hub {
            let account = Account {
                hash: hash.to_owned(),
                publishes_for: None,
            };
            accounts.insert(user.to_owned(), account);
        }
        MqttAccess {
            accounts,
            hub: hub.map(|(user, _)| user.to_owned()),
        }
    }

    /// A CONNECT: the password must match, and the client id must be the username, so that the
    /// client id names who publishes and nobody can take over another device's session.
    pub fn authenticate(&self, client_id: &str, username: &str, password: &str) -> bool {
        client_id == username
            && self
                .accounts
                .get(username)
                .is_some_and(|a| verify(password, &a.hash))
    }

    /// A PUBLISH (or a last will) of an authenticated client, whose client id is its username.
    pub fn may_publish(&self, client_id: &str, topic: &str) -> bool {
        let Some(account) = self.accounts.get(client_id) else {
            return false;
        };
        let Some(rest) = topic
            .strip_prefix(TOPIC_ROOT)
            .and_then(|t| t.strip_prefix('/'))
        else {
            return false;
        };
        match &account.publishes_for {
            None => true,
            Some(keys) => {
                let device = rest.split('/').next().unwrap_or("");
                keys.contains(device)
            }
        }
    }

    /// Mosquitto's `password_file`: `username:hash`, one per line, sorted.
    pub fn mosquitto_passwords(&self) -> String {
        let mut users: Vec<(&String, &Account)> = self.accounts.iter().collect();
        users.sort_by_key(|(user, _)| *user);
        users
            .into_iter()
            .map(|(user, a)| format!("{user}:{}\n", a.hash))
            .collect()
    }

    /// Mosquitto's `acl_file` with the same rule: the hub reads and writes under `ioc/`; each
    /// device writes under its own key (and a gateway under its devices' keys) and reads its
    /// own topics (the hub's answers to a gateway arrive there).
    pub fn mosquitto_acl(&self) -> String {
        let mut acl = String::from(
            "# Written by `iochub mosquitto-auth` from the hub's device registry; re-run it when\n\
             # devices, credentials or gateways change. Devices publish only under ioc/{key}/.\n",
        );
        if let Some(hub) = &self.hub {
            let _ = write!(acl, "\nuser {hub}\ntopic readwrite {TOPIC_ROOT}/#\n");
        }
        let mut users: Vec<(&String, &Account)> = self.accounts.iter().collect();
        users.sort_by_key(|(user, _)| *user);
        for (user, account) in users {
            let Some(keys) = &account.publishes_for else {
                continue;
            };
            let _ = write!(acl, "\nuser {user}\ntopic read {TOPIC_ROOT}/{user}/#\n");
            let mut keys: Vec<&String> = keys.iter().collect();
            keys.sort();
            for key in keys {
                let _ = writeln!(acl, "topic write {TOPIC_ROOT}/{key}/#");
            }
        }
        acl
    }
}

/// The registry's current [`MqttAccess`]: loaded from the store, reloaded whole after every
/// credential or gateway change, read by the embedded broker without a lock.
pub struct DeviceAccounts {
    store: Arc<dyn Store>,
    /// The hub's own (username, hash), when the broker is the hub's own.
    hub: Option<(String, String)>,
    current: ArcSwap<MqttAccess>,
}

impl DeviceAccounts {
    pub async fn load(
        store: Arc<dyn Store>,
        hub: Option<(String, String)>,
    ) -> StoreResult<Arc<Self>> {
        let accounts = Arc::new(DeviceAccounts {
            store,
            hub,
            current: ArcSwap::default(),
        });
        accounts.reload().await?;
        Ok(accounts)
    }

    /// Reads credentials and gateways again and swaps the rule.
    pub async fn reload(&self) -> StoreResult<()> {
        let access = registry_access(
            self.store.as_ref(),
            self.hub.as_ref().map(|(u, h)| (u.as_str(), h.as_str())),
        )
        .await?;
        self.current.store(Arc::new(access));
        Ok(())
    }

    pub fn current(&self) -> Arc<MqttAccess> {
        self.current.load_full()
    }
}

/// The rule the registry in `store` says, with the hub's own account.
pub async fn registry_access(
    store: &dyn Store,
    hub: Option<(&str, &str)>,
) -> StoreResult<MqttAccess> {
    let credentials = store.device_credentials().await?;
    let devices = store.devices().await?;
    Ok(MqttAccess::new(
        credentials
            .iter()
            .map(|c| (c.device.as_str(), c.hash.as_str())),
        devices
            .iter()
            .filter_map(|d| Some((d.key.as_str(), d.gateway.as_deref()?))),
        hub,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_way_mosquitto_passwd_does() {
        // PBKDF2-HMAC-SHA512 of "password" with salt "salt", 1 round (RFC 6070's inputs, SHA-512
        // variant): the first 8 bytes are 86 7f 70 cf 1a de 02 cf.
        let h = hash_with("password", b"salt", 1);
        let raw = STANDARD
            .decode(h.rsplit('$').next().expect("hash part"))
            .expect("base64");
        assert_eq!(&raw[..8], &[0x86, 0x7f, 0x70, 0xcf, 0x1a, 0xde, 0x02, 0xcf]);
        assert!(h.starts_with("$7$1$c2FsdA==$"), "{h}");
        let stored = hash("s3cret-device-pass");
        assert!(verify("s3cret-device-pass", &stored));
        assert!(!verify("s3cret-device-pasS", &stored));
        for bad in [
            "",
            "$6$1$a$b",
            "$7$x$c2FsdA==$AAAA",
            "$7$0$c2FsdA==$AAAA",
            "plain",
        ] {
            assert!(!verify("", bad), "{bad}");
        }
        assert_ne!(hash("same"), hash("same"), "salted");
        assert_eq!(new_password().len(), 32);
    }

    #[test]
    fn a_device_publishes_only_under_its_key_and_a_gateway_for_its_devices() {
        let (gw, dev) = (hash("gw-pass"), hash("dev-pass"));
        let access = MqttAccess::new(
            [("gw-1", gw.as_str()), ("wl-01", dev.as_str())],
            [("aq-7", "gw-1"), ("wl-02", "nobody")],
            Some(("iochub", hash("hub-pass").as_str())),
        );
        assert!(access.authenticate("wl-01", "wl-01", "dev-pass"));
        assert!(
            !access.authenticate("wl-01", "wl-01", "gw-pass"),
            "password"
        );
        assert!(
            !access.authenticate("other-id", "wl-01", "dev-pass"),
            "client id"
        );
        assert!(!access.authenticate("x", "x", ""), "unknown");
        assert!(access.may_publish("wl-01", "ioc/wl-01/telemetry"));
        assert!(access.may_publish("wl-01", "ioc/wl-01/status"));
        assert!(!access.may_publish("wl-01", "ioc/wl-02/telemetry"));
        assert!(!access.may_publish("wl-01", "ioc/wl-011/telemetry"));
        assert!(!access.may_publish("wl-01", "other/wl-01/telemetry"));
        assert!(!access.may_publish("wl-01", "iocx/wl-01/telemetry"));
        assert!(access.may_publish("gw-1", "ioc/aq-7/telemetry"));
        assert!(access.may_publish("gw-1", "ioc/gw-1/telemetry"));
        assert!(!access.may_publish("gw-1", "ioc/wl-01/telemetry"));
        assert!(access.may_publish("iochub", "ioc/gw-1/committed"));
        assert!(!access.may_publish("iochub", "elsewhere/x"));
        assert!(!access.may_publish("stranger", "ioc/stranger/telemetry"));

        let acl = access.mosquitto_acl();
        assert!(
            acl.contains("\nuser iochub\ntopic readwrite ioc/#\n"),
            "{acl}"
        );
        assert!(
            acl.contains("\nuser gw-1\ntopic read ioc/gw-1/#\ntopic write ioc/aq-7/#\ntopic write ioc/gw-1/#\n"),
            "{acl}"
        );
        let passwords = access.mosquitto_passwords();
        let users: Vec<&str> = passwords
            .lines()
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(users, ["gw-1", "iochub", "wl-01"]);
    }
}
