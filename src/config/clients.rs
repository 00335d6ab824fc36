//! A report's `clients`: `"all"` (every client Gcore's IAM API lists as neither deleted nor a
//! test account) or a fixed list of client ids. Such a report fans out: one task per (client,
//! period), each asking its client's `client_id`. Here: the TOML shape, and the checks that
//! keep a fan-out report's tasks and files apart (no `parameters.client_id` beside it, a
//! `file_name` that names `{client_id}`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `clients` as written: a string (`"all"`) or an array of ids.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawClients {
    Word(String),
    Ids(Vec<i64>),
}

/// Which clients a fan-out report asks its template for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clients {
    /// Every client `GET /iam/clients?deleted=false&is_test=false` lists when periods fall due.
    All,
    /// These client ids, ascending, each once.
    Fixed(Box<[i64]>),
}

impl Clients {
    /// The clients of `raw` (at `key`), or the error naming the key.
    pub(crate) fn parse(key: &str, raw: &RawClients) -> Result<Clients, ConfigError> {
        match raw {
            RawClients::Word(word) if word == "all" => Ok(Clients::All),
            RawClients::Word(word) => Err(ConfigError::invalid(
                key,
                format!("{word:?} is not allowed: expected \"all\" or a list of client ids, e.g. [101, 102]"),
            )),
            RawClients::Ids(ids) if ids.is_empty() => Err(ConfigError::invalid(
                key,
                "is empty: list at least one client id, or use \"all\"",
            )),
            RawClients::Ids(ids) => {
                if let Some(bad) = ids.iter().find(|id| **id <= 0) {
                    return Err(ConfigError::invalid(
                        key,
                        format!("{bad} is not a client id: ids are positive integers"),
                    ));
                }
                let mut sorted = ids.clone();
                sorted.sort_unstable();
                if let Some(twice) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return Err(ConfigError::invalid(
                        key,
                        format!("client {} is listed twice", twice[0]),
                    ));
                }
                Ok(Clients::Fixed(sorted.into_boxed_slice()))
            }
        }
    }

    /// The fixed list's ids; `None` for `"all"`.
    pub fn fixed(&self) -> Option<&[i64]> {
        match self {
            Clients::All => None,
            Clients::Fixed(ids) => Some(ids),
        }
    }

    /// As written in the config (`"all"` or `[101, 102]`).
    pub fn to_toml(&self) -> serde_json::Value {
        match self {
            Clients::All => serde_json::Value::from("all"),
            Clients::Fixed(ids) => serde_json::Value::from(ids.to_vec()),
        }
    }
}

/// The checks a fan-out report adds: `parameters.client_id` is the daemon's to set, and
/// `file_name` must tell the clients' files apart.
pub(crate) fn check_fan_out(
    key: &dyn Fn(&str) -> String,
    parameters: &serde_json::Map<String, serde_json::Value>,
    file_name: &str,
) -> Result<(), ConfigError> {
    if parameters.contains_key("client_id") {
        return Err(ConfigError::invalid(
            key("parameters.client_id"),
            "is set by the daemon for each client when `clients` is set: remove it (or remove `clients` for a report of one client)",
        ));
    }
    if !file_name.contains("{client_id}") {
        return Err(ConfigError::invalid(
            key("file_name"),
            format!("{file_name:?} names no {{client_id}}: with `clients` set, each client's file would replace the others'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_and_a_list_are_accepted_and_anything_else_names_the_key() {
        let all = Clients::parse("k", &RawClients::Word("all".into())).expect("all");
        assert_eq!(all, Clients::All);
        let ids = Clients::parse("k", &RawClients::Ids(vec![102, 101])).expect("ids");
        assert_eq!(ids.fixed(), Some(&[101, 102][..]));
        for bad in [
            RawClients::Word("some".into()),
            RawClients::Ids(vec![]),
            RawClients::Ids(vec![0]),
            RawClients::Ids(vec![5, 5]),
        ] {
            let err = Clients::parse("reports[0].clients", &bad).expect_err("refused");
            assert!(err.to_string().starts_with("reports[0].clients: "), "{err}");
        }
    }
}
