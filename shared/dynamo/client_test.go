package dynamo_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/dynamo"
)

// TestClientIsEveryCall: the Client interface is every DynamoDB call the
// code can make, and the stack grants each function part of exactly this
// list (infra's TestLeastPrivilege). A new call here needs its grant there.
// Only the contact-id migration scans, and only the api function may.
func TestClientIsEveryCall(t *testing.T) {
	typ := reflect.TypeFor[dynamo.Client]()
	var got []string
	for i := 0; i < typ.NumMethod(); i++ {
		got = append(got, typ.Method(i).Name)
	}
	want := []string{"BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem"}
	if !slices.Equal(got, want) {
		t.Errorf("dynamo.Client calls %v; the stack grants %v: change both together", got, want)
	}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Scan" && f != "migrate.go" && f != "sdk.go" { // sdk.go only forwards it
				t.Errorf("%s scans the table (%s): only the migration may, and only the api function holds dynamodb:Scan", f, fset.Position(sel.Pos()))
			}
			return true
		})
	}
}
