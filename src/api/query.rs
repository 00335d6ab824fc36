//! The list operation's query string: the filters a [`ListQuery`] sets, `limit` within
//! [`MAX_PAGE`], and creation-time bounds in whole seconds rounded the way that widens the
//! window (a bound rounded to the nearest second could exclude a task created in the half
//! second it moved over).

use super::{ListQuery, MAX_PAGE};

pub(super) fn list_params(query: &ListQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(t) = query.created_after {
        params.push(("created_after", whole_second(t, jiff::RoundMode::Floor)));
    }
    if let Some(t) = query.created_before {
        params.push(("created_before", whole_second(t, jiff::RoundMode::Ceil)));
    }
    if let Some(template) = &query.template {
        params.push(("template", template.clone()));
    }
    if let Some(ordering) = query.ordering {
        params.push(("ordering", ordering.to_string()));
    }
    params.push(("limit", query.limit.clamp(1, MAX_PAGE).to_string()));
    params.push(("offset", query.offset.to_string()));
    params
}

/// `t` in whole seconds, rounded the way that widens the window: `created_after` down,
/// `created_before` up (rounded to the nearest, a bound could exclude a task created in the
/// half second it moved over).
fn whole_second(t: jiff::Timestamp, mode: jiff::RoundMode) -> String {
    let options = jiff::TimestampRound::new()
        .smallest(jiff::Unit::Second)
        .mode(mode);
    t.round(options).unwrap_or(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_after_is_rounded_down_and_created_before_up_to_the_second() {
        let at: jiff::Timestamp = "2026-10-01T12:00:00.600Z".parse().expect("instant");
        let query = ListQuery {
            created_after: Some(at),
            created_before: Some(at),
            ..ListQuery::default()
        };
        let params = list_params(&query);
        let value = |k: &str| {
            params
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            value("created_after").as_deref(),
            Some("2026-10-01T12:00:00Z")
        );
        assert_eq!(
            value("created_before").as_deref(),
            Some("2026-10-01T12:00:01Z")
        );
    }
}
