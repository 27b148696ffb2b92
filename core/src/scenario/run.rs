//! Running a scenario.
