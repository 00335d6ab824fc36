//! One item of a task list, decoded on its own: a page whose envelope decodes is never lost to
//! one task that does not (a status of the wrong type, a missing uuid, a date-time in a form
//! nobody documented). Such an item is kept as [`Odd`], with whatever could still be read from
//! it (uuid, creation time, parameters), so a search can tell whether it might be the task it
//! looks for rather than assume it is not.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::FileTask;

/// A listed item: a task, or an item that did not decode as one.
#[derive(Debug, Clone)]
pub enum Listed {
    Task(FileTask),
    Odd(Odd),
}

/// What could be read from a listed item that does not decode as a task.
#[derive(Debug, Clone)]
pub struct Odd {
    pub uuid: Option<String>,
    pub created_at: Option<jiff::Timestamp>,
    /// The echoed parameters, when they are an object.
    pub parameters: Option<Map<String, Value>>,
    /// Why it does not decode (serde's message; no value from the item beyond its field names).
    pub reason: String,
}

impl Listed {
    /// The task, if the item decoded as one.
    pub fn task(&self) -> Option<&FileTask> {
        match self {
            Listed::Task(task) => Some(task),
            Listed::Odd(_) => None,
        }
    }

    fn decode(value: Value) -> Listed {
        match FileTask::deserialize(&value) {
            Ok(task) => Listed::Task(task),
            Err(e) => Listed::Odd(Odd::read(&value, e.to_string())),
        }
    }
}

impl Odd {
    fn read(value: &Value, reason: String) -> Odd {
        let field = |k: &str| value.get(k);
        Odd {
            uuid: field("uuid").and_then(Value::as_str).map(str::to_string),
            created_at: field("created_at")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            parameters: field("parameters").and_then(Value::as_object).cloned(),
            reason,
        }
    }
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Listed::decode(Value::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_of_the_wrong_shape_is_kept_as_odd_with_what_can_be_read() {
        let page: super::super::Page<Listed> = serde_json::from_value(json!({
            "count": 2, "next": null, "previous": null,
            "results": [
                {"uuid": "a", "created_at": "2026-10-01T12:00:00Z", "status": "Pending"},
                {"uuid": "b", "created_at": "2026-10-01T12:00:01Z", "status": 7,
                 "parameters": {"date_from": "2026-09-01"}},
            ]
        }))
        .expect("the page decodes");
        assert!(page.results[0].task().is_some());
        let Listed::Odd(odd) = &page.results[1] else {
            panic!("the second item is odd")
        };
        assert_eq!(odd.uuid.as_deref(), Some("b"));
        assert!(odd.created_at.is_some());
        assert_eq!(odd.parameters.as_ref().map(|p| p.len()), Some(1));
    }
}
