package api

import (
	"html/template"
	"sort"
	"sync"
	"text/template/parse"

	"github.com/closeloop/closeloop/shared/local/tmplcheck"
)

// PeriodOf is periodOf, for the tests.
var PeriodOf = periodOf

// MetricsOf is metricsOf, for the tests.
var MetricsOf = metricsOf

var (
	checkedMu sync.Mutex
	checked   = map[string]bool{} // pages rendered by the tests
	problems  = map[string]bool{} // what tmplcheck found in them
)

func init() {
	renderCheck = func(set *template.Template, name string, data any) {
		found := tmplcheck.Problems(func(n string) *parse.Tree {
			if t := set.Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, name, data)
		checkedMu.Lock()
		defer checkedMu.Unlock()
		checked[name] = true
		for _, p := range found {
			problems[p] = true
		}
	}
}

// TemplateProblems returns the console pages the tests rendered so far and
// what tmplcheck found in any branch of them.
func TemplateProblems() (pages, found []string) {
	checkedMu.Lock()
	defer checkedMu.Unlock()
	for p := range checked {
		pages = append(pages, p)
	}
	for p := range problems {
		found = append(found, p)
	}
	sort.Strings(pages)
	sort.Strings(found)
	return pages, found
}
