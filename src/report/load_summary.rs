//! `load-summary.json`: the load run's summary (owned by the load work).
