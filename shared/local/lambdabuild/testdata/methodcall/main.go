// Command methodcall renders a template that calls a method, and prints
// the page or the error: lambdabuild's test builds it with and without the
// overlay.
package main

import (
	"fmt"
	"html/template"
	"os"
)

type person struct{ first, last string }

// Name is a method, not a field: only text/template's lookup by name finds it.
func (p person) Name() string { return p.first + " " + p.last }

func main() {
	t := template.Must(template.New("page").Parse(`<p>Hello {{.Name}}</p>`))
	if err := t.Execute(os.Stdout, person{"Ada", "Lovelace"}); err != nil {
		fmt.Println("error:", err)
	}
}
