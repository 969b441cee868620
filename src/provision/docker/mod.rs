//! The Docker provider: the same topology, every node process in its own
//! container (see [`container`] for what is shared with the host and how
//! faults map), images from [`images`], cleanup of a killed owner's
//! containers in [`orphans`].
//!
//! Built on bollard, the client testcontainers is built on, used directly:
//! testcontainers pins its requests to the newest API version, which the
//! engine Debian ships (20.10, API 1.41) refuses; bollard negotiates.

pub mod container;
pub mod engine;
pub mod images;
pub mod orphans;

pub use container::{Container, Launch};
pub use engine::Engine;
pub use images::Family;
