package lambdabuild_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/local/lambdabuild"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// TestOverlayDropsMethodLookup builds one program that renders a template
// calling a method, with and without the overlay: the overlay's build
// finds no method (the template fails as text/template says of a missing
// field) and weighs less; the plain build renders the page.
func TestOverlayDropsMethodLookup(t *testing.T) {
	root, err := localaws.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	overlay, err := lambdabuild.Overlay(filepath.Join(dir, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(name, overlay string) (string, int64) {
		out := filepath.Join(dir, name)
		b := lambdabuild.Build{Dir: root, OS: runtime.GOOS, Arch: runtime.GOARCH, Out: out, Overlay: overlay, Packages: []string{"./shared/local/lambdabuild/testdata/methodcall"}}
		if err := b.Run(); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(out).Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(got), fi.Size()
	}
	plain, plainSize := run("plain", "")
	lean, leanSize := run("lean", overlay)
	if plain != "<p>Hello Ada Lovelace</p>" {
		t.Errorf("plain build rendered %q", plain)
	}
	if !strings.Contains(lean, "can't evaluate field Name") || strings.Contains(lean, "Lovelace") {
		t.Errorf("the overlay's build rendered %q; want text/template's missing-field error", lean)
	}
	if leanSize >= plainSize {
		t.Errorf("the overlay's build weighs %d bytes, the plain one %d: the linker still keeps every exported method", leanSize, plainSize)
	}
}
