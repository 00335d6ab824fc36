//! A task's lifecycle, written once: its phases (`phase`), what a step can see of it
//! (`observation`), the change to make (`change`), and the one pure function from phase,
//! observation, budget and time to that change (`decide`), whose rows are the README's
//! transition table (`table`). Nothing here touches the network, the database or a clock: the
//! engine observes and asks, and the store applies the answer in one transaction,
//! compare-and-set on the phase it expects, with its event (`Store::apply`).

mod change;
mod decide;
#[cfg(test)]
mod decide_cases;
#[cfg(test)]
mod decide_tests;
mod observation;
mod phase;
pub mod table;

pub use change::{Change, Effect, Unexpected};
pub use decide::decide;
pub use observation::{Budget, Observation};
pub use phase::State;
