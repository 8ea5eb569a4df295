//! The headless front end (to come).
