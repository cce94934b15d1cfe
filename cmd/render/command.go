package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/internal/cli"
)

// modulePath is this repository's Go module, whose commands render runs.
const modulePath = "github.com/polylab/polylab-gitops"

// runCommand runs another command of this repository with args, for a
// mode whose libraries a plain render should not load: Helm's SDK and
// SOPS add tens of megabytes and tens of milliseconds of start-up to
// every run. The command is taken, as git and kubectl take their
// subcommands and plugins, from beside render's own executable (go
// install ./cmd/...), then from PATH; from inside this repository it is
// built and run with go run, which caches the build.
func runCommand(name string, args []string, stdout, stderr io.Writer) int {
	cmd, err := commandFor(name, args)
	if err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "render: %s: %v\n", name, err)
		return cli.ExitFailed
	}
	return cli.ExitOK
}

// commandFor finds the command name and returns how to run it.
func commandFor(name string, args []string) (*exec.Cmd, error) {
	if exe, err := os.Executable(); err == nil {
		sibling := filepath.Join(filepath.Dir(exe), name)
		if info, err := os.Stat(sibling); err == nil && !info.IsDir() {
			return exec.Command(sibling, args...), nil
		}
	}
	if path, err := exec.LookPath(name); err == nil {
		return exec.Command(path, args...), nil
	}
	if inModule() {
		return exec.Command("go", append([]string{"run", modulePath + "/cmd/" + name}, args...)...), nil
	}
	return nil, fmt.Errorf("%s is not installed beside render or on PATH, and this is not a checkout of %s; run it from the repository, or go install ./cmd/%s", name, modulePath, name)
}

// inModule reports whether the working directory is inside this module.
func inModule() bool {
	dir, err := os.Getwd()
	for err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			return strings.TrimSpace(first) == "module "+modulePath
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
	return false
}

// without returns args without the boolean flag (written -flag, --flag,
// or either with =true).
func without(args []string, flag string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(a string) bool { return isFlag(a, flag) })
}

// has reports whether args set the boolean flag (written -flag, --flag,
// or either with =true).
func has(args []string, flag string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return isFlag(a, flag) })
}

func isFlag(a, flag string) bool {
	a = strings.TrimSuffix(a, "=true")
	return a == flag || a == "-"+flag
}
