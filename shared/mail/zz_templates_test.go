package mail_test

import (
	"testing"

	"github.com/closeloop/closeloop/shared/mail"
)

// TestEmailTemplatesCallNoMethod runs last (its file sorts last): every
// email the package's tests rendered is walked in all the branches of its
// HTML and text templates with the types of its data
// (shared/local/tmplcheck); a field chain that names a method would fail
// in AWS, where text/template is built without method calls.
func TestEmailTemplatesCallNoMethod(t *testing.T) {
	names, found := mail.TemplateProblems()
	for _, p := range found {
		t.Error(p)
	}
	if len(names) == 0 {
		t.Log("no test of this run rendered one: run the whole package to walk them")
	}
	t.Logf("walked %d emails: %v", len(names), names)
}
