// Command lambdabuild builds the functions' bootstraps as they are
// deployed (see package lambdabuild), or writes the go build overlay alone
// for go test:
//
//	go run ./cmd/lambdabuild -o build/webhook/bootstrap ./functions/webhook
//	go run ./cmd/lambdabuild -overlay build/overlay   # prints the overlay's path
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/closeloop/closeloop/shared/local/lambdabuild"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabuild:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("lambdabuild", flag.ContinueOnError)
	out := fs.String("o", "", "the bootstrap to write (go build's -o)")
	arch := fs.String("arch", "arm64", "GOARCH of the bootstrap")
	overlayDir := fs.String("overlay", "", "write the overlay into this folder, print its path and build nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *overlayDir != "" {
		path, err := lambdabuild.Overlay(*overlayDir)
		if err == nil {
			fmt.Println(path)
		}
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: lambdabuild [-arch arm64] -o FILE PACKAGE...  or  lambdabuild -overlay DIR")
	}
	tmp, err := os.MkdirTemp("", "lambdabuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	overlay, err := lambdabuild.Overlay(tmp)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	dir := strings.HasSuffix(*out, "/") // go build writes one file a package into a folder
	if *out, err = filepath.Abs(*out); err != nil {
		return err
	}
	if dir {
		*out += "/"
	}
	return lambdabuild.Build{Dir: root, Arch: *arch, Out: *out, Overlay: overlay, Packages: fs.Args()}.Run()
}
