// Package bootstrap tests install.sh: it runs the script against the real
// polylab render, with a fake root folder (ROOT) and fakes of the commands
// it calls on PATH. Each fake appends its command line to a calls log and
// keeps what it "installed" in a state folder outside ROOT, so a test sees
// what the script ran, in which order, and what it wrote.
package bootstrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// polylab is the cluster the tests install, the project's own.
const polylab = "polylab"

// harness is one machine the script runs on, and a checkout to run it from.
type harness struct {
	t       *testing.T
	c       *model.Model
	cluster string
	repo    string // the checkout: bootstrap/install.sh and clusters/<cluster>
	root    string // ROOT: the machine's file system
	bin     string // the fakes, first on PATH
	state   string // what the fakes installed
	calls   string // the calls log
	home    string
	ip      string // the machine's address, as the fake ip reports it
	name    string // the node the machine plays, as the fake kubectl reports it
	env     []string
}

// fakeInstaller is what the fake curl serves as K3s's install.sh: it
// records what K3s would find as it starts, "installs" the version, and
// on a server writes the secure token as K3s does
// (/var/lib/rancher/k3s/server/token, K10<CA hash>::server:<password>).
// The harness pins it by sha256, as versions.cue pins the real one.
const fakeInstaller = `m=$(ls "$ROOT/var/lib/rancher/k3s/server/manifests" 2>/dev/null | tr '\n' ' ')
c=absent; [ -f "$ROOT/etc/rancher/k3s/config.yaml" ] && c=present
t=absent; [ -s "$ROOT/etc/rancher/k3s/cluster-token" ] && t=present
echo "k3s-installer INSTALL_K3S_VERSION=$INSTALL_K3S_VERSION INSTALL_K3S_EXEC=$INSTALL_K3S_EXEC INSTALL_K3S_FORCE_RESTART=$INSTALL_K3S_FORCE_RESTART INSTALL_K3S_SKIP_DOWNLOAD=${INSTALL_K3S_SKIP_DOWNLOAD:-} args=$* config=$c token=$t manifests=${m% }" >> "$FAKE_CALLS"
echo "$INSTALL_K3S_VERSION" > "$FAKE_STATE/k3s-version"
if [ "$INSTALL_K3S_EXEC" = server ]; then
	mkdir -p "$ROOT/var/lib/rancher/k3s/server"
	tok=$(cat "$ROOT/etc/rancher/k3s/cluster-token")
	case $tok in
	K10*) printf '%s\n' "$tok" ;;
	*) printf 'K10%s::server:%s\n' ` + "`" + `printf fake-ca | sha256sum | cut -c1-64` + "`" + ` "$tok" ;;
	esac > "$ROOT/var/lib/rancher/k3s/server/token"
	chmod 600 "$ROOT/var/lib/rancher/k3s/server/token"
fi
`

// fakeBinary is what the fake curl serves as a K3s release binary.
const fakeBinary = "fake k3s binary\n"

func sha256hex(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// secureToken is a joining node's copy of the first server's token.
var secureToken = "K10" + sha256hex("fake-ca") + "::server:0123456789abcdef-joining-token"

// option changes the model before the harness renders it.
type option func(*model.Cluster)

// pinBinary pins the fake K3s binary by sha256 for every architecture.
func pinBinary(c *model.Cluster) {
	c.Versions.Installers.K3s.BinarySHA256 = map[string]string{"amd64": sha256hex(fakeBinary), "arm64": sha256hex(fakeBinary)}
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	return newHarnessFor(t, polylab, opts...)
}

// newHarnessFor renders a cluster of the project's CUE module into a fresh
// checkout, beside a fresh machine. The model pins the fake K3s installer
// by its sha256, as versions.cue pins the real one.
func newHarnessFor(t *testing.T, cluster string, opts ...option) *harness {
	t.Helper()
	loaded, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, cluster)
	if err != nil {
		t.Fatal(err)
	}
	c := loaded.Cluster
	c.Versions.Installers.K3s.SHA256 = sha256hex(fakeInstaller)
	for _, o := range opts {
		o(c)
	}
	m, err := model.Validate(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.RenderModel(m)
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Tree
	dir := t.TempDir()
	h := &harness{
		t: t, c: m, cluster: cluster,
		repo:  filepath.Join(dir, "repo"),
		root:  filepath.Join(dir, "root"),
		bin:   filepath.Join(dir, "bin"),
		state: filepath.Join(dir, "state"),
		calls: filepath.Join(dir, "calls.log"),
		home:  filepath.Join(dir, "home"),
	}
	for _, d := range []string{h.root, h.bin, h.state, h.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := tree.Compare(tr, filepath.Join(h.repo, "clusters", cluster))
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in bootstrap/: %v", err)
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		h.write(filepath.Join(h.repo, "bootstrap", s), string(b), 0o755)
	}
	for name, script := range fakes {
		h.write(filepath.Join(h.bin, name), "#!/bin/sh\n"+script, 0o755)
	}
	h.write(filepath.Join(h.bin, "k3s-install.sh"), fakeInstaller, 0o644)
	h.write(filepath.Join(h.bin, "k3s-binary"), fakeBinary, 0o644)
	h.rendered()
	if err := os.WriteFile(h.calls, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// rendered checks the render wrote what the first server applies besides
// the sync: the FluxInstance, and the Flux Operator's HelmChart that K3s
// deploys.
func (h *harness) rendered() {
	first := h.nodeEnv(h.node(0).Name)
	for _, p := range []string{
		filepath.Join(h.repo, filepath.FromSlash(first["FLUX_INSTANCE"])),
		h.hostsPath(h.node(0).Name + "/manifests/helmchart-flux-operator.yaml"),
	} {
		if !exists(p) {
			h.t.Fatalf("the render wrote no %s", p)
		}
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// withSecrets commits a SOPS-encrypted stand-in of every Secret the model
// declares, as go run ./cmd/render -secrets and sops would.
func (h *harness) withSecrets() *harness {
	for _, s := range strings.Fields(h.nodesEnv()["SECRETS"]) {
		ns, name, _ := strings.Cut(s, "/")
		h.write(filepath.Join(h.repo, h.nodesEnv()["SECRETS_DIR"], ns+"-"+name+".sops.yaml"),
			"apiVersion: v1\nkind: Secret\ndata:\n  key: ENC[AES256_GCM,data:xx]\nsops:\n  age: []\n", 0o644)
	}
	return h
}

// nodesReady makes the fake API report every built node Ready.
func (h *harness) nodesReady() *harness {
	var names []string
	for i := range h.c.Built {
		names = append(names, h.node(i).Name)
	}
	h.write(filepath.Join(h.state, "ready-nodes"), strings.Join(names, "\n")+"\n", 0o644)
	return h
}

func (h *harness) nodesEnv() map[string]string {
	h.t.Helper()
	return h.readEnv(h.hostsPath(host.NodesEnvFile))
}

func (h *harness) write(name, content string, mode fs.FileMode) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		h.t.Fatal(err)
	}
}

// node returns a built node of the model by its place in the install order.
func (h *harness) node(i int) model.Node {
	h.t.Helper()
	var order []model.Node
	for _, role := range []model.Role{model.Server, model.Agent} {
		for _, n := range h.c.Built {
			if n.Role == role {
				order = append(order, *n)
			}
		}
	}
	if i < 0 {
		i += len(order)
	}
	return order[i]
}

func (h *harness) plannedNode() model.Node {
	for _, n := range h.c.Nodes {
		if n.Planned {
			return n
		}
	}
	h.t.Fatal("the model has no planned node")
	return model.Node{}
}

// on makes the harness the machine of node n: its address and, for a node
// that joins, the first server's secure token copied and a cluster that
// answers.
func (h *harness) on(n model.Node) *harness {
	h.ip, h.name = n.IP.String(), n.Name
	if n.Name != h.node(0).Name {
		h.write(h.rootPath(host.TokenFile), secureToken+"\n", 0o600)
		h.clusterUp(true)
	}
	return h
}

// clusterUp says whether the cluster's API answers on the LAN.
func (h *harness) clusterUp(up bool) {
	p := filepath.Join(h.state, "cluster-up")
	if up {
		h.write(p, "", 0o644)
	} else if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.t.Fatal(err)
	}
}

// withGPU installs the fake NVIDIA driver and container toolkit.
func (h *harness) withGPU() *harness {
	h.write(filepath.Join(h.state, "nvidia-driver"), "", 0o644)
	h.write(filepath.Join(h.bin, "nvidia-container-runtime"), "#!/bin/sh\n", 0o755)
	return h
}

func (h *harness) rootPath(p string) string { return filepath.Join(h.root, filepath.FromSlash(p)) }

func (h *harness) hostsPath(p string) string {
	return filepath.Join(h.repo, "clusters", h.cluster, host.Dir, filepath.FromSlash(p))
}

// ageKey writes the owner's age key, outside ROOT, and returns its path.
func (h *harness) ageKey() string {
	p := filepath.Join(h.home, "age.agekey")
	h.write(p, "AGE-SECRET-KEY-1FAKEFAKEFAKE\n", 0o600)
	return p
}

type result struct {
	code           int
	stdout, stderr string
	calls          []string // the calls of this run only
}

// run runs install.sh with args and the extra environment.
func (h *harness) run(env []string, args ...string) result {
	h.t.Helper()
	before := h.readCalls()
	cmd := exec.Command(filepath.Join(h.repo, "bootstrap", "install.sh"), args...)
	cmd.Env = append([]string{
		"PATH=" + h.bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + h.home,
		"ROOT=" + h.root,
		"FAKE_STATE=" + h.state,
		"FAKE_CALLS=" + h.calls,
		"FAKE_IP=" + h.ip,
		"FAKE_NODE=" + h.name,
		"FAKE_BIN=" + h.bin,
		"LC_ALL=C",
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), calls: h.readCalls()[len(before):]}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		h.t.Fatal(err)
	}
	h.t.Logf("install.sh %s: exit %d\n--- stdout\n%s--- stderr\n%s--- calls\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr, strings.Join(r.calls, "\n"))
	return r
}

func (h *harness) readCalls() []string {
	b, err := os.ReadFile(h.calls)
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[:strings.Count(string(b), "\n")]
}

// snapshot records every file and folder under dir: mode and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// readOnly are the calls that change nothing: queries, checks and waits.
// Downloads into the script's temporary folder change nothing on the host.
var readOnly = regexp.MustCompile(`^(ip -o -4 addr show|k3s --version|dpkg-query |systemctl is-(active|enabled) |` +
	`kubectl( -n \S+)? (get|wait|diff) |curl -ksf |curl -sfL --proto =https -o |nvidia-smi |nft -c |ufw status|ssh-keyscan |ssh-keygen -l)`)

func changing(calls []string) []string {
	return slices.DeleteFunc(slices.Clone(calls), readOnly.MatchString)
}

// wantCalls checks that each wanted call prefix occurs, in this order.
func wantCalls(t *testing.T, calls []string, want ...string) {
	t.Helper()
	i := 0
	for _, w := range want {
		j := slices.IndexFunc(calls[i:], func(c string) bool { return strings.HasPrefix(c, w) })
		if j < 0 {
			t.Errorf("no call %q after call %d; calls:\n%s", w, i, strings.Join(calls, "\n"))
			return
		}
		i += j + 1
	}
}

func (h *harness) assertFile(hostPath, rendered string, mode fs.FileMode) {
	h.t.Helper()
	got, err := os.ReadFile(h.rootPath(hostPath))
	if err != nil {
		h.t.Fatalf("%s was not written: %v", hostPath, err)
	}
	want, err := os.ReadFile(h.hostsPath(rendered))
	if err != nil {
		h.t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		h.t.Errorf("%s differs from the rendered %s (-want +got):\n%s", hostPath, rendered, diff)
	}
	h.assertMode(hostPath, mode)
}

func (h *harness) assertMode(hostPath string, mode fs.FileMode) {
	h.t.Helper()
	info, err := os.Stat(h.rootPath(hostPath))
	if err != nil {
		h.t.Fatal(err)
	}
	if info.Mode().Perm() != mode {
		h.t.Errorf("%s has mode %v, want %v", hostPath, info.Mode().Perm(), mode)
	}
}

func (h *harness) assertNotExist(hostPath string) {
	h.t.Helper()
	if _, err := os.Stat(h.rootPath(hostPath)); !errors.Is(err, fs.ErrNotExist) {
		h.t.Errorf("%s exists (%v)", hostPath, err)
	}
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q", what, s)
		}
	}
}

func (h *harness) apiURL() string {
	env := h.nodeEnv(h.node(0).Name)
	return env["JOIN_URL"]
}

// nodeEnv reads a node's rendered plan through the shell.
func (h *harness) nodeEnv(node string) map[string]string {
	h.t.Helper()
	return h.readEnv(h.hostsPath(path.Join(node, host.NodeEnvFile)))
}

func (h *harness) readEnv(file string) map[string]string {
	h.t.Helper()
	out, err := exec.Command("bash", "-c", `set -a; . "$1"; env`, "-", file).Output()
	if err != nil {
		h.t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// gitCredentials passes credentials when the model asks for them.
func (h *harness) gitCredentials() []string {
	if h.c.Flux.SecretName == "" {
		return nil
	}
	p := filepath.Join(h.home, "git-key")
	h.write(p, "-----FAKE PRIVATE KEY-----\n", 0o600)
	return []string{"--git-credentials", p}
}

func (h *harness) firstServerArgs() []string {
	return append(append([]string{"--age-key", h.ageKey()}, h.gitCredentials()...), h.node(0).Name)
}

func (h *harness) installFirstServer() result {
	h.t.Helper()
	h.on(h.node(0))
	r := h.run(nil, h.firstServerArgs()...)
	if r.code != 0 {
		h.t.Fatalf("install.sh %s: exit %d: %s", h.node(0).Name, r.code, r.stderr)
	}
	return r
}

const manifests = "/var/lib/rancher/k3s/server/manifests"

// TestFirstServer: prerequisites, the token, the config and the auto-deploy
// manifests before K3s starts, the checked installer, then Flux from the
// Flux Operator and its Secrets; the sync waits for the other nodes, and
// the next node is named with the secure token to copy.
func TestFirstServer(t *testing.T) {
	h := newHarness(t)
	first := h.node(0)
	r := h.installFirstServer()
	env := h.nodeEnv(first.Name)
	key := filepath.Join(h.home, "age.agekey")

	h.assertFile("/etc/rancher/k3s/config.yaml", first.Name+"/k3s-config.yaml", 0o600)
	token, err := os.ReadFile(h.rootPath(host.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).Match(token) {
		t.Errorf("the token is %d bytes, not 64 hex digits", len(token))
	}
	h.assertMode(host.TokenFile, 0o600)
	// K3s's secure token, which the other nodes copy, names the CA.
	secure, _ := os.ReadFile(h.rootPath("/var/lib/rancher/k3s/server/token"))
	if !regexp.MustCompile(`^K10[0-9a-f]{64}::server:` + string(token) + "\n$").Match(secure) {
		t.Errorf("the token the other nodes copy is not K10<CA hash>::server:<token>")
	}
	ageKey, _ := os.ReadFile(key)
	for what, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "the calls": strings.Join(r.calls, "\n")} {
		mustNotContain(t, what, text, string(token), strings.TrimSpace(string(secure)), strings.TrimSpace(string(ageKey)))
	}

	wantCalls(t, r.calls,
		"ip -o -4 addr show",
		"curl -sfL --proto =https -o ",
		"apt-get update",
		"apt-get install -y --no-install-recommends "+env["PACKAGES"],
		"systemctl enable --now iscsid",
		"nft -c -f ",
		// The fake installer lists what K3s would find as it starts.
		"k3s-installer INSTALL_K3S_VERSION="+h.c.Versions.K3s+" INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_SKIP_DOWNLOAD= args= config=present token=present manifests=helmchart-flux-operator.yaml kube-vip.yaml",
		"kubectl get node "+first.Name,
		"kubectl wait --for=condition=Ready node/"+first.Name,
		"curl -ksf --max-time 5 "+h.apiURL()+"/ping",
		"kubectl get crd fluxinstances.fluxcd.controlplane.io",
		"kubectl wait --for=condition=Established crd/fluxinstances.fluxcd.controlplane.io",
		"kubectl apply -f "+filepath.Join(h.repo, env["FLUX_INSTANCE"]),
		"kubectl -n flux-system wait fluxinstance/flux --for=condition=Ready",
		"kubectl -n flux-system create secret generic "+h.c.Flux.SOPS.SecretName+" --from-file=age.agekey="+key,
		"ssh-keyscan -p 22 github.com",
		"ssh-keygen -lf ",
		"kubectl -n flux-system create secret generic "+h.c.Flux.SecretName+" --from-file=identity="+filepath.Join(h.home, "git-key")+" --from-file=known_hosts=",
		"kubectl get nodes -o ",
	)
	wantCalls(t, r.calls, "curl -sfL --proto =https -o ", "k3s-installer ")
	mustContain(t, "the download", strings.Join(r.calls, "\n"), env["K3S_INSTALLER_URL"])
	for _, c := range r.calls {
		if strings.HasPrefix(c, "flux ") || strings.Contains(c, "fluxcd.io/install.sh") || strings.Contains(c, "get.k3s.io") {
			t.Errorf("no Flux CLI and no unpinned installer, yet: %s", c)
		}
		if strings.HasPrefix(c, "kubectl apply -k") {
			t.Errorf("the sync started with only %s Ready: %s", first.Name, c)
		}
	}
	// Flux does not sync yet: the bootstrap copies stay.
	for _, f := range []string{"kube-vip.yaml", "helmchart-flux-operator.yaml"} {
		h.assertMode(manifests+"/"+f, 0o600)
	}
	// No pinned binary in polylab's data: a clear warning.
	mustContain(t, "stderr", r.stderr, "pins no sha256 for the K3s "+h.c.Versions.K3s+" binary (amd64)")
	mustContain(t, "stdout", r.stdout,
		"SHA256:FAKEfingerprint github.com (ED25519)",
		"Flux's sync is not started: it waits until every built node is Ready",
		"not Ready yet: "+strings.Join(strings.Fields(h.nodesEnv()["NODES"])[1:], " ")+". Install them, then run install.sh on "+first.Name+" again",
	)
	mustContain(t, "stderr", r.stderr, "compare the fingerprints above with those github.com publishes")
	second := h.node(1)
	mustContain(t, "stdout", r.stdout,
		fmt.Sprintf("install.sh: %s: installed at %s (", first.Name, h.c.Versions.K3s),
		"; Flux's sync is not started yet (see above)",
		fmt.Sprintf("install.sh: next: %s (server, %s), once %s is Ready; one node at a time.", second.Name, second.IP, first.Name),
		fmt.Sprintf("mkdir -p /etc/rancher/k3s && scp root@%s:/var/lib/rancher/k3s/server/token %s && chmod 600 %s", first.IP, host.TokenFile, host.TokenFile),
		"bootstrap/install.sh --cluster "+h.cluster+" "+second.Name,
		"when every node is Ready, on "+first.Name+" again: bootstrap/install.sh --cluster "+h.cluster+" "+first.Name,
	)
}

// TestSyncStartsOnceTheClusterIsReady: run again on the first server, the
// sync starts only when every built node is Ready and every Secret of the
// model is committed; then Flux owns the auto-deploy manifests, and a
// third run changes nothing.
func TestSyncStartsOnceTheClusterIsReady(t *testing.T) {
	h := newHarness(t)
	h.installFirstServer()
	h.nodesReady()

	// Every node is Ready, but no Secret is committed.
	r := h.run(nil, h.node(0).Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	secrets := strings.Fields(h.nodesEnv()["SECRETS"])
	if len(secrets) == 0 {
		t.Fatal("polylab declares no Secret")
	}
	var files []string
	for _, s := range secrets {
		ns, name, _ := strings.Cut(s, "/")
		files = append(files, h.nodesEnv()["SECRETS_DIR"]+"/"+ns+"-"+name+".sops.yaml")
	}
	mustContain(t, "stdout", r.stdout,
		"Flux's sync is not started: the model declares Secrets that are not committed SOPS-encrypted in "+h.nodesEnv()["SECRETS_DIR"]+": "+strings.Join(secrets, " "),
		strings.Join(files, " "),
		"Create them with go run ./cmd/render -secrets, commit and push, then run install.sh on "+h.node(0).Name+" again",
		"already installed at "+h.c.Versions.K3s+"; nothing to do until Flux's sync can start",
	)
	if got := changing(r.calls); len(got) > 0 {
		t.Errorf("a run waiting for the Secrets changed things:\n%s", strings.Join(got, "\n"))
	}

	// A file without SOPS's metadata is not a committed Secret.
	h.withSecrets()
	plain := filepath.Join(h.repo, files[0])
	h.write(plain, "apiVersion: v1\nkind: Secret\nstringData:\n  password: plain\n", 0o644)
	r = h.run(nil, h.node(0).Name)
	mustContain(t, "stdout", r.stdout, "Secrets that are not committed SOPS-encrypted in "+h.nodesEnv()["SECRETS_DIR"]+": "+secrets[0]+" (")
	h.withSecrets()

	r = h.run(nil, h.node(0).Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantCalls(t, r.calls,
		"kubectl get nodes -o ",
		"kubectl apply -k "+filepath.Join(h.repo, h.nodeEnv(h.node(0).Name)["FLUX_SYNC"]),
		"kubectl -n flux-system wait kustomization/flux-system --for=condition=Ready",
	)
	mustContain(t, "stdout", r.stdout,
		"+ rm -f "+h.rootPath(manifests+"/helmchart-flux-operator.yaml")+"\n",
		"+ rm -f "+h.rootPath(manifests+"/kube-vip.yaml")+"\n",
		"install.sh: "+h.node(0).Name+": Flux syncs the cluster from git, and every built node is Ready\n")
	h.assertNotExist(manifests + "/kube-vip.yaml")
	h.assertNotExist(manifests + "/helmchart-flux-operator.yaml")
	mustNotContain(t, "stdout", r.stdout, "sync is not started")

	root, state := snapshot(t, h.root), snapshot(t, h.state)
	r = h.run(nil, h.node(0).Name)
	mustContain(t, "stdout", r.stdout, fmt.Sprintf("install.sh: %s: already installed at %s; nothing to do\n", h.node(0).Name, h.c.Versions.K3s))
	if got := changing(r.calls); r.code != 0 || len(got) > 0 {
		t.Errorf("third run: exit %d, changes:\n%s", r.code, strings.Join(got, "\n"))
	}
	if diff := cmp.Diff(root, snapshot(t, h.root)); diff != "" {
		t.Errorf("ROOT changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(state, snapshot(t, h.state)); diff != "" {
		t.Errorf("the installed state changed (-before +after):\n%s", diff)
	}
}

// TestFirstServerWithoutKubeVIP: the example cluster has no kube-vip and
// no Longhorn, and a private repository over https: the API awaited on the
// first server's own address, Flux's git credentials from the owner's
// file, and (its other node Ready already, its Secret committed) the sync.
func TestFirstServerWithoutKubeVIP(t *testing.T) {
	h := newHarnessFor(t, "example")
	if len(h.c.AppsOf("kube-vip")) > 0 || h.c.Flux.SecretName == "" || !strings.HasPrefix(h.c.Flux.URL, "https://") {
		t.Fatal("the example cluster changed: this test wants no kube-vip, and git credentials over https")
	}
	first := h.node(0)
	h.withSecrets().nodesReady()
	r := h.installFirstServer()
	creds := h.gitCredentials()[1]
	installer := "k3s-installer INSTALL_K3S_VERSION=" + h.c.Versions.K3s + " INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_SKIP_DOWNLOAD= args= config=present token=present manifests=helmchart-flux-operator.yaml"
	wantCalls(t, r.calls,
		installer,
		fmt.Sprintf("curl -ksf --max-time 5 https://%s:%d/ping", first.IP, h.c.Network.APIPort),
		"kubectl apply -f ",
		"kubectl -n flux-system create secret generic "+h.c.Flux.SecretName+" --from-literal=username=git --from-file=password="+creds,
		"kubectl apply -k ",
	)
	mustContain(t, "stdout", r.stdout, "+ rm -f "+h.rootPath(manifests+"/helmchart-flux-operator.yaml")+"\n")
	for _, c := range r.calls {
		if strings.HasPrefix(c, "apt-get install") && c != "apt-get install -y --no-install-recommends nftables" {
			t.Errorf("a cluster without Longhorn installs nftables alone, yet: %s", c)
		}
		if strings.HasPrefix(c, "ssh-keyscan") {
			t.Errorf("an https repository needs no host keys, yet: %s", c)
		}
	}
}

// TestSecondRunChangesNothing: an installed node at the pinned version is
// left as it is, and the script says so.
func TestSecondRunChangesNothing(t *testing.T) {
	h := newHarness(t)
	n := h.node(1)
	h.on(n)
	if r := h.run(nil, n.Name); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
	}
	root, state := snapshot(t, h.root), snapshot(t, h.state)
	r := h.run(nil, n.Name)
	if r.code != 0 {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, fmt.Sprintf("install.sh: %s: already installed at %s; nothing to do\n", n.Name, h.c.Versions.K3s))
	if got := changing(r.calls); len(got) > 0 {
		t.Errorf("the second run changed things:\n%s", strings.Join(got, "\n"))
	}
	if diff := cmp.Diff(root, snapshot(t, h.root)); diff != "" {
		t.Errorf("ROOT changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(state, snapshot(t, h.state)); diff != "" {
		t.Errorf("the installed state changed (-before +after):\n%s", diff)
	}
}

// TestConfigChangeRestartsK3s: K3s's installer restarts K3s only for a new
// binary, unit or env file; a changed config is applied by restarting the
// service, which the run says, and a restart that failed is retried by
// the next run; then nothing is left to do.
func TestConfigChangeRestartsK3s(t *testing.T) {
	for _, n := range []func(h *harness) model.Node{
		func(h *harness) model.Node { return h.node(1) },
		func(h *harness) model.Node { return *h.c.GPUNodes[0] },
	} {
		h := newHarness(t)
		node := n(h)
		h.on(node).withGPU()
		if r := h.run(nil, node.Name); r.code != 0 {
			t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
		}
		service := map[model.Role]string{model.Server: "k3s", model.Agent: "k3s-agent"}[node.Role]
		config := h.hostsPath(node.Name + "/k3s-config.yaml")
		b, _ := os.ReadFile(config)
		h.write(config, string(b)+"kubelet-arg:\n- max-pods=200\n", 0o644)

		// The restart fails: the run stops, and says so.
		h.write(filepath.Join(h.state, "restart-fails"), "", 0o644)
		r := h.run(nil, node.Name)
		if r.code != 1 {
			t.Errorf("%s: a failed restart exits %d, want 1", node.Name, r.code)
		}
		mustContain(t, "stderr", r.stderr, "install.sh: failed (exit 1): systemctl restart "+service)
		os.Remove(filepath.Join(h.state, "restart-fails"))

		// The config on disk is the new one now; the restart is still due.
		r = h.run(nil, node.Name)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", node.Name, r.code, r.stderr)
		}
		mustContain(t, "stdout", r.stdout, "install.sh: the K3s config of "+node.Name+" changed; restarting "+service+" to apply it")
		wantCalls(t, r.calls, "systemctl restart "+service, "kubectl wait --for=condition=Ready node/"+node.Name)
		for _, c := range r.calls {
			if strings.HasPrefix(c, "k3s-installer") || strings.HasPrefix(c, "curl -sfL") {
				t.Errorf("%s: a changed config re-ran the installer: %s", node.Name, c)
			}
		}
		h.assertFile("/etc/rancher/k3s/config.yaml", node.Name+"/k3s-config.yaml", 0o600)
		h.assertNotExist("/var/lib/rancher/k3s/bootstrap-restart-pending")

		r = h.run(nil, node.Name)
		mustContain(t, "stdout", r.stdout, fmt.Sprintf("install.sh: %s: already installed at %s; nothing to do\n", node.Name, h.c.Versions.K3s))
		if got := changing(r.calls); r.code != 0 || len(got) > 0 {
			t.Errorf("%s: the run after the restart: exit %d, changes:\n%s", node.Name, r.code, strings.Join(got, "\n"))
		}
	}
}

// TestPinnedBinary: with the binary's sha256 pinned, the script downloads
// and checks it, puts it in place, and the installer downloads nothing; a
// second run checks the installed binary against the pin.
func TestPinnedBinary(t *testing.T) {
	h := newHarness(t, pinBinary)
	n := h.node(1)
	h.on(n)
	r := h.run(nil, n.Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantCalls(t, r.calls,
		"curl -sfL --proto =https -o ",
		"curl -sfL --proto =https -o ",
		"k3s-installer INSTALL_K3S_VERSION="+h.c.Versions.K3s+" INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_SKIP_DOWNLOAD=true ",
	)
	mustContain(t, "the downloads", strings.Join(r.calls, "\n"), "https://github.com/k3s-io/k3s/releases/download/"+h.c.Versions.K3s+"/k3s\n")
	if b, _ := os.ReadFile(h.rootPath("/usr/local/bin/k3s")); string(b) != fakeBinary {
		t.Errorf("/usr/local/bin/k3s is %q, not the pinned binary", b)
	}
	h.assertMode("/usr/local/bin/k3s", 0o755)
	mustNotContain(t, "stderr", r.stderr, "pins no sha256")
	if r := h.run(nil, n.Name); r.code != 0 || len(changing(r.calls)) > 0 {
		t.Errorf("second run: exit %d, changes %v", r.code, changing(r.calls))
	}
	// A binary that is not the pinned one is replaced.
	h.write(h.rootPath("/usr/local/bin/k3s"), "another binary\n", 0o755)
	r = h.run(nil, n.Name)
	mustContain(t, "stdout", r.stdout, "is not the "+h.c.Versions.K3s+" (amd64) that cue/clusters/polylab/versions.cue pins by sha256")
	if b, _ := os.ReadFile(h.rootPath("/usr/local/bin/k3s")); string(b) != fakeBinary {
		t.Errorf("/usr/local/bin/k3s is %q, not the pinned binary", b)
	}
}

// TestJoiningServer: with the secure token copied, a server joins through
// the VIP once it answers, and installs no Flux.
func TestJoiningServer(t *testing.T) {
	h := newHarness(t)
	n := h.node(1)
	h.on(n)
	token, _ := os.ReadFile(h.rootPath(host.TokenFile))
	if !regexp.MustCompile(`^K10[0-9a-f]{64}::server:.+\n$`).Match(token) {
		t.Fatalf("the copied token is not a secure one")
	}
	r := h.run(nil, n.Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	h.assertFile("/etc/rancher/k3s/config.yaml", n.Name+"/k3s-config.yaml", 0o600)
	config, _ := os.ReadFile(h.rootPath("/etc/rancher/k3s/config.yaml"))
	mustContain(t, "the config", string(config), "server: "+h.apiURL()+"\n", "token-file: "+host.TokenFile+"\n")
	wantCalls(t, r.calls,
		"curl -ksf --max-time 5 "+h.apiURL()+"/ping",
		"k3s-installer INSTALL_K3S_VERSION="+h.c.Versions.K3s+" INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_SKIP_DOWNLOAD= args= config=present token=present manifests=",
		"kubectl wait --for=condition=Ready node/"+n.Name,
	)
	for _, c := range r.calls {
		if strings.HasPrefix(c, "flux") || strings.Contains(c, "fluxinstance") || strings.HasPrefix(c, "kubectl apply") {
			t.Errorf("a joining server installs no Flux, yet: %s", c)
		}
	}
	h.assertNotExist(manifests)
	if got, _ := os.ReadFile(h.rootPath(host.TokenFile)); !bytes.Equal(got, token) {
		t.Error("the copied token was changed")
	}
	mustNotContain(t, "stdout", r.stdout+r.stderr, strings.TrimSpace(string(token)))
	mustContain(t, "stdout", r.stdout, fmt.Sprintf("install.sh: next: %s (server, %s)", h.node(2).Name, h.node(2).IP))
}

// TestGPUAgent: the GPU node checks the NVIDIA driver and toolkit, then
// installs the K3s agent with the nvidia default runtime; as the last node,
// it sends the owner back to the first server for the sync.
func TestGPUAgent(t *testing.T) {
	h := newHarness(t)
	n := *h.c.GPUNodes[0]
	h.on(n).withGPU()
	r := h.run(nil, n.Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	h.assertFile("/etc/rancher/k3s/config.yaml", n.Name+"/k3s-config.yaml", 0o600)
	config, _ := os.ReadFile(h.rootPath("/etc/rancher/k3s/config.yaml"))
	mustContain(t, "the config", string(config), "default-runtime: nvidia\n", "nvidia.com/gpu.present=true", "nvidia.com/gpu=true:NoSchedule")
	wantCalls(t, r.calls,
		"nvidia-smi -L",
		"k3s-installer INSTALL_K3S_VERSION="+h.c.Versions.K3s+" INSTALL_K3S_EXEC=agent INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_SKIP_DOWNLOAD= args= config=present token=present",
		"kubectl get node "+n.Name+" KUBECONFIG="+h.rootPath("/var/lib/rancher/k3s/agent/kubelet.kubeconfig"),
	)
	if n.Name == h.node(-1).Name {
		mustContain(t, "stdout", r.stdout,
			fmt.Sprintf("install.sh: %s is the last node to install (%d of %d); planned, not built yet: %s\n",
				n.Name, len(h.c.Built), len(h.c.Built), h.plannedNode().Name),
			"then, on "+h.node(0).Name+", as root: bootstrap/install.sh --cluster "+h.cluster+" "+h.node(0).Name+"  (it starts Flux's sync")
	}
}

func TestRefusals(t *testing.T) {
	type setup struct {
		h    *harness
		args []string
		env  []string
	}
	first := func(h *harness) model.Node { return h.node(0) }
	tests := []struct {
		name    string
		prepare func(s *setup)
		want    func(h *harness) string
	}{{
		name:    "unknown node",
		prepare: func(s *setup) { s.h.on(first(s.h)); s.args = []string{"nope"} },
		want: func(h *harness) string {
			var names []string
			for i := range h.c.Built {
				names = append(names, h.node(i).Name)
			}
			return fmt.Sprintf("install.sh: node nope is not in cue/clusters/%s; its nodes are: %s (planned: %s)\n", h.cluster, strings.Join(names, " "), h.plannedNode().Name)
		},
	}, {
		name:    "planned node",
		prepare: func(s *setup) { s.args = []string{s.h.plannedNode().Name} },
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: node %s is planned in cue/clusters/%s (planned: true); build it first, give it its ip, set planned: false and render again\n", h.plannedNode().Name, h.cluster)
		},
	}, {
		name: "another host",
		prepare: func(s *setup) {
			s.h.ip = "10.9.8.7"
			s.args = []string{first(s.h).Name}
		},
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: this host's addresses (127.0.0.1 10.9.8.7) do not include %s's ip %s; run install.sh on %s itself\n", h.node(0).Name, h.node(0).IP, h.node(0).Name)
		},
	}, {
		name: "joining without the token",
		prepare: func(s *setup) {
			s.h.ip = s.h.node(1).IP.String()
			s.args = []string{s.h.node(1).Name}
		},
		want: func(h *harness) string {
			n, f, tf := h.node(1), h.node(0), host.TokenFile
			return fmt.Sprintf("install.sh: %s joins the cluster with the secure token of %s, and %s is missing or empty here; copy it from %s first (it is a secret: never commit or paste it):\n  mkdir -p /etc/rancher/k3s && scp root@%s:/var/lib/rancher/k3s/server/token %s && chmod 600 %s\n",
				n.Name, f.Name, tf, f.Name, f.IP, tf, tf)
		},
	}, {
		name: "joining with a short token",
		prepare: func(s *setup) {
			s.h.on(s.h.node(1))
			s.h.write(s.h.rootPath(host.TokenFile), "0123456789abcdef0123456789abcdef\n", 0o600)
			s.args = []string{s.h.node(1).Name}
		},
		want: func(h *harness) string {
			n, f, tf := h.node(1), h.node(0), host.TokenFile
			return fmt.Sprintf("install.sh: %s on %s does not hold a secure token (K10<CA hash>::server:<password>): with a short one, %s would trust whatever CA answers at %s on its first connection. Copy the secure token, which K3s wrote to /var/lib/rancher/k3s/server/token on %s, over it (it is a secret: never commit or paste it):\n  mkdir -p /etc/rancher/k3s && scp root@%s:/var/lib/rancher/k3s/server/token %s && chmod 600 %s\n",
				tf, n.Name, n.Name, h.apiURL(), f.Name, f.IP, tf, tf)
		},
	}, {
		name: "a K3s installer that is not the pinned one",
		prepare: func(s *setup) {
			s.h.on(s.h.node(1))
			s.h.write(filepath.Join(s.h.state, "tamper"), "", 0o644)
			s.args = []string{s.h.node(1).Name}
		},
		want: func(h *harness) string {
			env := h.nodeEnv(h.node(1).Name)
			return fmt.Sprintf("install.sh: the K3s installer at %s has sha256 %s, and cue/clusters/polylab/versions.cue pins %s: refusing to run it. Compute the sha256 of that file on a machine you trust: if it is %s, correct the pin and render again; if not, the download was tampered with\n",
				env["K3S_INSTALLER_URL"], sha256hex(fakeInstaller+"# tampered with\n"), env["K3S_INSTALLER_SHA256"], sha256hex(fakeInstaller+"# tampered with\n"))
		},
	}, {
		name: "firewalld",
		prepare: func(s *setup) {
			s.h.on(s.h.node(-1)).withGPU()
			s.h.write(filepath.Join(s.h.state, "enabled-firewalld"), "", 0o644)
			s.args = []string{s.h.node(-1).Name}
		},
		want: func(h *harness) string {
			n := h.node(-1).Name
			return "install.sh: firewalld is active or enabled on " + n + ": install.sh loads the host firewall rendered for " + n + " and K3s writes its own rules; two firewall managers on one node rewrite or drop each other's rules. Turn it off first: systemctl disable --now firewalld && systemctl mask firewalld\n"
		},
	}, {
		name: "ufw",
		prepare: func(s *setup) {
			s.h.on(s.h.node(-1)).withGPU()
			// ufw.service is active on every Ubuntu: that alone is no refusal.
			s.h.write(filepath.Join(s.h.state, "active-ufw"), "", 0o644)
			s.h.write(s.h.rootPath("/etc/ufw/ufw.conf"), "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n", 0o644)
			s.args = []string{s.h.node(-1).Name}
		},
		want: func(h *harness) string {
			n := h.node(-1).Name
			return "install.sh: ufw is enabled on " + n + ": install.sh loads the host firewall rendered for " + n + " and K3s writes its own rules; two firewall managers on one node rewrite or drop each other's rules. Turn it off first: ufw disable (it sets ENABLED=no in /etc/ufw/ufw.conf and removes its rules)\n"
		},
	}, {
		name: "joining before the VIP answers",
		prepare: func(s *setup) {
			s.h.on(s.h.node(1)).clusterUp(false)
			s.args = []string{s.h.node(1).Name}
		},
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: %s joins through %s, which does not answer; %s must be installed and Ready first, and kube-vip must hold %s (on %s: kubectl -n kube-system get pods -o wide | grep kube-vip)\n",
				h.node(1).Name, h.apiURL(), h.node(0).Name, h.c.Network.APIVIP, h.node(0).Name)
		},
	}, {
		name: "first server of a running cluster",
		prepare: func(s *setup) {
			s.h.on(first(s.h)).clusterUp(true)
			s.args = s.h.firstServerArgs()
		},
		want: func(h *harness) string {
			n := h.node(0).Name
			return fmt.Sprintf("install.sh: %s would start a new cluster (cluster-init), and the API at %s already answers: the cluster runs without it. To rebuild %s, remove it from the cluster (kubectl delete node %s on a server) and join it by hand with server: %s in place of cluster-init\n",
				n, h.apiURL(), n, n, h.apiURL())
		},
	}, {
		name: "GPU node without the driver",
		prepare: func(s *setup) {
			n := *s.h.c.GPUNodes[0]
			s.h.on(n)
			s.args = []string{n.Name}
		},
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: the model gives %s an NVIDIA GPU, and nvidia-smi fails: install the NVIDIA driver (and reboot) first\n", h.c.GPUNodes[0].Name)
		},
	}, {
		name: "first server without the age key",
		prepare: func(s *setup) {
			s.h.on(first(s.h))
			s.args = append(s.h.gitCredentials(), first(s.h).Name)
		},
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: Flux decrypts the cluster's secrets with the SOPS age key, and %s is not a readable file; pass --age-key FILE (the private key, kept outside git)\n",
				filepath.Join(h.home, ".config/sops/age/keys.txt"))
		},
	}, {
		name: "a firewall that cuts this SSH session",
		prepare: func(s *setup) {
			s.h.on(first(s.h)).withFirewall(first(s.h).Name)
			s.args = append(append([]string{"--age-key", s.h.ageKey()}, s.h.gitCredentials()...), first(s.h).Name)
			s.env = []string{"SSH_CONNECTION=10.8.0.2 50000 " + first(s.h).IP.String() + " 22"}
		},
		want: func(h *harness) string {
			return fmt.Sprintf("install.sh: the host firewall of %s keeps SSH open on port %d from the LAN %s only, and this session comes from 10.8.0.2 to port 22: applying it would cut the session; run install.sh from the LAN or at the console\n",
				h.node(0).Name, h.c.Network.SSHPort, h.c.Network.LAN)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &setup{h: newHarness(t)}
			tt.prepare(s)
			root := snapshot(t, s.h.root)
			r := s.h.run(s.env, s.args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if diff := cmp.Diff(tt.want(s.h), r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if got := changing(r.calls); len(got) > 0 {
				t.Errorf("a refused run changed things:\n%s", strings.Join(got, "\n"))
			}
			if diff := cmp.Diff(root, snapshot(t, s.h.root)); diff != "" {
				t.Errorf("ROOT changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestUsage: a missing node or a wrong option is a usage error.
func TestUsage(t *testing.T) {
	h := newHarness(t)
	for args, want := range map[string]string{
		"":                "install.sh: name the node to install; see --help\n",
		"--bogus x":       "install.sh: unknown option --bogus; see --help\n",
		"--cluster":       "install.sh: --cluster needs a value; see --help\n",
		"a b":             "install.sh: one node at a time: a, then b; see --help\n",
		"--cluster nop x": "install.sh: cluster nop is not rendered: " + filepath.Join(h.repo, "clusters/nop/hosts") + "/nodes.env is missing; run go run ./cmd/render -cluster nop\n",
	} {
		r := h.run(nil, strings.Fields(args)...)
		if want := map[bool]int{true: 1, false: 2}[strings.HasPrefix(args, "--cluster nop")]; r.code != want {
			t.Errorf("%q: exit %d, want %d", args, r.code, want)
		}
		if r.stderr != want {
			t.Errorf("%q: stderr = %q, want %q", args, r.stderr, want)
		}
	}
	if r := h.run(nil, "--help"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: bootstrap/install.sh") {
		t.Errorf("--help: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestDryRunOnAnotherMachine: a reviewer reads the plan of every node on
// any machine: every command, every file with its content, the token
// masked; the host check is reported; nothing runs and nothing is written.

// TestDryRunOnAnotherMachine: a reviewer reads the plan of every node on
// any machine: every command, every file with its content, the token
// masked; the host check is reported; nothing runs and nothing is written.
func TestDryRunOnAnotherMachine(t *testing.T) {
	h := newHarness(t)
	h.ip = "10.9.8.7"
	for i := range h.c.Built {
		n := h.node(i)
		env := h.nodeEnv(n.Name)
		r := h.run(nil, "--dry-run", n.Name)
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", n.Name, r.code, r.stderr)
			continue
		}
		mustContain(t, n.Name+" plan", r.stdout,
			fmt.Sprintf("install.sh: host check: this host's addresses (127.0.0.1 10.9.8.7) do not include %s's ip %s; run install.sh on %s itself (dry run: reported, not enforced;", n.Name, n.IP, n.Name),
			"+ check: no firewalld (systemctl is-active/is-enabled firewalld) and no ufw",
			"+ curl -sfL --proto =https -o ",
			" "+env["K3S_INSTALLER_URL"]+"  # then sha256sum: must be "+env["K3S_INSTALLER_SHA256"]+"\n",
			"+ install -D -m 0600 "+h.hostsPath(n.Name+"/k3s-config.yaml")+" "+h.rootPath("/etc/rancher/k3s/config.yaml")+"\n  | # "+tree.Marker,
			fmt.Sprintf("\n  | node-name: %s\n", n.Name),
			"apt-get install -y --no-install-recommends nftables ",
			fmt.Sprintf("+ env INSTALL_K3S_VERSION=%s INSTALL_K3S_EXEC=%s INSTALL_K3S_FORCE_RESTART=true sh ", h.c.Versions.K3s, n.Role),
			"install.sh: dry run: ",
			" planned for "+n.Name+"; nothing was changed\n",
		)
		if i == 0 {
			mustContain(t, n.Name+" plan", r.stdout,
				"+ head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > "+h.rootPath(host.TokenFile)+"  # mode 0600\n  | ********\n",
				"\n  | kind: DaemonSet\n",
				"\n  | kind: HelmChart\n",
				"+ kubectl get crd fluxinstances.fluxcd.controlplane.io",
				"+ kubectl apply -f "+filepath.Join(h.repo, env["FLUX_INSTANCE"])+"\n",
				"+ kubectl -n flux-system wait fluxinstance/flux --for=condition=Ready",
				"+ ssh-keyscan -p 22 github.com > ",
				"+ check: every built node Ready (kubectl get nodes): "+h.nodesEnv()["NODES"]+"\n",
				"Flux's sync is not started: the model declares Secrets that are not committed",
			)
		} else {
			mustContain(t, n.Name+" plan", r.stdout, "+ check: test -s "+h.rootPath(host.TokenFile)+"\n")
		}
	}
	if got := slices.DeleteFunc(h.readCalls(), func(c string) bool { return strings.HasPrefix(c, "ip ") }); len(got) > 0 {
		t.Errorf("a dry run on another machine ran more than ip:\n%s", strings.Join(got, "\n"))
	}
	if files := snapshot(t, h.root); len(files) != 1 {
		t.Errorf("a dry run wrote under ROOT: %v", files)
	}
	if files := snapshot(t, h.state); len(files) != 1 {
		t.Errorf("a dry run installed: %v", files)
	}

	// With every Secret committed, the first server's plan applies the sync.
	h.withSecrets()
	r := h.run(nil, "--dry-run", h.node(0).Name)
	mustContain(t, "plan", r.stdout, "+ kubectl apply -k "+filepath.Join(h.repo, "clusters", h.cluster, "flux-system")+"\n",
		"+ rm -f "+h.rootPath(manifests+"/kube-vip.yaml")+"\n")
}

// TestDryRunOnTheNode: on the node itself, the plan follows its state,
// reports a refusal instead of stopping, and never shows the token.
func TestDryRunOnTheNode(t *testing.T) {
	h := newHarness(t)
	n := h.node(1)
	h.on(n).clusterUp(false)
	token, _ := os.ReadFile(h.rootPath(host.TokenFile))
	root := snapshot(t, h.root)
	r := h.run(nil, "--dry-run", n.Name)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "plan", r.stdout,
		"install.sh: dry run: would refuse: "+n.Name+" joins through "+h.apiURL()+", which does not answer;",
		"install.sh: dry run: 1 check(s) above would stop a real run here; the rest of the plan follows\n",
		"+ apt-get update\n",
		"+ env INSTALL_K3S_VERSION="+h.c.Versions.K3s+" INSTALL_K3S_EXEC=server INSTALL_K3S_FORCE_RESTART=true sh ",
	)
	mustNotContain(t, "plan", r.stdout+r.stderr, strings.TrimSpace(string(token)))
	if got := changing(r.calls); len(got) > 0 {
		t.Errorf("a dry run changed things:\n%s", strings.Join(got, "\n"))
	}
	for _, c := range r.calls {
		if strings.HasPrefix(c, "curl -sfL") {
			t.Errorf("a dry run downloaded: %s", c)
		}
	}
	if diff := cmp.Diff(root, snapshot(t, h.root)); diff != "" {
		t.Errorf("ROOT changed (-before +after):\n%s", diff)
	}
}

func (h *harness) withFirewall(node string) *harness {
	p := h.hostsPath(path.Join(node, "nftables.nft"))
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		h.write(p, "# "+tree.Marker+"\ntable inet host {\n}\n", 0o644)
	}
	return h
}

// TestFirewall: a rendered rule set is checked, kept for boot (the owner's
// own file backed up once) and applied before K3s, from an SSH session on
// the LAN; a second run leaves it.

// TestFirewall: nftables is installed first, then the rendered rule set is
// checked, kept for boot (the owner's own file backed up once) and applied
// before K3s, from an SSH session on the LAN; a second run leaves it. An
// active ufw.service alone (every Ubuntu has one) is no refusal.
func TestFirewall(t *testing.T) {
	h := newHarness(t)
	n := h.node(0)
	h.on(n).withFirewall(n.Name).withSecrets()
	h.write(h.rootPath("/etc/nftables.conf"), "#!/usr/sbin/nft -f\nflush ruleset\n", 0o755)
	h.write(filepath.Join(h.state, "active-ufw"), "", 0o644)
	ssh := []string{fmt.Sprintf("SSH_CONNECTION=%s 50000 %s %d", lanHost(t, h.c.Network.LAN), n.IP, h.c.Network.SSHPort)}
	args := h.firstServerArgs()
	r := h.run(ssh, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantCalls(t, r.calls,
		"ufw status",
		"apt-get install -y --no-install-recommends nftables",
		"nft -c -f "+h.hostsPath(n.Name+"/nftables.nft"),
		"nft -f "+h.rootPath("/etc/nftables.conf"),
		"systemctl enable nftables",
		"k3s-installer ",
	)
	h.assertFile("/etc/nftables.conf", n.Name+"/nftables.nft", 0o644)
	if b, _ := os.ReadFile(h.rootPath("/etc/nftables.conf.orig")); string(b) != "#!/usr/sbin/nft -f\nflush ruleset\n" {
		t.Errorf("the owner's nftables.conf was not kept aside: %q", b)
	}
	r = h.run(ssh, args...)
	if got := changing(r.calls); r.code != 0 || len(got) > 0 {
		t.Errorf("second run: exit %d, changes:\n%s", r.code, strings.Join(got, "\n"))
	}
}

// lanHost is an address inside the LAN, for an SSH client there.
func lanHost(t *testing.T, lan netip.Prefix) string {
	t.Helper()
	a := lan.Masked().Addr().As4()
	a[3] = 250
	if host := netip.AddrFrom4(a); lan.Contains(host) {
		return host.String()
	}
	t.Fatalf("LAN %s has no address .250", lan)
	return ""
}

// TestShellcheck: the scripts pass shellcheck. It is a required tool:
// hack/ensure-tools.sh shellcheck installs it.
func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is missing; install it with hack/ensure-tools.sh shellcheck (as root)")
	}
	scripts, _ := filepath.Glob("*.sh")
	hack, _ := filepath.Glob("../hack/*.sh")
	cmd := exec.Command("shellcheck", append(scripts, hack...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
}

// fakes are the commands the script calls, as shell scripts. Each appends
// its command line to $FAKE_CALLS and keeps what it installed in
// $FAKE_STATE; none touches ROOT.
var fakes = map[string]string{
	"ip": `echo "ip $*" >> "$FAKE_CALLS"
echo "1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever"
echo "2: eth0    inet $FAKE_IP/24 brd 255.255.255.255 scope global eth0\       valid_lft forever preferred_lft forever"
`,
	// curl serves the pinned K3s installer (tampered with when the state
	// says so), the K3s release binary and the API's /ping.
	"curl": `echo "curl $*" >> "$FAKE_CALLS"
out=""
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift ;;
	*) url=$1 ;;
	esac
	shift
done
case $url in
https://raw.githubusercontent.com/k3s-io/k3s/*/install.sh) body=$FAKE_BIN/k3s-install.sh ;;
https://github.com/k3s-io/k3s/releases/download/*/k3s*) body=$FAKE_BIN/k3s-binary ;;
*/ping) [ -e "$FAKE_STATE/k3s-version" ] || [ -e "$FAKE_STATE/cluster-up" ] || exit 7; echo pong; exit 0 ;;
*) echo "fake curl: no $url" >&2; exit 22 ;;
esac
if [ -n "$out" ]; then
	cat "$body" > "$out"
	[ ! -e "$FAKE_STATE/tamper" ] || echo "# tampered with" >> "$out"
else
	cat "$body"
fi
`,
	"k3s": `echo "k3s $*" >> "$FAKE_CALLS"
[ "$1" = --version ] && [ -f "$FAKE_STATE/k3s-version" ] || exit 1
echo "k3s version $(cat "$FAKE_STATE/k3s-version") (fake)"
echo "go version go1.25.0"
`,
	// kubectl answers from the state: the API is up once K3s is installed,
	// with the Flux Operator's CRD (K3s installs it from its HelmChart). The
	// Ready nodes are this machine's and those in the state's ready-nodes.
	"kubectl": `printf '%s\n' "kubectl $* KUBECONFIG=$KUBECONFIG" >> "$FAKE_CALLS"
s=$FAKE_STATE
[ -f "$s/k3s-version" ] || { echo "The connection to the server was refused" >&2; exit 1; }
pos=""
while [ $# -gt 0 ]; do
	case $1 in
	-k|-f) pos="$pos $2"; shift ;;
	-n|-o|--namespace|--kubeconfig) shift ;;
	-*) ;;
	*) pos="$pos $1" ;;
	esac
	shift
done
set -- $pos
case "$1 $2" in
"get node"|"get crd"|"wait "*) ;;
"get nodes") for n in $FAKE_NODE $(cat "$s/ready-nodes" 2>/dev/null); do echo "$n=True"; done ;;
"get secret") [ -f "$s/secret-$3" ] ;;
"create secret") : > "$s/secret-$4" ;;
"get kustomization") [ -f "$s/synced" ] ;;
"diff "*) cmp -s "$2" "$s/applied-$(basename "$2")" ;;
"apply "*)
	if [ -d "$2" ]; then [ -f "$2/kustomization.yaml" ] || exit 1; : > "$s/synced"
	else cp "$2" "$s/applied-$(basename "$2")"; fi ;;
*) echo "fake kubectl: unexpected $pos" >&2; exit 1 ;;
esac
`,
	"ssh-keyscan": `echo "ssh-keyscan $*" >> "$FAKE_CALLS"; echo "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE"`,
	"ssh-keygen":  `echo "ssh-keygen $*" >> "$FAKE_CALLS"; echo "256 SHA256:FAKEfingerprint github.com (ED25519)"`,
	"ufw":         `echo "ufw $*" >> "$FAKE_CALLS"; if [ -f "$FAKE_STATE/ufw-active" ]; then echo "Status: active"; else echo "Status: inactive"; fi`,
	"systemctl": `echo "systemctl $*" >> "$FAKE_CALLS"
s=$FAKE_STATE
case $1 in
is-active) [ -f "$s/active-$3" ] ;;
is-enabled) [ -f "$s/enabled-$3" ] ;;
enable) if [ "$2" = --now ]; then : > "$s/active-$3"; : > "$s/enabled-$3"; else : > "$s/enabled-$2"; fi ;;
restart) [ ! -f "$s/restart-fails" ] ;;
esac
`,
	"apt-get": `echo "apt-get $*" >> "$FAKE_CALLS"
[ "$1" = install ] || exit 0
shift
for p; do case $p in -*) ;; *) : > "$FAKE_STATE/pkg-$p" ;; esac; done
`,
	"dpkg-query": `echo "dpkg-query $*" >> "$FAKE_CALLS"
for p; do :; done
[ -f "$FAKE_STATE/pkg-$p" ] || { echo "dpkg-query: no packages found matching $p" >&2; exit 1; }
printf installed
`,
	"nft":        `echo "nft $*" >> "$FAKE_CALLS"`,
	"nvidia-smi": `echo "nvidia-smi $*" >> "$FAKE_CALLS"; [ -f "$FAKE_STATE/nvidia-driver" ] && echo "GPU 0: fake"`,
	"sleep":      `:`,
}
