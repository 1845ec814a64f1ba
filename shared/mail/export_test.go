package mail

import "github.com/closeloop/closeloop/shared/local/tmplcheck"

var rendered tmplcheck.Recorder // every email the package's tests render

func init() {
	renderCheck = func(name string, data map[string]any) {
		rendered.Check(tmplcheck.HTML(htmlT()), name+".html", data)
		rendered.Check(tmplcheck.Text(textT()), name+".txt", data)
	}
}

// TemplateProblems returns the email templates the package's tests
// rendered so far and what tmplcheck found in any branch of them.
func TemplateProblems() (names, found []string) { return rendered.Results() }
