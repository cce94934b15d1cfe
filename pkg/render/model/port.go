package model

import "cmp"

// ProtocolOrTCP is the port's protocol, TCP when it names none, as
// Kubernetes defaults a container port's and a NetworkPolicy port's.
func (p Port) ProtocolOrTCP() string { return cmp.Or(p.Protocol, "TCP") }

// Covers reports whether pod port n is one of the port's: TargetPort, or
// for a range any port from TargetPort to EndPort.
func (p Port) Covers(n int) bool { return p.TargetPort <= n && n <= p.Last() }
