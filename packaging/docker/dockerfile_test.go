package docker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile is a small parser for this Dockerfile's contract checks
// (lint.sh validates the syntax with a real Dockerfile linter): comments and
// blank lines dropped, `\` continuations joined, instructions split by FROM
// into stages.
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	var stages [][]instruction
	var cur *instruction
	for i, raw := range strings.Split(string(mustRead(t, path)), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		line = strings.TrimSpace(strings.TrimSuffix(line, "\\"))
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args = strings.TrimSpace(cur.args + " " + line)
		}
		if cont {
			continue
		}
		if cur.cmd == "FROM" || len(stages) == 0 {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], *cur)
		cur = nil
	}
	return stages
}

func find(stage []instruction, cmd string) []instruction {
	var out []instruction
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// one returns the single cmd instruction of stage.
func one(t *testing.T, stage []instruction, cmd string) instruction {
	t.Helper()
	ins := find(stage, cmd)
	if len(ins) != 1 {
		t.Fatalf("final stage: want exactly one %s, found %d", cmd, len(ins))
	}
	return ins[0]
}

func jsonArgs(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s: not the exec (JSON) form: %v", in.line, in.cmd, in.args, err)
	}
	return v
}

// TestDockerfileContract checks the image contract that the README and the
// entrypoint rely on.
func TestDockerfileContract(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	// Global ARGs come before the first FROM.
	args := map[string]string{}
	for _, in := range stages[0] {
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		}
	}
	var builds [][]instruction
	for _, s := range stages {
		if len(s) > 0 && s[0].cmd == "FROM" {
			builds = append(builds, s)
		}
	}
	if len(builds) != 3 {
		t.Fatalf("want a ui, a builder and a final stage, found %d stages", len(builds))
	}
	ui, builder, final := builds[0], builds[1], builds[2]
	if !strings.Contains(ui[0].args, "node:${NODE_VERSION}") || !strings.HasSuffix(ui[0].args, " AS ui") {
		t.Errorf("ui stage: FROM %s", ui[0].args)
	}
	var uiText string
	for _, in := range ui {
		uiText += in.cmd + " " + in.args + "\n"
	}
	for _, want := range []string{"package-lock.json", "npm ci", "npm run build"} {
		if !strings.Contains(uiText, want) {
			t.Errorf("ui stage lacks %q", want)
		}
	}

	// Base images: tagged through ARGs with pinned defaults, never latest.
	for _, s := range builds {
		from := s[0].args
		if strings.Contains(from, ":latest") || !strings.Contains(from, ":") {
			t.Errorf("line %d: FROM %s: pin a tag", s[0].line, from)
		}
	}
	if !strings.Contains(builder[0].args, "golang:${GO_VERSION}") || !strings.HasSuffix(builder[0].args, " AS builder") {
		t.Errorf("builder stage: FROM %s", builder[0].args)
	}
	if final[0].args != "alpine:${ALPINE_VERSION}" {
		t.Errorf("final stage: FROM %s, want alpine:${ALPINE_VERSION} (the entrypoint needs a shell)", final[0].args)
	}
	if !regexp.MustCompile(`^3\.\d+$`).MatchString(args["ALPINE_VERSION"]) {
		t.Errorf("ARG ALPINE_VERSION=%q: want a pinned 3.x", args["ALPINE_VERSION"])
	}
	// The golang images set GOTOOLCHAIN=local: the image's Go must satisfy go.mod.
	gomod := string(mustRead(t, filepath.Join(repoRoot(t), "go.mod")))
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	if args["GO_VERSION"] != m[1] {
		t.Errorf("ARG GO_VERSION=%s but go.mod says go %s: keep them equal", args["GO_VERSION"], m[1])
	}

	// Builder: static build through build.sh, then the staged tree.
	var builderText string
	for _, in := range builder {
		builderText += in.cmd + " " + in.args + "\n"
	}
	for _, want := range []string{"CGO_ENABLED=0", "ARG PIPY_SKIP_UI=1", "COPY --from=ui /src/console/ui/dist/ console/ui/dist/", "./build.sh", "sh packaging/docker/stage-rootfs.sh . bin/pipy /rootfs"} {
		if !strings.Contains(builderText, want) {
			t.Errorf("builder stage lacks %q", want)
		}
	}

	// Final stage: the run-time contract.
	if c := one(t, final, "COPY"); c.args != "--from=builder /rootfs/ /" {
		t.Errorf("COPY %s, want --from=builder /rootfs/ /", c.args)
	}
	if u := one(t, final, "USER").args; u != "1340:1340" {
		t.Errorf("USER %s, want 1340:1340 (numeric, non-root)", u)
	}
	run := one(t, final, "RUN").args
	for _, want := range []string{"addgroup -S -g 1340 pipy", "adduser -S -D -H -u 1340 -G pipy"} {
		if !strings.Contains(run, want) {
			t.Errorf("RUN %s: lacks %q", run, want)
		}
	}
	if s := one(t, final, "STOPSIGNAL").args; s != "SIGTERM" {
		t.Errorf("STOPSIGNAL %s, want SIGTERM", s)
	}
	if e := one(t, final, "EXPOSE").args; !contains(strings.Fields(e), "6080") {
		t.Errorf("EXPOSE %s: want 6080", e)
	}
	if e := jsonArgs(t, one(t, final, "ENTRYPOINT")); strings.Join(e, " ") != "/usr/local/bin/docker-entrypoint.sh" {
		t.Errorf("ENTRYPOINT %q", e)
	}
	if c := jsonArgs(t, one(t, final, "CMD")); strings.Join(c, " ") != "pipy docker-start" {
		t.Errorf("CMD %q, want [pipy docker-start]", c)
	}
	hc := one(t, final, "HEALTHCHECK")
	_, hcCmd, ok := strings.Cut(hc.args, " CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s: no CMD", hc.args)
	}
	if c := jsonArgs(t, instruction{line: hc.line, cmd: "HEALTHCHECK CMD", args: hcCmd}); strings.Join(c, " ") != "/usr/local/bin/docker-entrypoint.sh healthcheck" {
		t.Errorf("HEALTHCHECK CMD %q", c)
	}
	if len(find(final, "ADD")) > 0 {
		t.Error("final stage: use COPY, not ADD")
	}
}

// TestDockerignoreKeepsSources checks that Dockerfile.dockerignore leaves in
// the build context what the builder stage needs.
func TestDockerignoreKeepsSources(t *testing.T) {
	var patterns []*regexp.Regexp
	for _, l := range strings.Split(string(mustRead(t, "Dockerfile.dockerignore")), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf("exception pattern %q: extend this test", l)
		}
		patterns = append(patterns, globRE(strings.TrimPrefix(l, "/")))
	}
	excluded := func(p string) bool {
		// A path is excluded when it or one of its parent directories matches.
		parts := strings.Split(p, "/")
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			for _, re := range patterns {
				if re.MatchString(prefix) {
					return true
				}
			}
		}
		return false
	}
	root := repoRoot(t)
	need := []string{"go.mod", "go.sum", "build.sh", "cmd/pipy/main.go",
		"packaging/docker/stage-rootfs.sh", "packaging/docker/docker-entrypoint.sh"}
	examples := exampleFiles(t, filepath.Join(root, "test"), true)
	for _, e := range examples {
		need = append(need, "test/"+e)
	}
	for _, p := range need {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if excluded(p) {
			t.Errorf("Dockerfile.dockerignore excludes %s, which the build needs", p)
		}
	}
	for _, p := range []string{".git", "bin/pipy", "dist/x.rpm"} {
		if !excluded(p) {
			t.Errorf("Dockerfile.dockerignore should exclude %s", p)
		}
	}
}

// globRE turns a .dockerignore pattern into a regexp for a slash path:
// `**` any number of directories, `*` and `?` within one path element.
func globRE(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
