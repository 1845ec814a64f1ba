package response

import "github.com/closeloop/closeloop/shared/local/tmplcheck"

var rendered tmplcheck.Recorder // every page the package's tests render

func init() {
	renderCheck = func(name string, p page) { rendered.Check(tmplcheck.HTML(pages()), name, p) }
}

// TemplateProblems returns the pages the package's tests rendered so far
// and what tmplcheck found in any branch of them.
func TemplateProblems() (names, found []string) { return rendered.Results() }

// AllPageProblems walks every template of the pages' set with a zero page
// (every page gets the one page type), so a page no test renders is
// walked too.
func AllPageProblems() []string {
	var out []string
	for _, t := range pages().Templates() {
		out = append(out, tmplcheck.Problems(tmplcheck.HTML(pages()), t.Name(), page{})...)
	}
	return out
}
