package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// pipyImage is the image placeholder the samples use for pipy containers
// (the image built from packaging/docker/Dockerfile).
const pipyImage = "pipy-go:"

// pipyBinary is bin/pipy, relative to this package's directory.
const pipyBinary = "../../bin/pipy"

// manifests are the files the samples must consist of.
var manifests = []string{"standalone.yaml", "ingress.yaml", "sidecar.yaml"}

// document is one YAML document of a manifest, decoded.
type document struct {
	file  string
	index int // 1-based position in the file
	obj   runtime.Object
}

func (d document) String() string { return d.file + " document " + strconv.Itoa(d.index) }

// strictDecoder decodes YAML into the registered API types the way the API
// server does with field validation Strict: unknown fields, duplicate fields
// and fields in the wrong case are errors.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

// splitYAML returns the non-empty documents of a multi-document YAML file.
func splitYAML(t *testing.T, file string, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// A document of comments only decodes to null: skip it.
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, doc)
	}
}

// loadAll decodes every document of every manifest strictly.
func loadAll(t *testing.T) []document {
	t.Helper()
	dec := strictDecoder(t)
	var out []document
	for _, file := range manifests {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs := splitYAML(t, file, data)
		if len(docs) == 0 {
			t.Fatalf("%s: no YAML documents", file)
		}
		for i, doc := range docs {
			d := document{file: file, index: i + 1}
			obj, gvk, err := dec.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s: %v", d, err)
				continue
			}
			d.obj = obj
			if gvk == nil || gvk.Kind == "" || gvk.Version == "" {
				t.Errorf("%s: no apiVersion/kind", d)
				continue
			}
			out = append(out, d)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// TestStrictDecoderRejects makes sure the decoder used below is strict: a
// misspelt field, a field in the wrong case and a duplicate field all fail.
func TestStrictDecoderRejects(t *testing.T) {
	dec := strictDecoder(t)
	base := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	for name, doc := range map[string]string{
		"unknown field":   base + "dta:\n  a: b\n",
		"wrong case":      base + "Data:\n  a: b\n",
		"duplicate field": base + "data:\n  a: b\ndata:\n  c: d\n",
		"unknown kind":    "apiVersion: v1\nkind: Nonsense\nmetadata:\n  name: x\n",
	} {
		if _, _, err := dec.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, _, err := dec.Decode([]byte(base+"data:\n  a: b\n"), nil, nil); err != nil {
		t.Errorf("valid ConfigMap: %v", err)
	}
}

// TestManifestsDecodeStrictly decodes every document of every manifest into
// the Kubernetes API types and checks that each sample has the kinds it
// promises.
func TestManifestsDecodeStrictly(t *testing.T) {
	docs := loadAll(t)
	kinds := map[string]map[string]int{}
	names := map[string]string{}
	for _, d := range docs {
		gvk := d.obj.GetObjectKind().GroupVersionKind()
		if kinds[d.file] == nil {
			kinds[d.file] = map[string]int{}
		}
		kinds[d.file][gvk.Kind]++
		key := gvk.Kind + "/" + objectName(d.obj)
		if prev, ok := names[key]; ok {
			t.Errorf("%s: %s is also defined in %s", d, key, prev)
		}
		names[key] = d.String()
	}
	want := map[string]map[string]int{
		"standalone.yaml": {"ConfigMap": 1, "Deployment": 1, "Service": 1},
		"ingress.yaml":    {"ConfigMap": 2, "Deployment": 3, "Service": 3, "PodDisruptionBudget": 1},
		"sidecar.yaml":    {"ConfigMap": 1, "Deployment": 1, "Service": 1},
	}
	for file, w := range want {
		for kind, n := range w {
			if kinds[file][kind] != n {
				t.Errorf("%s: %d %s(s), want %d", file, kinds[file][kind], kind, n)
			}
		}
	}
}

func objectName(obj runtime.Object) string {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Name
	case *corev1.ConfigMap:
		return o.Name
	case *corev1.Service:
		return o.Name
	case *policyv1.PodDisruptionBudget:
		return o.Name
	}
	return "?"
}

// pipyArgs is what a pipy container's command line says.
type pipyArgs struct {
	spawnAuto    bool
	adminHost    string
	adminPort    int
	drainTimeout time.Duration
	script       string
}

func parsePipyArgs(t *testing.T, where string, c corev1.Container) pipyArgs {
	a := pipyArgs{drainTimeout: 30 * time.Second}
	all := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) != 1 || path.Base(c.Command[0]) != "pipy" {
		t.Errorf("%s: command %q, want the pipy binary (so pipy is PID 1 and gets SIGTERM)", where, c.Command)
	}
	for _, arg := range all[1:] {
		key, val, _ := strings.Cut(arg, "=")
		switch {
		case arg == "--spawn=auto":
			a.spawnAuto = true
		case key == "--admin-port":
			host, port, err := net.SplitHostPort(val)
			if err != nil {
				host, port = "", val
			}
			n, err := strconv.Atoi(port)
			if err != nil {
				t.Errorf("%s: bad %s", where, arg)
			}
			a.adminHost, a.adminPort = host, n
		case key == "--drain-timeout":
			d, err := time.ParseDuration(val)
			if err != nil {
				t.Errorf("%s: bad %s", where, arg)
			}
			a.drainTimeout = d
		case !strings.HasPrefix(arg, "-"):
			if a.script != "" {
				t.Errorf("%s: two scripts: %s and %s", where, a.script, arg)
			}
			a.script = arg
		}
	}
	return a
}

// containerPort resolves a probe's or a Service's port (a number or a name)
// against a container's ports; 0 when it names no port of the container.
func containerPort(c corev1.Container, p intstr.IntOrString) int {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
		if p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// TestDeployments checks each Deployment: its selector matches its pods, and
// every pipy container runs --spawn=auto (the sidecar: one process, without
// it) with an admin port reachable by the kubelet, is probed for readiness
// with GET /ready and for liveness with GET /status on that port,
// has CPU and memory limits, runs as non-root without privilege escalation,
// and is given a grace period above its drain timeout (plus preStop sleep).
// Its script is the file of a mounted ConfigMap key.
func TestDeployments(t *testing.T) {
	docs := loadAll(t)
	configMaps := map[string]*corev1.ConfigMap{}
	for _, d := range docs {
		if cm, ok := d.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	perFile := map[string]int{}
	for _, d := range docs {
		dep, ok := d.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		where := d.String() + " (Deployment " + dep.Name + ")"
		sel := dep.Spec.Selector
		if sel == nil || len(sel.MatchLabels) == 0 {
			t.Errorf("%s: no selector", where)
		} else if !labels.SelectorFromSet(sel.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match the pod labels %v", where, sel.MatchLabels, dep.Spec.Template.Labels)
		}
		pod := dep.Spec.Template.Spec
		for _, c := range pod.Containers {
			// The kubelet resolves a probe's named port among the ports of
			// the probed container only.
			for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe, "startupProbe": c.StartupProbe} {
				if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.Type == intstr.String && containerPort(c, p.HTTPGet.Port) == 0 {
					t.Errorf("%s container %s: %s names port %q, which is not a port of this container", where, c.Name, name, p.HTTPGet.Port.StrVal)
				}
			}
			if !strings.HasPrefix(c.Image, pipyImage) {
				continue
			}
			perFile[d.file]++
			checkPipyContainer(t, where+" container "+c.Name, pod, c, configMaps)
		}
	}
	for _, f := range manifests {
		if perFile[f] == 0 {
			t.Errorf("%s: no pipy container (image %s...)", f, pipyImage)
		}
	}
}

func checkPipyContainer(t *testing.T, where string, pod corev1.PodSpec, c corev1.Container, configMaps map[string]*corev1.ConfigMap) {
	a := parsePipyArgs(t, where, c)
	sidecar := strings.Contains(where, "sidecar.yaml")
	switch {
	case sidecar && slicesContainsPrefix(c.Args, "--spawn"):
		t.Errorf("%s: args %q: a sidecar runs one process, without --spawn", where, c.Args)
	case !sidecar && !a.spawnAuto:
		t.Errorf("%s: args %q lack --spawn=auto", where, c.Args)
	}
	if !slicesContainsPrefix(c.Args, "--admin-port=") {
		t.Errorf("%s: args %q lack --admin-port", where, c.Args)
	}
	if a.adminPort == 0 {
		t.Errorf("%s: no admin port", where)
	} else if a.adminHost == "" || a.adminHost == "127.0.0.1" || a.adminHost == "localhost" || a.adminHost == "::1" {
		t.Errorf("%s: --admin-port on loopback (%q): the kubelet probes the pod IP, use 0.0.0.0:%d", where, a.adminHost, a.adminPort)
	}
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		want := map[string]string{"readinessProbe": "/ready", "livenessProbe": "/status"}[name]
		switch {
		case p == nil:
			t.Errorf("%s: no %s", where, name)
		case p.HTTPGet == nil:
			t.Errorf("%s: %s is not an httpGet", where, name)
		case p.HTTPGet.Path != want:
			t.Errorf("%s: %s path %q, want %s", where, name, p.HTTPGet.Path, want)
		case containerPort(c, p.HTTPGet.Port) != a.adminPort:
			t.Errorf("%s: %s port %s is not the admin port %d", where, name, p.HTTPGet.Port.String(), a.adminPort)
		}
	}

	// Grace period: preStop sleep + drain timeout + the master's margin (it
	// waits the drain timeout plus 1 s, then up to 5 s for killed workers).
	grace := 30 * time.Second
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if need := preStop + a.drainTimeout + 6*time.Second; grace < need {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want at least %v (preStop %v + drain %v + 6s)", where, grace, need, preStop, a.drainTimeout)
	}

	// Limits: --spawn=auto sizes itself by the CPU limit; a sidecar shares
	// its pod's budget.
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; !ok || q.IsZero() {
		t.Errorf("%s: no CPU limit (--spawn=auto would use every CPU of the node)", where)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
		t.Errorf("%s: no memory limit", where)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("%s: no %s request", where, r)
		}
	}

	// Non-root, no privilege escalation.
	nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		nonRoot = *c.SecurityContext.RunAsNonRoot
	}
	if !nonRoot {
		t.Errorf("%s: runAsNonRoot is not set", where)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}

	// The script: a key of a ConfigMap mounted as a directory (not subPath,
	// which the kubelet never updates), passed as the argument.
	if a.script == "" {
		t.Errorf("%s: no script argument", where)
		return
	}
	found := false
	for _, m := range c.VolumeMounts {
		if path.Dir(a.script) != path.Clean(m.MountPath) {
			continue
		}
		if m.SubPath != "" {
			t.Errorf("%s: %s is a subPath mount (never updated by the kubelet)", where, m.MountPath)
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Errorf("%s: ConfigMap %s is not in the samples", where, v.ConfigMap.Name)
			} else if _, ok := cm.Data[path.Base(a.script)]; !ok {
				t.Errorf("%s: ConfigMap %s has no key %s", where, cm.Name, path.Base(a.script))
			}
			found = true
		}
	}
	if !found {
		t.Errorf("%s: script %s is not in a mounted ConfigMap", where, a.script)
	}
}

func slicesContainsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestServices checks that each Service selects the pods of a Deployment of
// the same file and that its target ports exist in them.
func TestServices(t *testing.T) {
	docs := loadAll(t)
	for _, d := range docs {
		svc, ok := d.obj.(*corev1.Service)
		if !ok {
			continue
		}
		where := d.String() + " (Service " + svc.Name + ")"
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("%s: no selector", where)
			continue
		}
		var pods []corev1.PodSpec
		for _, o := range docs {
			if dep, ok := o.obj.(*appsv1.Deployment); ok && o.file == d.file &&
				labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
				pods = append(pods, dep.Spec.Template.Spec)
			}
		}
		if len(pods) == 0 {
			t.Errorf("%s: selects no Deployment's pods", where)
			continue
		}
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			for _, pod := range pods {
				ok := false
				for _, c := range pod.Containers {
					if containerPort(c, target) != 0 {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: target port %s is no container port", where, target.String())
				}
			}
		}
	}
}

// TestPodDisruptionBudgets checks that each PDB selects some pods.
func TestPodDisruptionBudgets(t *testing.T) {
	docs := loadAll(t)
	for _, d := range docs {
		pdb, ok := d.obj.(*policyv1.PodDisruptionBudget)
		if !ok {
			continue
		}
		sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels)
		matched := false
		for _, o := range docs {
			if dep, ok := o.obj.(*appsv1.Deployment); ok && sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				matched = true
			}
		}
		if !matched {
			t.Errorf("%s: PodDisruptionBudget %s selects no pods", d, pdb.Name)
		}
	}
}

// TestScriptsVerify writes every script (.js key) of every ConfigMap to a
// temporary directory and runs bin/pipy --verify on it.
func TestScriptsVerify(t *testing.T) {
	docs := loadAll(t)
	type script struct{ where, file string }
	var scripts []script
	dir := t.TempDir()
	for _, d := range docs {
		cm, ok := d.obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !strings.HasSuffix(k, ".js") {
				continue
			}
			sub := filepath.Join(dir, cm.Name)
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(sub, k)
			if err := os.WriteFile(f, []byte(cm.Data[k]), 0o644); err != nil {
				t.Fatal(err)
			}
			scripts = append(scripts, script{d.String() + " ConfigMap " + cm.Name + " key " + k, f})
		}
	}
	if len(scripts) != 4 {
		t.Errorf("found %d scripts in the ConfigMaps, want 4 (standalone, ingress, hello, sidecar)", len(scripts))
	}
	bin, err := filepath.Abs(pipyBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is missing (run ./build.sh or make first): the scripts were extracted but not verified", pipyBinary)
	}
	for _, s := range scripts {
		cmd := exec.Command(bin, "--verify", s.file)
		cmd.Env = append(os.Environ(), "PIPY_SPAWN=") // --verify runs in-process anyway
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: pipy --verify failed: %v\n%s", s.where, err, out)
			continue
		}
		if !strings.Contains(string(out), "Done.") {
			t.Errorf("%s: pipy --verify did not print Done.\n%s", s.where, out)
		}
	}
}
