package deploy

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ferrymetrics/ferry/config"
)

// manifest is the part of a Kubernetes object the tests look at.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas int `yaml:"replicas"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				InitContainers                []container `yaml:"initContainers"`
				Containers                    []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
}

func readManifests(t *testing.T, path string) map[string]manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]manifest{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, path)
		require.NotEmpty(t, m.APIVersion, path)
		require.NotEmpty(t, m.Kind, path)
		require.NotEmpty(t, m.Metadata.Name, "%s: a %s without a name", path, m.Kind)
		out[m.Kind+"/"+m.Metadata.Name] = m
	}
	return out
}

// flag returns the value of --name in args.
func flag(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// requireGraceOutlastsShutdown checks that Kubernetes waits longer than
// ferry's shutdown may take, so a shutdown is never cut short by SIGKILL.
func requireGraceOutlastsShutdown(t *testing.T, m manifest) {
	t.Helper()
	args := m.Spec.Template.Spec.Containers[0].Args
	timeout, err := time.ParseDuration(flag(args, "shutdown.timeout"))
	require.NoError(t, err, "--shutdown.timeout is set")
	grace := time.Duration(m.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	require.Greater(t, grace, timeout+5*time.Second)
	require.Equal(t, "/etc/ferry/ferry.yml", flag(args, "config.file"))
	require.Equal(t, "/var/lib/ferry", flag(args, "storage.agent.path"))
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestDaemonSetRendersItsNodesConfigurationAndItLoads(t *testing.T) {
	ms := readManifests(t, "kubernetes/daemonset.yaml")
	ds, ok := ms["DaemonSet/ferry-node"]
	require.True(t, ok)
	requireGraceOutlastsShutdown(t, ds)
	require.Contains(t, ms, "ClusterRole/ferry-node")

	// Run the init container's command as the pod would, with its paths
	// moved into a temporary directory.
	var render []string
	for _, c := range ds.Spec.Template.Spec.InitContainers {
		if c.Name == "node-config" {
			render = c.Command
		}
	}
	require.Len(t, render, 3, "sh -c <script>")
	dir := t.TempDir()
	for _, d := range []string{"template", "config"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	tmpl := ms["ConfigMap/ferry-node"].Data["ferry.yml.tmpl"]
	require.NoError(t, os.WriteFile(filepath.Join(dir, "template", "ferry.yml.tmpl"), []byte(tmpl), 0o644))
	script := strings.NewReplacer("/etc/ferry-template/", dir+"/template/", "/etc/ferry/", dir+"/config/").Replace(render[2])
	cmd := exec.Command(render[0], render[1], script)
	cmd.Env = append(os.Environ(), "NODE_NAME=node-a")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	rendered, err := os.ReadFile(filepath.Join(dir, "config", "ferry.yml"))
	require.NoError(t, err, "the init container writes the file --config.file names")
	require.NotContains(t, string(rendered), "__NODE_NAME__")
	require.Contains(t, string(rendered), "field: spec.nodeName=node-a", "only the node's own pods")
	cfg, err := config.Load(rendered, dir, quiet())
	require.NoError(t, err)
	require.Equal(t, "node-a", cfg.Prometheus.GlobalConfig.ExternalLabels.Get("node"))
	require.Len(t, cfg.RemoteWrite, 1)
}

func TestShardedStatefulSetSplitsTargetsByPodOrdinalAndItsConfigurationLoads(t *testing.T) {
	ms := readManifests(t, "kubernetes/statefulset-sharded.yaml")
	sts, ok := ms["StatefulSet/ferry"]
	require.True(t, ok)
	requireGraceOutlastsShutdown(t, sts)
	for _, want := range []string{"ClusterRole/ferry", "ClusterRoleBinding/ferry", "ServiceAccount/ferry", "Service/ferry"} {
		require.Contains(t, ms, want)
	}
	args := sts.Spec.Template.Spec.Containers[0].Args
	require.Equal(t, strconv.Itoa(sts.Spec.Replicas), flag(args, "cluster.shards"), "one shard per replica")
	require.Equal(t, "-1", flag(args, "cluster.shard-index"), "the shard is the pod's ordinal")

	cfg, err := config.Load([]byte(ms["ConfigMap/ferry-sharded"].Data["ferry.yml"]), t.TempDir(), quiet())
	require.NoError(t, err)
	var jobs []string
	for _, sc := range cfg.Scrape {
		jobs = append(jobs, sc.JobName)
	}
	require.Equal(t, []string{"ferry", "pods"}, jobs)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestSystemdUnitVerifies(t *testing.T) {
	unit := mustRead(t, "systemd/ferry.service")
	require.Contains(t, unit, "ExecReload=/bin/kill -HUP $MAINPID", "reload is SIGHUP")
	stop := regexp.MustCompile(`TimeoutStopSec=(\d+)s`).FindStringSubmatch(unit)
	shutdown := regexp.MustCompile(`--shutdown.timeout=(\d+)s`).FindStringSubmatch(unit)
	require.NotNil(t, stop)
	require.NotNil(t, shutdown)
	require.Greater(t, atoi(t, stop[1]), atoi(t, shutdown[1])+5, "systemd waits longer than a shutdown may take")

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not verified here")
	}
	// The unit names /usr/local/bin/ferry, which verify requires to exist:
	// point it at an executable that does.
	self, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "ferry.service")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/ferry", self)), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify has no complaint")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// TestImageBuildStepMakesAStaticBinary runs the Dockerfile's build step,
// deploy/build.sh, and checks that the binary needs no libc (so it runs on
// distroless/static) and carries the version it was given.
func TestImageBuildStepMakesAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ferry: skipped with -short")
	}
	dockerfile := mustRead(t, "Dockerfile")
	require.Contains(t, dockerfile, `./deploy/build.sh /out/ferry "$VERSION" "$REVISION"`)
	require.Contains(t, dockerfile, "FROM gcr.io/distroless/static-debian12:nonroot")
	require.Contains(t, dockerfile, "USER 65532:65532")

	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("./build.sh", bin, "9.9.9-test", "abc123")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary has no dynamic loader")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "no shared libraries")

	out, err = exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "ferry, version 9.9.9-test (revision: abc123)")
}
