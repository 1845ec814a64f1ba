package boot_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/platform/boot"
)

// TestNoPackageLevelClientsOrPersonalLogs reads every non-test Go file of
// the functions and shared code: no package-level variable builds an AWS
// client or loads AWS configuration, no function has an init(), and no log
// call carries an attribute named like personal data.
func TestNoPackageLevelClientsOrPersonalLogs(t *testing.T) {
	root, err := localaws.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, dir := range []string{"functions", "shared", "cmd"} {
		filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			files++
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, path)
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.GenDecl:
					if d.Tok != token.VAR {
						continue
					}
					ast.Inspect(d, func(n ast.Node) bool {
						if call, ok := n.(*ast.CallExpr); ok {
							if name := callName(call); name == "NewFromConfig" || name == "LoadDefaultConfig" {
								t.Errorf("%s: package-level %s", fset.Position(call.Pos()), name)
							}
						}
						return true
					})
				case *ast.FuncDecl:
					if d.Name.Name == "init" && d.Recv == nil && strings.HasPrefix(rel, "functions") {
						t.Errorf("%s: init() in a function; configure in run", rel)
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isLog(call) {
					return true
				}
				for _, a := range call.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						switch strings.Trim(lit.Value, `"`) {
						case "email", "address", "to", "comment", "name", "customer":
							t.Errorf("%s: log attribute %s carries personal data; log ids", fset.Position(lit.Pos()), lit.Value)
						}
					}
				}
				return true
			})
			return nil
		})
	}
	if files < 30 {
		t.Fatalf("read only %d files", files)
	}
}

func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.Ident:
		return f.Name
	}
	return ""
}

func isLog(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "slog"
}

func TestAWSConfigFromTheLambdaEnvironment(t *testing.T) {
	env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"}
	getenv := func(k string) string { return env[k] }
	cfg, err := boot.AWSConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIA" || creds.SessionToken != "tok" {
		t.Errorf("config %v, creds %+v, %v", cfg.Region, creds, err)
	}
	if e := boot.Endpoint(getenv, "DYNAMODB"); e == nil || *e != "http://127.0.0.1:9" {
		t.Errorf("dynamodb endpoint %v", e)
	}
	if e := boot.Endpoint(getenv, "SESV2"); e != nil {
		t.Errorf("sesv2 endpoint %v, want none", *e)
	}
	for _, missing := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID"} {
		was := env[missing]
		delete(env, missing)
		if _, err := boot.AWSConfig(getenv); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
		env[missing] = was
	}
}

// TestRequireContactKey: a function that turns addresses into ids stops at
// start without a contact key, naming the variable; with one it starts.
func TestRequireContactKey(t *testing.T) {
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
	getenv := func(k string) string { return env[k] }
	if _, err := boot.Load(context.Background(), getenv, boot.RequireContactKey); err == nil || !strings.Contains(err.Error(), "CLOSELOOP_CONTACT_KEY") {
		t.Errorf("start without a contact key: %v", err)
	}
	env["CLOSELOOP_CONTACT_KEY"] = "short"
	if _, err := boot.Load(context.Background(), getenv, boot.RequireContactKey); err == nil || !strings.Contains(err.Error(), "32") {
		t.Errorf("a short contact key: %v", err)
	}
	env["CLOSELOOP_CONTACT_KEY"] = strings.Repeat("k", 40)
	e, err := boot.Load(context.Background(), getenv, boot.RequireContactKey)
	if err != nil || len(e.Config.ContactKey) != 40 || e.Store().Key == nil {
		t.Errorf("start with a contact key: %v", err)
	}
}
