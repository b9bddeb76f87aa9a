package credd_test

import (
	"context"
	"fmt"
	"log"

	credd "credd.dev/go"
)

// A Go program gets a token from credd in three lines, with no dependency.
func Example() {
	client, _ := credd.New(credd.Options{})
	cred, err := client.Get(context.Background(), "git:https://octocat@github.com")
	if err != nil {
		log.Fatal(err) // errors.Is(err, credd.ErrNotFound), credd.ErrNeedsLogin, ...
	}
	fmt.Println(cred.Username) // cred.Secret is the token
}
