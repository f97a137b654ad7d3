//! The environment layer: every `SSO_BRIDGE_*` variable that overrides a key of the file, in one
//! table. These are the values that differ per deployment or are secret (addresses, key files,
//! the store, API key hashes), so a container can set them while the file stays shared.
//!
//! The overrides are applied to the parsed file before anything is validated: a value from the
//! environment is checked exactly like one from the file, and an error names the TOML key it
//! replaced. A variable that is set wins over the file, even when empty. Variables are looked up
//! by name, so any other `SSO_BRIDGE_*` variable is not read here.
//!
//! Read elsewhere, not overrides of the file: `SSO_BRIDGE_CONFIG` names the file (`main.rs`);
//! `SSO_BRIDGE_DEV_API_KEY` and `SSO_BRIDGE_LISTEN` configure the embedded default when there is
//! no file (`main.rs`, `cli::embedded_listen`).

use super::file::FileConfig;

/// Puts a variable's value into the parsed file.
type Set = fn(&mut FileConfig, String);

/// Every override: the variable, the TOML key it replaces, and how its value is put there.
/// Applied in this order; no two variables set the same key. (One row a line: rustfmt would
/// break most rows over several.)
#[rustfmt::skip]
pub(super) const OVERRIDES: [(&str, &str, Set); 8] = [
    ("SSO_BRIDGE_LISTEN",            "listen", |f, v| f.listen = Some(v)),
    ("SSO_BRIDGE_PUBLIC_URL",        "public_url", |f, v| f.public_url = Some(v)),
    ("SSO_BRIDGE_STORE_BACKEND",     "store.backend", |f, v| f.store.backend = v),
    ("SSO_BRIDGE_REDIS_URL",         "store.redis_url", |f, v| f.store.redis_url = v),
    ("SSO_BRIDGE_IDP_KEY_FILE",      "idp.key_file", |f, v| f.idp.key_file = Some(v.into())),
    ("SSO_BRIDGE_IDP_CERT_FILE",     "idp.cert_file", |f, v| f.idp.cert_file = Some(v.into())),
    ("SSO_BRIDGE_PARTNER_LOGIN_URL", "partner.login_url", |f, v| f.partner.login_url = Some(v)),
    ("SSO_BRIDGE_API_KEY_SHA256",    "partner.api_key_sha256", set_api_key_hashes),
];

/// Applies every variable of [`OVERRIDES`] that `env` has.
pub(super) fn apply(f: &mut FileConfig, env: &dyn Fn(&str) -> Option<String>) {
    for (var, _key, set) in OVERRIDES {
        if let Some(value) = env(var) {
            set(f, value);
        }
    }
}

/// `SSO_BRIDGE_API_KEY_SHA256` holds a list: comma-separated, blanks around an item and empty
/// items dropped.
fn set_api_key_hashes(f: &mut FileConfig, v: String) {
    f.partner.api_key_sha256 = v
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    /// A file that sets every overridable key, so an override is visible as a change.
    const FILE: &str = r#"
        listen = "127.0.0.1:1"
        public_url = "https://file.test"
        [idp]
        key_file = "file.key"
        cert_file = "file.crt"
        next_cert_file = "file-next.crt"
        [store]
        backend = "redis"
        redis_url = "redis://file.test/0"
        [partner]
        login_url = "https://file.test/login"
        api_key_sha256 = ["file-hash"]
        [[sites]]
        name = "cn"
        x_account_type = "file"
        sp_metadata_file = "sp.xml"
        default_service = "https://console.file.test/"
    "#;

    fn file() -> FileConfig {
        toml::from_str(FILE).unwrap()
    }

    /// Every key of the file, by its TOML name (whole sections where nothing is overridable).
    fn keys(f: &FileConfig) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("listen", format!("{:?}", f.listen)),
            ("public_url", format!("{:?}", f.public_url)),
            ("dev_mode", format!("{:?}", f.dev_mode)),
            ("idp.entity_id", format!("{:?}", f.idp.entity_id)),
            ("idp.key_file", format!("{:?}", f.idp.key_file)),
            ("idp.cert_file", format!("{:?}", f.idp.cert_file)),
            ("idp.next_cert_file", format!("{:?}", f.idp.next_cert_file)),
            ("idp.bp_id", format!("{:?}", f.idp.bp_id)),
            (
                "idp.assertion_lifetime_secs",
                format!("{:?}", f.idp.assertion_lifetime_secs),
            ),
            (
                "idp.clock_skew_secs",
                format!("{:?}", f.idp.clock_skew_secs),
            ),
            (
                "idp.request_max_age_secs",
                format!("{:?}", f.idp.request_max_age_secs),
            ),
            ("idp.sign_response", format!("{:?}", f.idp.sign_response)),
            ("store.backend", format!("{:?}", f.store.backend)),
            ("store.redis_url", format!("{:?}", f.store.redis_url)),
            ("store.key_prefix", format!("{:?}", f.store.key_prefix)),
            (
                "store.event_log_max_len",
                format!("{:?}", f.store.event_log_max_len),
            ),
            ("sessions", format!("{:?}", f.sessions)),
            ("limits", format!("{:?}", f.limits)),
            ("partner.login_url", format!("{:?}", f.partner.login_url)),
            (
                "partner.landing_url",
                format!("{:?}", f.partner.landing_url),
            ),
            ("partner.logout_url", format!("{:?}", f.partner.logout_url)),
            (
                "partner.api_key_sha256",
                format!("{:?}", f.partner.api_key_sha256),
            ),
            ("sites", format!("{:?}", f.sites)),
        ])
    }

    fn changed(before: &FileConfig, after: &FileConfig) -> Vec<&'static str> {
        let (before, after) = (keys(before), keys(after));
        before
            .iter()
            .filter(|(k, v)| after[*k] != **v)
            .map(|(k, _)| *k)
            .collect()
    }

    #[test]
    fn each_variable_overrides_exactly_the_key_the_table_names() {
        for (var, key, _) in OVERRIDES {
            let mut f = file();
            apply(&mut f, &|k| (k == var).then(|| "from-env".to_owned()));
            assert_eq!(changed(&file(), &f), [key], "{var}");
        }
    }

    #[test]
    fn values_are_put_in_as_given_and_checked_later() {
        let mut f = file();
        apply(&mut f, &|k| {
            Some(
                match k {
                    "SSO_BRIDGE_LISTEN" => "0.0.0.0:8080",
                    "SSO_BRIDGE_PUBLIC_URL" => "",
                    "SSO_BRIDGE_STORE_BACKEND" => "etcd",
                    "SSO_BRIDGE_REDIS_URL" => "redis://env.test/1",
                    "SSO_BRIDGE_IDP_KEY_FILE" => "/keys/env.key",
                    "SSO_BRIDGE_IDP_CERT_FILE" => "env.crt",
                    "SSO_BRIDGE_PARTNER_LOGIN_URL" => "ftp://env.test",
                    "SSO_BRIDGE_API_KEY_SHA256" => " aa , ,bb,",
                    other => panic!("unexpected variable {other}"),
                }
                .to_owned(),
            )
        });
        assert_eq!(f.listen.as_deref(), Some("0.0.0.0:8080"));
        // Set but empty still wins over the file (and is refused by validation).
        assert_eq!(f.public_url.as_deref(), Some(""));
        assert_eq!(f.store.backend, "etcd");
        assert_eq!(f.store.redis_url, "redis://env.test/1");
        assert_eq!(f.idp.key_file, Some(PathBuf::from("/keys/env.key")));
        assert_eq!(f.idp.cert_file, Some(PathBuf::from("env.crt")));
        assert_eq!(f.partner.login_url.as_deref(), Some("ftp://env.test"));
        assert_eq!(f.partner.api_key_sha256, ["aa", "bb"]);
    }

    #[test]
    fn an_empty_api_key_list_replaces_the_files_list() {
        let mut f = file();
        apply(&mut f, &|k| {
            (k == "SSO_BRIDGE_API_KEY_SHA256").then(|| " , ".to_owned())
        });
        assert!(f.partner.api_key_sha256.is_empty());
    }

    #[test]
    fn only_the_listed_variables_are_read_and_others_change_nothing() {
        let asked = RefCell::new(Vec::new());
        let mut f = file();
        apply(&mut f, &|k| {
            asked.borrow_mut().push(k.to_owned());
            None
        });
        let listed: Vec<&str> = OVERRIDES.iter().map(|(var, _, _)| *var).collect();
        assert_eq!(*asked.borrow(), listed);
        assert!(changed(&file(), &f).is_empty());

        // Variables that look like overrides but are not in the table are never read.
        let unknown = [
            "SSO_BRIDGE_CONFIG",
            "SSO_BRIDGE_DEV_API_KEY",
            "SSO_BRIDGE_DEV_MODE",
            "SSO_BRIDGE_IDP_ENTITY_ID",
            "SSO_BRIDGE_IDP_NEXT_CERT_FILE",
            "SSO_BRIDGE_STORE_KEY_PREFIX",
        ];
        apply(&mut f, &|k| {
            unknown.contains(&k).then(|| "from-env".to_owned())
        });
        assert!(changed(&file(), &f).is_empty());
    }

    /// The README's configuration table and `deploy/config.example.toml` name the same
    /// variables for the same keys as [`OVERRIDES`].
    #[test]
    fn the_docs_list_every_override() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let example = std::fs::read_to_string(root.join("deploy/config.example.toml")).unwrap();
        let mut listed: Vec<(String, String)> = OVERRIDES
            .iter()
            .map(|(var, key, _)| (var.to_string(), key.to_string()))
            .collect();
        listed.sort();

        // README rows: | `key` | default | meaning | `SSO_BRIDGE_…` |
        let mut in_readme: Vec<(String, String)> = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("`SSO_BRIDGE_"))
            .map(|l| {
                let spans: Vec<&str> = l.split('`').skip(1).step_by(2).collect();
                let var = spans.iter().find(|s| s.starts_with("SSO_BRIDGE_")).unwrap();
                (var.to_string(), spans[0].to_owned())
            })
            .collect();
        in_readme.sort();
        assert_eq!(in_readme, listed, "README configuration table");

        // The example: `env: SSO_BRIDGE_…` in the comment above a key.
        let mut in_example = Vec::new();
        let (mut section, mut var) = (String::new(), None);
        for line in example.lines() {
            if let Some(name) = line.strip_prefix('[') {
                section = format!("{}.", name.trim_matches(['[', ']']));
            } else if let Some((_, v)) = line.split_once("env: ") {
                var = v.split_whitespace().next().map(str::to_owned);
            } else if let Some((key, _)) = line.split_once(" = ")
                && !line.starts_with('#')
                && let Some(var) = var.take()
            {
                in_example.push((var, format!("{section}{key}")));
            }
        }
        in_example.sort();
        assert_eq!(in_example, listed, "deploy/config.example.toml");
    }
}
