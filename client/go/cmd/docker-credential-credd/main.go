// Command docker-credential-credd is docker's credential helper answered from credd, the
// native build of the Python helper of the same name (same rules, same answers):
//
//	{"credsStore": "credd"}   in ~/.docker/config.json
package main

import (
	"os"

	credd "credd.dev/go"
	"credd.dev/go/internal/dockerhelper"
)

func main() {
	open := func() (dockerhelper.Store, error) { return credd.New(credd.Options{}) }
	os.Exit(dockerhelper.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, open))
}
