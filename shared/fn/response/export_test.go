package response

import (
	"sort"
	"sync"
	"text/template/parse"

	"github.com/closeloop/closeloop/shared/local/tmplcheck"
)

var (
	checkedMu sync.Mutex
	checked   = map[string]bool{} // pages rendered by the tests
	problems  = map[string]bool{} // what tmplcheck found in them
)

func init() {
	renderCheck = func(name string, p page) {
		found := tmplcheck.Problems(func(n string) *parse.Tree {
			if t := pages().Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, name, p)
		checkedMu.Lock()
		defer checkedMu.Unlock()
		checked[name] = true
		for _, f := range found {
			problems[f] = true
		}
	}
}

// TemplateProblems returns what the package's tests rendered so far and
// what tmplcheck found in any branch of it.
func TemplateProblems() (names, found []string) {
	checkedMu.Lock()
	defer checkedMu.Unlock()
	for n := range checked {
		names = append(names, n)
	}
	for p := range problems {
		found = append(found, p)
	}
	sort.Strings(names)
	sort.Strings(found)
	return names, found
}

// AllPageProblems walks every template of the pages' set with a zero page
// (every page gets the one page type), so a page no test renders is
// walked too.
func AllPageProblems() []string {
	var out []string
	for _, t := range pages().Templates() {
		out = append(out, tmplcheck.Problems(func(n string) *parse.Tree {
			if t := pages().Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, t.Name(), page{})...)
	}
	return out
}
