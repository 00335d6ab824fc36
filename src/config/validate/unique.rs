//! What must be unique across reports: names, the files they write, and the requests they
//! make (see [`super::duplicates`]). Each table holds positions in the checked reports, not
//! copies of what they are compared by: with 10,000 reports, sets of cloned names, file names
//! and request keys made the start the daemon's peak (the scale benchmark, `many --n 10000`,
//! back to back: 33.2–33.5 MB before, 29.0–29.3 MB with these tables and a smaller
//! [`ReportConfig`]; 2.3 MB of it these sets alone).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use super::duplicates::{can_coincide, requests_of};
use super::file_names;
use crate::config::*;

/// The reports checked so far, by name, by file name and by request.
pub(super) struct Seen {
    hasher: DefaultHashBuilder,
    names: HashTable<u32>,
    files: HashTable<u32>,
    /// (report, which of its requests): a report of listed clients makes one per client.
    requests: HashTable<(u32, u32)>,
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
    /// requests for a period that can coincide, or writes its files.
    pub(super) fn check(
        &self,
        earlier: &[ReportConfig],
        i: usize,
        report: &ReportConfig,
    ) -> Result<(), ConfigError> {
        let name = self.hasher.hash_one(&report.name);
        if (self
            .names
            .find(name, |&j| earlier[j as usize].name == report.name))
        .is_some()
        {
            return Err(ConfigError::invalid(
                format!("reports[{i}].name"),
                format!(
                    "{:?} is used by two reports: names must be unique",
                    report.name
                ),
            ));
        }
        for request in requests_of(report) {
            let hash = self.hasher.hash_one(request.key());
            let same = (self.requests.iter_hash(hash))
                .map(|&(j, k)| (&earlier[j as usize], k))
                .filter(|(other, k)| {
                    (requests_of(other).nth(*k as usize)).is_some_and(|r| r.key() == request.key())
                })
                .find(|(other, _)| can_coincide(other.period, report.period));
            if let Some((other, _)) = same {
                return Err(ConfigError::invalid(
                    format!("reports[{i}].template"),
                    format!(
                        "report {:?} asks the same as report {:?} (template, parameters and period): a task is its request, so only one of them would get it; merge them (a hook can convert the file into another format)",
                        report.name, other.name
                    ),
                ));
            }
        }
        let files = file_names(report);
        let hash = self.hasher.hash_one(&files);
        if (self
            .files
            .find(hash, |&j| file_names(&earlier[j as usize]) == files))
        .is_some()
        {
            return Err(ConfigError::invalid(
                format!("reports[{i}].file_name"),
                "gives the same file names as another report's: add {name} to it",
            ));
        }
        Ok(())
    }

    /// Records `reports`' last, checked by [`Seen::check`].
    pub(super) fn add_last(&mut self, reports: &[ReportConfig]) {
        let Some((report, _)) = reports.split_last() else {
            return;
        };
        let i = (reports.len() - 1) as u32;
        let hasher = &self.hasher;
        let at = |j: u32| &reports[j as usize];
        self.names
            .insert_unique(hasher.hash_one(&report.name), i, |&j| {
                hasher.hash_one(&at(j).name)
            });
        self.files
            .insert_unique(hasher.hash_one(file_names(report)), i, |&j| {
                hasher.hash_one(file_names(at(j)))
            });
        for (k, request) in requests_of(report).enumerate() {
            self.requests.insert_unique(
                hasher.hash_one(request.key()),
                (i, k as u32),
                |&(j, k)| {
                    (requests_of(at(j)).nth(k as usize)).map_or(0, |r| hasher.hash_one(r.key()))
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse::parse;
    use crate::config::validate::validate;
    use crate::config::ConfigError;
    use crate::secret::ApiKey;

    const HEAD: &str = "[api]\nbase_url = \"https://api.gcore.com\"\n";

    /// The key the config's refusal names, or None if it is accepted.
    fn refused_key(reports: &str) -> Option<String> {
        let path = std::path::Path::new("config.toml");
        let raw = parse(path, &format!("{HEAD}{reports}")).expect("parses");
        match validate(raw, ApiKey::new("k").expect("key")) {
            Ok(_) => None,
            Err(ConfigError::Invalid { key, .. }) => Some(key),
            Err(other) => panic!("refused otherwise: {other}"),
        }
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
