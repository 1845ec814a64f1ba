package response_test

import (
	"testing"

	"github.com/closeloop/closeloop/shared/fn/response"
)

// TestPageTemplatesCallNoMethod runs last (its file sorts last): every
// customer page the package's tests rendered, and every page template with
// an empty page, is walked in all its branches with the types of its data (shared/local/tmplcheck); a field chain that
// names a method would fail in AWS, where text/template is built without
// method calls.
func TestPageTemplatesCallNoMethod(t *testing.T) {
	names, found := response.TemplateProblems()
	for _, p := range append(found, response.AllPageProblems()...) {
		t.Error(p)
	}
	if len(names) == 0 {
		t.Log("no test of this run rendered one: run the whole package to walk them")
	}
	t.Logf("walked %d pages: %v", len(names), names)
}
