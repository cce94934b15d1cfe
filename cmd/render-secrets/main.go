// Command render-secrets creates every Secret a cluster's apps read that
// its secrets folder lacks: values made as the model says (a password by
// default), SOPS-encrypted to the age recipients of .sops.yaml, written
// where Flux decrypts them. go run ./cmd/render -secrets runs it. It
// never prints a value, and leaves existing Secrets alone.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/polylab/polylab-gitops/internal/cli"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/secrets"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("render -secrets", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cluster := cli.ClusterFlags(flags)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./cmd/render -secrets [flags]\n\n")
		fmt.Fprintf(stderr, "Creates every Secret the model declares that clusters/<cluster>/infrastructure/secrets\n")
		fmt.Fprintf(stderr, "lacks, SOPS-encrypted to the age recipients of .sops.yaml. Prints no value.\n\n")
		flags.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 done, 1 invalid model, no usable .sops.yaml, or a Secret skipped or incomplete, 2 usage error.\n")
	}
	if status, ok := cli.Parse(flags, args); !ok {
		return status
	}
	cwd, _ := os.Getwd()
	return createSecrets(stdout, stderr, render.DirSource(cluster.CUEDir), cluster.Name, cluster.Out(), cwd)
}

// createSecrets creates the Secrets the model declares and the secrets
// folder lacks. A value the owner must supply is asked for on the
// terminal, without echo; without a terminal, its Secret is skipped and
// named. No value is ever printed.
func createSecrets(stdout, stderr io.Writer, src render.Source, cluster, out, cwd string) int {
	m, err := render.Load(src, cluster)
	if err != nil {
		render.PrintError(stderr, err, cwd)
		return cli.ExitFailed
	}
	dir := filepath.Join(out, model.LayerInfrastructure, component.SecretsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	result, err := secrets.Create(secrets.Declared(m), secrets.Options{Dir: dir, RepoRoot: cwd, Ask: askOnTerminal(stderr)})
	var config *secrets.ConfigError
	switch {
	case errors.As(err, &config):
		fmt.Fprintf(stderr, "render: %v\n\n%s", err, secrets.SOPSConfigHelp)
		return cli.ExitFailed
	case err != nil:
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	fmt.Fprint(stdout, result)
	if len(result.Skipped) > 0 || len(result.Incomplete) > 0 {
		return cli.ExitFailed
	}
	return cli.ExitOK
}

// askOnTerminal asks for a value the owner supplies, on the controlling
// terminal and without echo; with no terminal it asks nothing.
func askOnTerminal(stderr io.Writer) func(secrets.Secret, secrets.Key) (string, bool) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		return nil
	}
	return func(s secrets.Secret, k secrets.Key) (string, bool) {
		fmt.Fprintf(tty, "%s, key %s (%s): ", s.ID(), k.Name, k.Kind)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			fmt.Fprintf(stderr, "render: reading %s %s: %v\n", s.ID(), k.Name, err)
			return "", false
		}
		return string(b), len(b) > 0
	}
}
