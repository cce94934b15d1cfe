package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/polylab/polylab-gitops/e2e/cluster"
)

// TestMain builds the harness's tools (only those missing from the cache)
// and gathers the CRDs before any test runs, so that a cold build, which
// takes minutes, is not charged to a test's timeout.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		if err := cluster.Prepare(context.Background(), os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: preparing the harness: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// skipIfShort skips a test that needs the real cluster under go test -short.
func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: needs etcd, kube-apiserver and Flux's controllers; skipped under -short")
	}
}
