package api

import (
	"html/template"

	"github.com/closeloop/closeloop/shared/local/tmplcheck"
)

// PeriodOf is periodOf, for the tests.
var PeriodOf = periodOf

// MetricsOf is metricsOf, for the tests.
var MetricsOf = metricsOf

var rendered tmplcheck.Recorder // every console page the package's tests render

func init() {
	renderCheck = func(set *template.Template, name string, data any) {
		rendered.Check(tmplcheck.HTML(set), name, data, consoleFuncs())
	}
}

// TemplateProblems returns the console pages the tests rendered so far and
// what tmplcheck found in any branch of them.
func TemplateProblems() (pages, found []string) { return rendered.Results() }
