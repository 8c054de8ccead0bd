//! The bank step (being written).
