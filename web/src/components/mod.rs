//! The page's components: small, typed, and free of protocol logic.

mod app;
mod cluster;
mod console;
mod exercise;
mod inspect;
pub mod markdown;
mod migration;
mod panels;
mod timeline;

pub use app::{App, NETWORKS};
pub use cluster::{cluster_panel, ClusterProps};
pub use console::{navigate, ZkConsole};
pub use exercise::{exercise_list, exercise_pane, ListProps, PaneProps};
pub use inspect::{sessions, CompareTrees, SessionsProps};
pub use migration::MigrationPanel;
pub use panels::{inspector, invariants_panel, InspectorProps, InvariantsProps};
pub use timeline::{timeline, TimelineProps};

/// `use_state(|| init)` through one function per state type: yew's `use_state` is
/// generic over its initialiser too, so every call site with a closure of its own was
/// another copy of the hook's code (about 700 B of the bundle each). `init` is
/// evaluated at every render and kept at the first: only for cheap values.
#[yew::hook]
pub(crate) fn use_value<T: 'static>(init: T) -> yew::UseStateHandle<T> {
    yew::use_state(move || init)
}

/// An SVG coordinate or length to a tenth of a pixel, without `f64`'s `Display`
/// (float formatting and its tables are about 10 KB of the bundle; a tenth of a
/// pixel is finer than the page draws).
pub(crate) fn px(x: f64) -> String {
    let tenths = (x * 10.0).round() as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.unsigned_abs();
    if t.is_multiple_of(10) {
        format!("{sign}{}", t / 10)
    } else {
        format!("{sign}{}.{}", t / 10, t % 10)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn px_is_a_tenth_of_a_pixel() {
        assert_eq!(super::px(23.0), "23");
        assert_eq!(super::px(-11.5), "-11.5");
        assert_eq!(super::px(252.4999), "252.5");
        assert_eq!(super::px(0.04), "0");
        assert_eq!(super::px(-0.04), "0");
        assert_eq!(super::px(7.0 + 6.2 * 3.0), "25.6");
    }
}
