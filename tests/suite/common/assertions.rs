//! Exactly-once assertions over the simulator's remote tasks (one per request, none live
//! twice) and the output directory (no temporary files left).

use gcore_reportd_sim::SimTask;

use super::Harness;

/// How many remote tasks the simulator holds per request (template + parameters, `type` left
/// out), keyed by the request's canonical JSON.
pub fn remote_tasks_per_request(h: &Harness) -> std::collections::BTreeMap<String, usize> {
    let mut per = std::collections::BTreeMap::new();
    for task in h.sim.tasks() {
        *per.entry(request_key(&task)).or_default() += 1;
    }
    per
}

/// A remote task's request: its template and parameters (`type` left out), as JSON.
fn request_key(task: &SimTask) -> String {
    let mut params = task.parameters.clone();
    if let Some(map) = params.as_object_mut() {
        map.remove("type");
    }
    format!("{} {params}", task.template)
}

/// Exactly one remote task per (report, period): `expected` distinct requests, none twice.
pub fn assert_one_remote_task_per_request(h: &Harness, expected: usize, case: &str) {
    let per = remote_tasks_per_request(h);
    assert_eq!(
        per.len(),
        expected,
        "{case}: requests on the server: {per:?}"
    );
    assert!(
        per.values().all(|n| *n == 1),
        "{case}: duplicate remote tasks: {per:?}"
    );
}

/// No `.gcore-reportd-*.part` (nor any hidden) file in the output directory.
pub fn assert_no_temporary_files(h: &Harness, case: &str) {
    let files = h.output_files();
    assert!(
        files.iter().all(|f| !f.starts_with('.')),
        "{case}: temporary files left in the output directory: {files:?}"
    );
}
/// No request has two remote tasks that did not fail (one that failed remotely may have been
/// followed by another: `max_attempts`).
pub fn assert_no_request_has_two_live_remote_tasks(h: &Harness, case: &str) {
    let mut live = std::collections::BTreeMap::<String, usize>::new();
    for task in h.sim.tasks().iter().filter(|t| t.status != "Failed") {
        *live.entry(request_key(task)).or_default() += 1;
    }
    assert!(
        live.values().all(|n| *n <= 1),
        "{case}: a request has two live remote tasks: {live:?}"
    );
}
