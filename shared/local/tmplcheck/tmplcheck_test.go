package tmplcheck_test

import (
	"html/template"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/local/tmplcheck"
)

type item struct{ Title string }

func (item) Upper() string { return "" }

type page struct {
	Name  string
	When  time.Time
	Query url.Values
	Items []item
	Data  any
	M     map[string]any
}

func (page) Admin() bool { return false }

// TestProblemsFindsMethodsInEveryBranch: method calls and missing fields
// are found in branches the data does not take (a false if, an empty
// range, a template called only there), through interfaces and maps that
// hold values; fields, map keys and functions pass.
func TestProblemsFindsMethodsInEveryBranch(t *testing.T) {
	set := template.Must(template.New("page").Funcs(template.FuncMap{"up": strings.ToUpper}).Parse(`{{.Name}} {{up .Name}}
{{if .Admin}}admin{{end}}
{{if false}}{{.When.IsZero}}{{end}}
{{range .Items}}{{.Title}} {{.Upper}}{{end}}
{{with .Data}}{{.Title}}{{.Nope}}{{end}}
{{.M.list}}{{range $i, $x := .M.list}}{{$x.Title}}{{end}}
{{.Query.Get "q"}}
{{template "part" .Items}}
{{define "part"}}{{range .}}{{.Missing}}{{end}}{{end}}`))
	got := tmplcheck.Problems(tmplcheck.HTML(set), "page", page{Data: item{}, M: map[string]any{"list": []item{{}}}})
	want := []string{
		"page: .Admin is a method of tmplcheck_test.page",
		"page: .Get is a method of url.Values",
		"page: .IsZero is a method of time.Time",
		"page: .Upper is a method of tmplcheck_test.item",
		"page: tmplcheck_test.item has no field Nope",
		"part: tmplcheck_test.item has no field Missing",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want %q…", i, got[i], want[i])
		}
	}
}

// TestProblemsScopesVariables: a variable declared inside a block ends with
// it, as in text/template, so the outer one keeps its type: here the
// second range is over the items again, whose Upper is a method.
func TestProblemsScopesVariables(t *testing.T) {
	set := template.Must(template.New("page").Parse(`{{$v := .Items}}{{range $v}}{{$v := .}}{{$v.Title}}{{end}}{{range $v}}{{.Upper}}{{end}}`))
	got := tmplcheck.Problems(tmplcheck.HTML(set), "page", page{})
	if len(got) != 1 || !strings.HasPrefix(got[0], "page: .Upper is a method of tmplcheck_test.item") {
		t.Errorf("got %q, want the method call in the second range", got)
	}
}

// TestProblemsFollowsFunctionResults: given the set's functions, a call
// whose arguments are all known (constants, fields of the data) is made,
// and its result walked like data: here a pair holding the items, whose
// Upper is a method.
func TestProblemsFollowsFunctionResults(t *testing.T) {
	type pairOf struct {
		A string
		B any
	}
	funcs := template.FuncMap{"pair": func(a string, b any) pairOf { return pairOf{a, b} }}
	set := template.Must(template.New("page").Funcs(funcs).Parse(`{{template "part" (pair "Items" .Items)}}{{define "part"}}{{.A}}{{range .B}}{{.Upper}}{{end}}{{end}}`))
	got := tmplcheck.Problems(tmplcheck.HTML(set), "page", page{Items: []item{{}}}, funcs)
	if len(got) != 1 || !strings.HasPrefix(got[0], "part: .Upper is a method of tmplcheck_test.item") {
		t.Errorf("got %q, want the method call behind pair", got)
	}
}
