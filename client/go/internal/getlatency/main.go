// Command getlatency times Get in-process for the benchmarks (benchmarks/go_clients.py): one
// client, its connections kept alive, as a Go program would use it. It prints each call's
// duration in nanoseconds, one a line, after a warm-up.
//
//	getlatency NAME COUNT
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	credd "credd.dev/go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: getlatency NAME COUNT")
		os.Exit(2)
	}
	count, err := strconv.Atoi(os.Args[2])
	if err != nil || count < 1 {
		fmt.Fprintln(os.Stderr, "COUNT must be a positive number")
		os.Exit(2)
	}
	client, err := credd.New(credd.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	ctx := context.Background()
	durations := make([]time.Duration, 0, count)
	for i := -max(10, count/10); i < count; i++ {
		start := time.Now()
		if _, err := client.Get(ctx, os.Args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if i >= 0 {
			durations = append(durations, time.Since(start))
		}
	}
	out := bufio.NewWriter(os.Stdout)
	for _, d := range durations {
		fmt.Fprintln(out, d.Nanoseconds())
	}
	out.Flush()
}
