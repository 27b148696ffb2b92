//! The page's own work per play frame, for the frame-time benchmark (issue 8:
//! `tests/tests/playground.rs`, `frame_times_with_three_clusters_of_five_at_full_speed`).
//!
//! Off unless the page's `window.zoolabProfile` is an array (the test sets it): then every
//! play frame appends `[sim, view, commit]`, in milliseconds of `performance.now()`:
//! the simulation the frame ran (the reducer), building the App's virtual DOM (its
//! function body), and the rest until the render's effects ran (the children's bodies,
//! the DOM diff and patch). A frame that ran no simulation and rendered nothing appends
//! nothing. When off, a frame costs one property read.
//!
//! [`now`] is also the clock that bounds a play frame's simulation
//! ([`crate::state::FRAME_BUDGET_MS`]).

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::cell::Cell;
    use wasm_bindgen::JsValue;

    thread_local! {
        /// The frame's marks: its start, the simulation's end, the view's start and end.
        static MARKS: [Cell<f64>; 4] = Default::default();
        static ON: Cell<bool> = const { Cell::new(false) };
    }

    fn list() -> Option<js_sys::Array> {
        let w = gloo::utils::window();
        let v = js_sys::Reflect::get(&w, &JsValue::from_str("zoolabProfile")).ok()?;
        js_sys::Array::is_array(&v).then(|| v.into())
    }

    /// `performance.now()`, in milliseconds.
    pub fn now() -> f64 {
        gloo::utils::window().performance().map_or(0.0, |p| p.now())
    }

    /// Mark `i` (0: the frame starts, 1: its simulation ended, 2: the App's body
    /// starts, 3: it ends) if this frame is profiled.
    pub fn mark(i: usize) {
        if i == 0 {
            let on = list().is_some();
            ON.with(|o| o.set(on));
            MARKS.with(|m| m.iter().for_each(|c| c.set(f64::NAN)));
        }
        if ON.with(Cell::get) {
            let t = now();
            MARKS.with(|m| m[i].set(t));
        }
    }

    /// The render's effects ran: the frame's figures go to `window.zoolabProfile`.
    pub fn done() {
        if !ON.with(|o| o.replace(false)) {
            return;
        }
        let end = now();
        let [start, sim, view0, view1] = MARKS.with(|m| [m[0].get(), m[1].get(), m[2].get(), m[3].get()]);
        if start.is_nan() || view1.is_nan() {
            return;
        }
        if let Some(l) = list() {
            let row = js_sys::Array::new();
            for x in [sim - start, view1 - view0, end - view1] {
                row.push(&JsValue::from_f64(if x.is_nan() { 0.0 } else { x }));
            }
            l.push(&row);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    thread_local! {
        static START: std::time::Instant = std::time::Instant::now();
    }

    /// Milliseconds since this thread first asked.
    pub fn now() -> f64 {
        START.with(|s| s.elapsed().as_secs_f64() * 1_000.0)
    }

    /// Nothing to mark outside a browser.
    pub fn mark(_: usize) {}
    /// Nothing to record outside a browser.
    pub fn done() {}
}

pub use imp::{done, mark, now};
