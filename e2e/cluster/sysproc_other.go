//go:build !linux

package cluster

import "syscall"

// sysProcAttr sets nothing where there is no parent-death signal: a test
// binary that dies without its cleanups leaves the processes behind.
func sysProcAttr() *syscall.SysProcAttr { return nil }
