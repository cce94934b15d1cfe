package review

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// k3sServers lists the nodes whose K3s config makes them servers: the
// first with cluster-init, the others joining it with server and tls-san
// (an agent has server alone).
func k3sServers(files Files) []string {
	var servers []string
	for _, p := range slices.Sorted(maps.Keys(files)) {
		parts := strings.Split(p, "/")
		if len(parts) != 3 || parts[0] != host.Dir || parts[2] != host.K3sConfigFile {
			continue
		}
		var cfg map[string]any
		if yaml.Unmarshal(files[p], &cfg) != nil {
			continue
		}
		_, joins := cfg["server"]
		_, san := cfg["tls-san"]
		if init, _ := cfg["cluster-init"].(bool); init || (joins && san) {
			servers = append(servers, parts[1])
		}
	}
	return servers
}

// quorumDangers: a server that leaves takes an etcd member away; the
// quorum of what is left is what the cluster survives.
func quorumDangers(oldText, curText Files) []Danger {
	before, after := k3sServers(oldText), k3sServers(curText)
	leaving := slices.DeleteFunc(slices.Clone(before), func(n string) bool { return slices.Contains(after, n) })
	if len(leaving) == 0 {
		return nil
	}
	verb := "leaves"
	if len(leaving) > 1 {
		verb = "leave"
	}
	msg := fmt.Sprintf("%s %s the etcd cluster: %d servers -> %d. Before, %s; after, %s. "+
		"Remove servers one at a time with the others up: drain one, `kubectl delete node NAME` (K3s then removes its etcd member), "+
		"then uninstall K3s on it; a server merely switched off still counts as a member, and one more failure loses the quorum",
		strings.Join(leaving, ", "), verb, len(before), len(after), model.QuorumFacts(len(before)), model.QuorumFacts(len(after)))
	return []Danger{{Rule: Quorum, Group: HostsGroup, Subject: strings.Join(leaving, ", "), Message: msg}}
}
