//! A report's own `parameters`, as the config gives them, held compactly: the pairs sorted by
//! name in one boxed slice. A `serde_json::Map` (a BTreeMap) allocates a node of eleven
//! entries however few it holds: 632 bytes for the usual single `client_id`, 6.3 MB of heap
//! with 10,000 reports (heaptrack, `run --once`, N = 10,000); as a slice, 56 bytes and the name.
//! Whoever needs a map (a task's parameters, the effective config) asks [`Parameters::to_map`].
//! The file's `parameters` tables are read into this form too, one report at a time, so the
//! parsed file never holds 10,000 maps either (heaptrack, N = 10,000: the start's peak heap
//! 15.3 MB with them, 12.5 MB without).

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The parameters, sorted by name, each name once (as a `serde_json::Map` iterates them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters(Box<[(String, Value)]>);

impl Parameters {
    /// The parameters as a JSON object's map.
    pub fn to_map(&self) -> Map<String, Value> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Whether a parameter of this name is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of the parameter of this name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let i = self
            .0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()?;
        Some(&self.0[i].1)
    }

    /// The (name, value) pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl From<Map<String, Value>> for Parameters {
    fn from(map: Map<String, Value>) -> Parameters {
        // A Map iterates in name order (serde_json without `preserve_order`); sorted again so
        // that `get` holds whatever order the map gives.
        let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Parameters(pairs.into_boxed_slice())
    }
}

/// Read as the table (map) it is written as.
impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Parameters, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(Parameters::from)
    }
}

/// Written as the JSON object the map would be: `{"a":1,"b":2}`, names in order.
impl Serialize for Parameters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_serialise_as_the_map_they_came_from() {
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"z":[1,2],"client_id":7,"a":{"b":"c"}}"#).expect("json");
        let parameters = Parameters::from(map.clone());
        assert_eq!(
            serde_json::to_string(&parameters).expect("json"),
            Value::Object(map.clone()).to_string()
        );
        assert_eq!(parameters.to_map(), map);
        assert_eq!(parameters.get("client_id"), Some(&Value::from(7)));
        assert!(parameters.contains_key("a") && !parameters.contains_key("b"));
    }
}
