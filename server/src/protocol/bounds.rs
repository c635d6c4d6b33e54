//! Allocation-free structural checks of yrs v1 payloads before yrs decodes them.
