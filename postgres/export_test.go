package postgres

// PollEvery lets benchmarks compare readiness polling intervals.
var PollEvery = &pollEvery
