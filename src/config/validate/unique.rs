//! What must be unique across reports: names, the files they write, and the requests they
//! make (see [`super::duplicates`]). Each table holds positions in the checked reports, not
//! copies of what they are compared by: with 10,000 reports, sets of cloned names, file names
//! and request keys made the start the daemon's peak (the scale benchmark, `many --n 10000`,
//! five runs each: 33.2–34.9 MB before, 28.0–29.3 MB with these tables and a smaller
//! [`ReportConfig`]; 2.3 MB of it these sets alone).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use super::duplicates::{can_coincide, request_at, request_count};
use super::file_names;
use crate::config::*;

/// The reports checked so far, by name, by file name and by request. Each entry keeps its
/// hash, so the tables grow without computing a key again.
pub(super) struct Seen {
    hasher: DefaultHashBuilder,
    names: HashTable<(u32, u64)>,
    files: HashTable<(u32, u64)>,
    /// (report, which of its requests, hash): a report of listed clients makes one per client.
    requests: HashTable<(u32, u32, u64)>,
}

impl Seen {
    /// Room for `n` reports (of one request each) without growing.
    pub(super) fn with_capacity(n: usize) -> Seen {
        Seen {
            hasher: DefaultHashBuilder::default(),
            names: HashTable::with_capacity(n),
            files: HashTable::with_capacity(n),
            requests: HashTable::with_capacity(n),
        }
    }

    /// Refuses `report` (the `i`th) if one of `earlier` has its name, makes one of its
    /// requests for a period that can coincide (naming the first such report), or writes its
    /// files; else records it as the report that will follow `earlier`. Each key is computed
    /// once. (A refusal ends the validation, so what was recorded before it does not matter.)
    pub(super) fn admit(
        &mut self,
        earlier: &[ReportConfig],
        i: usize,
        report: &ReportConfig,
    ) -> Result<(), ConfigError> {
        let at = earlier.len() as u32;
        let hash = self.hasher.hash_one(&report.name);
        let named = |&(j, _): &(u32, u64)| earlier[j as usize].name == report.name;
        if self.names.find(hash, named).is_some() {
            return Err(ConfigError::invalid(
                format!("reports[{i}].name"),
                format!(
                    "{:?} is used by two reports: names must be unique",
                    report.name
                ),
            ));
        }
        self.names.insert_unique(hash, (at, hash), |e| e.1);
        // Recorded after all are checked: a lookup must meet only reports of `earlier`.
        let mut requests = Vec::with_capacity(request_count(report));
        for k in 0..request_count(report) {
            let request = request_at(report, k);
            let hash = self.hasher.hash_one(request.key());
            let same = (self.requests.iter_hash(hash))
                .map(|&(j, k, _)| (j, &earlier[j as usize], k))
                .filter(|(_, other, k)| request_at(other, *k as usize).key() == request.key())
                .filter(|(_, other, _)| can_coincide(other.period, report.period))
                .min_by_key(|(j, _, _)| *j);
            if let Some((_, other, _)) = same {
                return Err(ConfigError::invalid(
                    format!("reports[{i}].template"),
                    format!(
                        "report {:?} asks the same as report {:?} (template, parameters and period): a task is its request, so only one of them would get it; merge them (a hook can convert the file into another format)",
                        report.name, other.name
                    ),
                ));
            }
            requests.push((at, k as u32, hash));
        }
        for entry in requests {
            (self.requests).insert_unique(entry.2, entry, |e| e.2);
        }
        let files = file_names(report);
        let hash = self.hasher.hash_one(&files);
        let same_files = |&(j, _): &(u32, u64)| file_names(&earlier[j as usize]) == files;
        if self.files.find(hash, same_files).is_some() {
            return Err(ConfigError::invalid(
                format!("reports[{i}].file_name"),
                "gives the same file names as another report's: add {name} to it",
            ));
        }
        self.files.insert_unique(hash, (at, hash), |e| e.1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse::parse;
    use crate::config::validate::validate;
    use crate::config::ConfigError;
    use crate::secret::ApiKey;

    const HEAD: &str = "[api]\nbase_url = \"https://api.gcore.com\"\n";

    /// The key and message of the config's refusal, or None if it is accepted.
    fn refusal(reports: &str) -> Option<(String, String)> {
        let path = std::path::Path::new("config.toml");
        let raw = parse(path, &format!("{HEAD}{reports}")).expect("parses");
        match validate(raw, ApiKey::new("k").expect("key")) {
            Ok(_) => None,
            Err(ConfigError::Invalid { key, message }) => Some((key, message)),
            Err(other) => panic!("refused otherwise: {other}"),
        }
    }

    /// The key the config's refusal names, or None if it is accepted.
    fn refused_key(reports: &str) -> Option<String> {
        refusal(reports).map(|(key, _)| key)
    }

    fn report(name: &str, extra: &str) -> String {
        format!("[[reports]]\nname = \"{name}\"\ntemplate = \"T\"\n{extra}")
    }

    #[test]
    fn a_second_report_of_one_name_is_refused_by_its_name() {
        let one = report("a", "parameters = { client_id = 1 }\n");
        let two = report("a", "parameters = { client_id = 2 }\n");
        assert_eq!(
            refused_key(&format!("{one}{two}")).as_deref(),
            Some("reports[1].name")
        );
    }

    #[test]
    fn a_client_asked_by_an_earlier_list_is_refused_in_the_later_report() {
        let list = report(
            "list",
            "clients = [3, 7]\nfile_name = \"{client_id}-{date_from}.csv\"\n",
        );
        let single = report("single", "parameters = { client_id = 7 }\n");
        let other = report("other", "parameters = { client_id = 8 }\n");
        assert_eq!(refused_key(&format!("{list}{other}")), None);
        assert_eq!(
            refused_key(&format!("{list}{other}{single}")).as_deref(),
            Some("reports[2].template")
        );
    }

    #[test]
    fn one_request_for_periods_that_cannot_coincide_is_accepted() {
        let monthly = report("m", "period = \"previous-month\"\n");
        let daily = report("d", "period = \"previous-day\"\n");
        let to_date = report(
            "t",
            "period = \"month-to-date\"\nfile_name = \"{name}-{date_to}.csv\"\n",
        );
        assert_eq!(refused_key(&format!("{monthly}{daily}")), None);
        assert_eq!(
            refused_key(&format!("{monthly}{daily}{to_date}")).as_deref(),
            Some("reports[2].template")
        );
    }

    #[test]
    fn a_clash_with_two_earlier_reports_names_the_first_of_them() {
        let daily = report("daily", "period = \"previous-day\"\n");
        let monthly = report("monthly", "period = \"previous-month\"\n");
        let to_date = "period = \"month-to-date\"\nfile_name = \"{name}-{date_to}.csv\"\n";
        let (key, message) =
            refusal(&format!("{daily}{monthly}{}", report("t", to_date))).expect("refused");
        assert_eq!(key, "reports[2].template");
        assert!(message.contains("as report \"daily\""), "{message}");
    }

    #[test]
    fn many_reports_of_distinct_names_files_and_requests_are_accepted() {
        let many: String = (0..3000)
            .map(|i| {
                report(
                    &format!("r{i}"),
                    &format!("parameters = {{ client_id = {i} }}\n"),
                )
            })
            .collect();
        assert_eq!(refused_key(&many), None);
        let clash = report("r2999", "parameters = { client_id = 5000 }\n");
        assert_eq!(
            refused_key(&format!("{many}{clash}")).as_deref(),
            Some("reports[3000].name")
        );
    }
}
