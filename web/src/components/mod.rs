//! The page's components: small, typed, and free of protocol logic.

mod app;
mod cluster;
mod panels;
mod timeline;

pub use app::{App, NETWORKS};
pub use cluster::ClusterPanel;
pub use panels::{Inspector, InvariantsPanel};
pub use timeline::Timeline;
