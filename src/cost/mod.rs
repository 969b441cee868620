//! What it costs: the monthly AWS bill a drilled design implies, from what
//! the drill measured (bytes per session on each store, DynamoDB's
//! consumed units per operation) scaled to the user's sessions and
//! request rate, priced from a dated table (docs/COST.md).

pub mod model;
pub mod prices;

pub use model::{Bill, Scale, Usage, bill};
pub use prices::Prices;
