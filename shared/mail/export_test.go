package mail

import (
	"sort"
	"sync"
	"text/template/parse"

	"github.com/closeloop/closeloop/shared/local/tmplcheck"
)

var (
	checkedMu sync.Mutex
	checked   = map[string]bool{} // emails rendered by the tests
	problems  = map[string]bool{} // what tmplcheck found in them
)

func init() {
	renderCheck = func(name string, data map[string]any) {
		html := tmplcheck.Problems(func(n string) *parse.Tree {
			if t := htmlT().Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, name+".html", data)
		text := tmplcheck.Problems(func(n string) *parse.Tree {
			if t := textT().Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, name+".txt", data)
		checkedMu.Lock()
		defer checkedMu.Unlock()
		checked[name] = true
		for _, p := range append(html, text...) {
			problems[p] = true
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
