// Package lambdabuild builds the functions' bootstraps the way they are
// deployed, for make build, the benchmarks and the bootstrap tests alike:
// no cgo, the lambda.norpc tag, trimmed paths, stripped, and text/template
// compiled without its method lookup by name.
//
// That lookup (reflect.Value.MethodByName with a name known only when a
// template runs) makes the linker keep every exported method of every type
// stored in an interface anywhere in the program, used or not: 1.25 to 1.5
// MB of each bootstrap that renders a page or an email (make bench). Closeloop's
// templates call no method, so the build replaces that one call in the
// toolchain's own text/template source, whichever Go release builds it, with
// "no such method". A template that calls a method then fails with
// text/template's "can't evaluate field" error; make test runs every test
// with the same overlay, so such a template fails there first.
//
// The go command is $GO when set (the Makefile's GO), else go: the overlay
// must come from the toolchain that builds with it, or go build and go test
// would ignore it without a word.
package lambdabuild

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// methodCall is the one call Overlay removes from text/template/exec.go.
const methodCall = "ptr.MethodByName(fieldName)"

// Overlay writes a go build overlay into dir (exec.go, overlay.json) in
// which text/template looks up no method by name, and returns the path of
// overlay.json for go build's and go test's -overlay flag. It fails when the
// toolchain's text/template does not hold the call exactly once (a Go release
// that changed it): the build must then be looked at, not silently grow.
// A dir inside the module must start with "_" or ".", or ./... would take
// the copied exec.go for a package of the module.
func Overlay(dir string) (string, error) {
	root, err := GOROOT()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "src", "text", "template", "exec.go")
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	if n := bytes.Count(b, []byte(methodCall)); n != 1 {
		return "", fmt.Errorf("%s holds %q %d times, not once: this Go release changed text/template; update shared/local/lambdabuild", src, methodCall, n)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	patched, err := filepath.Abs(filepath.Join(dir, "exec.go"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(patched, bytes.Replace(b, []byte(methodCall), []byte("(reflect.Value{})"), 1), 0o644); err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	j, _ := json.Marshal(map[string]map[string]string{"Replace": {src: patched}})
	return overlay, os.WriteFile(overlay, j, 0o644)
}

// Build is one go build of packages into out (a file, or a directory
// ending in a slash) for linux/goarch, with the overlay from Overlay.
type Build struct {
	Dir      string   // the module's root, where go build runs
	OS       string   // GOOS: linux as deployed when empty, or this machine's to run it here
	Arch     string   // GOARCH: arm64 as deployed, or this machine's to run it here
	Out      string   // go build's -o
	Overlay  string   // the path Overlay returned; empty builds text/template unchanged
	Symbols  bool     // keep the symbol table and debug information (to weigh what a binary holds)
	Packages []string // what to build, e.g. ./functions/...
}

// Command returns the go build command for b.
func (b Build) Command() *exec.Cmd {
	ldflags := "-ldflags=-s -w"
	if b.Symbols {
		ldflags = "-ldflags="
	}
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", ldflags, "-o", b.Out}
	if b.Overlay != "" {
		args = append(args, "-overlay", b.Overlay)
	}
	cmd := exec.Command(goTool(), append(args, b.Packages...)...)
	cmd.Dir = b.Dir
	goos := b.OS
	if goos == "" {
		goos = "linux"
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+b.Arch)
	return cmd
}

// GOROOT is the root of the toolchain that builds: go env GOROOT of goTool.
func GOROOT() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goTool is the go command: $GO, or go.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// Run runs the build, with go build's output in the error.
func (b Build) Run() error {
	if out, err := b.Command().CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(b.Packages, " "), err, out)
	}
	return nil
}
