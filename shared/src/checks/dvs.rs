//! The dvs step (being written).
