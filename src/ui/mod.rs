//! The eframe window (to come).
