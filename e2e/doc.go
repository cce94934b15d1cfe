// Package e2e holds polylab-gitops's end-to-end tests: they push a GitOps
// tree to a git server on loopback and let real Flux controllers, against a
// real kube-apiserver, apply it.
//
// The harness lives in the subpackages: tools (builds etcd, kube-apiserver,
// the Flux controllers and controller-gen from the Go module proxy into the
// user's cache folder), crds (the CRDs to install), cluster (the running
// control plane with Flux) and gitserver (smart-HTTP git on loopback).
//
// The tests run with go test (from this folder); -short skips them.
package e2e
