package cluster

import "syscall"

// sysProcAttr has Linux kill the cluster's processes if the test binary dies
// without running its cleanups (a panic, go test -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
