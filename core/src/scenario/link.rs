//! Share links: a scenario and a position in its run, as a URL fragment.
