//! The page's components: small, typed, and free of protocol logic.

mod app;
mod cluster;
mod console;
mod exercise;
mod inspect;
mod live;
pub mod markdown;
mod migration;
mod panels;
mod timeline;

pub use app::{App, NETWORKS};
pub use cluster::ClusterPanel;
pub use console::{navigate, ZkConsole};
pub use exercise::{ExerciseList, ExercisePane};
pub use inspect::{CompareTrees, Sessions};
pub use live::LiveApp;
pub use migration::MigrationPanel;
pub use panels::{Inspector, InvariantsPanel};
pub use timeline::Timeline;
