package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseDir parses the Go files of dir, tests left out.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	var out []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, file)
	}
	return out
}

// storeCalls reads ../shared/dynamo and returns, for every function and
// method there, the DynamoDB API calls it makes itself (x.db.Op(…)) and the
// functions and methods of the package it calls.
func storeCalls(t *testing.T) (ops map[string][]string, calls map[string][]string) {
	t.Helper()
	ops, calls = map[string][]string{}, map[string][]string{}
	for _, file := range parseDir(t, "../shared/dynamo") {
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					// x.db.Op(…): a DynamoDB call.
					if inner, ok := fn.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "db" {
						ops[name] = append(ops[name], fn.Sel.Name)
					} else {
						calls[name] = append(calls[name], fn.Sel.Name) // a method, maybe the store's
					}
				case *ast.Ident:
					calls[name] = append(calls[name], fn.Name) // a function of the package
				}
				return true
			})
		}
	}
	return ops, calls
}

// interfaceMethods returns the methods of the Store interface in
// ../shared/fn/<pkg>.
func interfaceMethods(t *testing.T, pkg string) []string {
	t.Helper()
	var out []string
	for _, file := range parseDir(t, filepath.Join("../shared/fn", pkg)) {
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "Store" {
				return true
			}
			for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
				for _, id := range m.Names {
					out = append(out, id.Name)
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		t.Fatalf("no Store interface in shared/fn/%s", pkg)
	}
	return out
}

// TestLeastPrivilegeFollowsTheCode: each function's DynamoDB actions in
// the stack are exactly the calls its code can make: the methods of its
// Store interface (shared/fn/<pkg>), followed through shared/dynamo to the
// SDK calls they make, plus the sending rate's counter for the functions
// that send. A grant the code does not need, or a call the grant lacks,
// fails here.
func TestLeastPrivilegeFollowsTheCode(t *testing.T) {
	ops, calls := storeCalls(t)
	reach := func(roots []string) []string {
		seen := map[string]bool{}
		found := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			for _, op := range ops[n] {
				found[op] = true
			}
			for _, c := range calls[n] {
				walk(c)
			}
		}
		for _, r := range roots {
			walk(r)
		}
		return slices.Sorted(maps.Keys(found))
	}
	packages := map[string]string{"webhook": "webhook", "response": "response", "survey-sweep": "surveysweep", "closing": "closing",
		"api": "api", "ses-events": "sesevents", "digest": "digest"}
	senders := []string{"survey-sweep", "closing", "api", "digest"} // mail.Shared takes each second's permission from the table
	if len(packages) != len(Functions) {
		t.Fatalf("functions %v, packages %v", slices.Sorted(maps.Keys(Functions)), packages)
	}
	for fn, pkg := range packages {
		roots := interfaceMethods(t, pkg)
		if slices.Contains(senders, fn) {
			roots = append(roots, "TakeSendTokens")
		}
		need := reach(roots)
		granted := slices.Sorted(slices.Values(tableActions[fn]))
		if !slices.Equal(need, granted) {
			t.Errorf("%s: the code calls %v; the stack grants %v", fn, need, granted)
		}
	}
	// The walk finds what it should: the webhook's look-ups of tickets.
	if got := reach([]string{"GetTicket"}); !slices.Contains(got, "GetItem") {
		t.Errorf("GetTicket reaches %v", got)
	}
}
