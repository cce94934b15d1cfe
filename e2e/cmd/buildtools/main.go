// Command buildtools builds every binary the e2e harness needs (those not yet
// in the cache) and generates the HelmRelease CRD, then prints the paths of
// the binaries. Run it to warm the cache before the tests:
//
//	cd e2e && go run ./cmd/buildtools
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/polylab/polylab-gitops/e2e/cluster"
	"github.com/polylab/polylab-gitops/e2e/tools"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if err := cluster.Prepare(ctx, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "buildtools: %v\n", err)
		os.Exit(1)
	}
	for _, t := range tools.All() {
		p, err := t.Path()
		if err != nil {
			fmt.Fprintf(os.Stderr, "buildtools: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("%s %s\t%s\n", t.Name, t.Version, p)
	}
	fmt.Fprintf(os.Stderr, "buildtools: ready in %s\n", time.Since(start).Round(time.Millisecond))
}
