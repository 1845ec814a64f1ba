package api

// PeriodOf is periodOf, for the tests.
var PeriodOf = periodOf

// MetricsOf is metricsOf, for the tests.
var MetricsOf = metricsOf
