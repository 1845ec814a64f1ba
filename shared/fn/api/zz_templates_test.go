package api_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/fn/api"
)

// TestConsoleTemplatesCallNoMethod runs last (its file sorts last): every
// console page the package's tests rendered, and each page opened here,
// is walked in all its branches with the types of its data
// (shared/local/tmplcheck); a field chain that names a method would fail
// in AWS, where text/template is built without method calls.
func TestConsoleTemplatesCallNoMethod(t *testing.T) {
	_, b, _, _ := consoleWithAnswer(t, 1, "the export hangs")
	for _, p := range []string{"/console", "/console/cases", "/console/dashboard", "/console/themes", "/console/improvements", "/console/lookups", "/console/tokens", "/console/operators", "/console/audit", "/console/nosuch"} {
		b.do("GET", p, nil)
	}
	pages, found := api.TemplateProblems()
	for _, p := range found {
		t.Error(p)
	}
	// Name the pages no test of this run rendered: the whole package renders
	// every one (a filtered run, -run, may not).
	files, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	rendered := strings.Join(pages, " ")
	for _, f := range files {
		if name := filepath.Base(f); name != "layout.html" && !strings.Contains(" "+rendered+" ", " "+name+" ") {
			t.Logf("page %s was not rendered by the tests run (run the whole package to walk it)", name)
		}
	}
	t.Logf("walked %d pages: %s", len(pages), rendered)
}
