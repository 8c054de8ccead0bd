//! Screening against sanctions and PEP lists (being written).
