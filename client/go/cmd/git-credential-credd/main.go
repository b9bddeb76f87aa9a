// Command git-credential-credd is git's credential helper answered from credd, the native
// build of the Python helper of the same name (same rules, same answers):
//
//	git config --global credential.helper credd
package main

import (
	"os"

	credd "credd.dev/go"
	"credd.dev/go/internal/githelper"
)

func main() {
	open := func() (githelper.Store, error) { return credd.New(credd.Options{}) }
	os.Exit(githelper.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, open))
}
