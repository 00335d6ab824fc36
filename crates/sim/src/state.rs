//! The simulator's shared state behind one `std::sync::Mutex`: the tasks in creation order, the
//! faults in force, the seeded RNG that decides which request gets a fault, and the request
//! counters and, when recording, the exchanges. Every critical section is short and none is held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use super::content::canonical;
use super::faults::Faults;
use super::record::Exchange;
use super::task::TaskRecord;
use super::{SimOptions, SimTask};

pub(crate) struct Shared {
    pub options: SimOptions,
    inner: Mutex<Inner>,
}

pub(crate) struct Inner {
    pub tasks: Vec<TaskRecord>,
    pub faults: Faults,
    rng: StdRng,
    requests: u64,
    by_operation: BTreeMap<String, u64>,
    /// When each request arrived, in order (16 bytes a request).
    arrivals: Vec<Instant>,
    by_status: BTreeMap<u16, u64>,
    exchanges: Vec<Exchange>,
    /// Tasks created so far per (template, canonical parameters), for `fail_first`.
    created_per_kind: HashMap<String, u32>,
    /// List requests answered so far (for `fail_list_request`).
    pub list_requests: u32,
    /// The account served: the key it accepts and its `client_id` (see `switch_account`).
    pub account: (String, i64),
    /// How a report's content is decided at run time (see [`super::content_control`]).
    pub content: super::content_control::ContentControl,
    /// The reseller's clients (see [`super::clients`]).
    pub clients: super::clients::ClientBook,
}

/// What a create did: the task as shown, and whether to answer 500 anyway.
pub(crate) struct Created {
    pub task: Value,
    pub fail_after: bool,
}

impl Shared {
    pub(crate) fn new(options: SimOptions) -> Shared {
        let inner = Inner {
            tasks: Vec::new(),
            faults: Faults::default(),
            rng: StdRng::seed_from_u64(options.seed),
            requests: 0,
            by_operation: BTreeMap::new(),
            arrivals: Vec::new(),
            by_status: BTreeMap::new(),
            exchanges: Vec::new(),
            created_per_kind: HashMap::new(),
            list_requests: 0,
            account: (options.api_key.clone(), super::task::CLIENT_ID),
            content: super::content_control::ContentControl::new(&options),
            clients: super::clients::ClientBook::made(options.clients),
        };
        Shared {
            options,
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a request for `operation`; returns the faults in force and its 1-based number.
    pub(crate) fn begin(&self, operation: &str) -> (Faults, u64) {
        let mut inner = self.lock();
        inner.requests += 1;
        *inner.by_operation.entry(operation.to_string()).or_insert(0) += 1;
        inner.arrivals.push(Instant::now());
        (inner.faults.clone(), inner.requests)
    }

    pub(crate) fn arrival(&self, n: usize) -> Option<Instant> {
        self.lock().arrivals.get(n).copied()
    }

    /// The faults in force now.
    pub(crate) fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub(crate) fn count_status(&self, status: StatusCode) {
        *self.lock().by_status.entry(status.as_u16()).or_insert(0) += 1;
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, u64> {
        self.lock().by_operation.clone()
    }

    pub(crate) fn push_exchange(&self, exchange: Exchange) {
        self.lock().exchanges.push(exchange);
    }

    pub(crate) fn exchanges(&self) -> Vec<Exchange> {
        self.lock().exchanges.clone()
    }

    pub(crate) fn status_counts(&self) -> BTreeMap<u16, u64> {
        self.lock().by_status.clone()
    }

    /// True with probability `p` (never draws from the RNG when `p` is 0).
    pub(crate) fn roll(&self, p: f64) -> bool {
        self.lock().roll(p)
    }

    /// Like [`Shared::roll`], with the probability read from the faults in force now.
    pub(crate) fn roll_current(&self, rate: impl FnOnce(&Faults) -> f64) -> bool {
        let mut inner = self.lock();
        let p = rate(&inner.faults);
        inner.roll(p)
    }

    /// A uniformly drawn number in `0..n` (n > 0).
    pub(crate) fn draw(&self, n: u64) -> u64 {
        self.lock().rng.random_range(0..n.max(1))
    }

    /// Runs `f` on the state after bringing every task's status up to date.
    pub(crate) fn with_tasks<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.lock();
        let now = Instant::now();
        let (pending, running) = (self.options.pending_for, self.options.running_for);
        let Inner { tasks, faults, .. } = &mut *inner;
        for task in tasks.iter_mut() {
            task.advance(now, pending, running, faults);
        }
        f(&mut inner)
    }

    /// Records a new task; decides `fail_first`, the shown status and `error_after_create`.
    pub(crate) fn create(&self, template: &str, params: Map<String, Value>) -> Created {
        let mut inner = self.lock();
        let kind = format!("{template}\n{}", canonical(&Value::Object(params.clone())));
        let nth = inner.created_per_kind.entry(kind).or_insert(0);
        *nth += 1;
        let nth = *nth;
        let fail_first = inner.faults.fail_first;
        let doomed = (nth <= fail_first)
            .then(|| format!("Report generation failed: simulated failure {nth} of {fail_first} for these parameters"));
        let ahead = inner.faults.server_clock_ahead;
        let mut record = TaskRecord::new(template, params, doomed, ahead, inner.account.1);
        record.shift_clock(self.options.clock_offset_ms);
        let kind = format!(
            "{template}\n{}",
            canonical(&Value::Object(record.params.clone()))
        );
        (record.rows, record.revision, record.bad_file) = inner.content.for_new_task(&kind, nth);
        let task = inner.show(&record, self.options.report_rows);
        let rate = inner.faults.error_after_create_rate;
        let fail_after = inner.roll(rate);
        inner.tasks.push(record);
        Created { task, fail_after }
    }

    /// The key the simulator accepts now.
    pub(crate) fn current_key(&self) -> String {
        self.lock().account.0.clone()
    }

    /// From now on, serves another account: only `key` is accepted, new tasks are that
    /// account's, and the tasks of the account served before are not found (404).
    pub(crate) fn switch_account(&self, key: &str, client_id: i64) {
        self.lock().account = (key.to_string(), client_id);
    }

    /// Snapshot of every task (of every account), in creation order.
    pub(crate) fn snapshot(&self) -> Vec<SimTask> {
        self.with_tasks(|inner| {
            inner
                .tasks
                .iter()
                .map(|t| SimTask {
                    uuid: t.uuid.clone(),
                    template: t.template.clone(),
                    parameters: t.shown_params(),
                    status: t.status.as_str().to_string(),
                    created_at: t.created_at,
                    rows: t.rows,
                    revision: t.revision,
                })
                .collect()
        })
    }
}

impl Inner {
    pub(crate) fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    /// The task's JSON, with the unknown-status fault applied.
    pub(crate) fn show(&mut self, task: &TaskRecord, rows: usize) -> Value {
        let rate = self.faults.unknown_status_rate;
        let exploded = self.roll(rate);
        let mut shown = task.to_json(rows, exploded.then_some("Exploded"));
        if self.faults.echo_loosely {
            super::task::loosen(&mut shown["parameters"]);
        }
        if let Some(dropped) = &self.faults.echo_drops {
            if let Some(parameters) = shown["parameters"].as_object_mut() {
                parameters.remove(dropped);
            }
        }
        shown
    }

    /// The position of the task with this uuid (case-insensitive).
    pub(crate) fn position(&self, uuid: &str) -> Option<usize> {
        let account = self.account.1;
        self.tasks
            .iter()
            .position(|t| t.client_id == account && t.uuid.eq_ignore_ascii_case(uuid))
    }
}
