// Package docker holds the container image of pipy-go (Dockerfile,
// docker-entrypoint.sh, stage-rootfs.sh). No Docker engine runs where these
// tests run, so they check what can be checked without one, for real:
//
//   - docker-entrypoint.sh runs against the real ../../bin/pipy (built by
//     `make test` / ./build.sh; the tests skip when it is missing): default
//     script, PIPY_SPAWN, argument modes, errors, signals, the health check.
//     They run under the system sh and, when busybox is installed, under
//     busybox sh with only busybox's wget and grep on PATH, as in the alpine
//     image.
//   - stage-rootfs.sh, which the Dockerfile's builder stage runs, lays out the
//     image's files from this repository into a temporary directory, and
//     every staged example loads with the staged binary.
//   - as root, that tree (plus busybox for alpine's sh and wget) runs like a
//     container: chrooted, as UID 1340, as PID 1 of its own PID namespace, in
//     its own network namespace, stopped by SIGTERM (container_test.go).
//   - the Dockerfile's run-time contract (user, stop signal, ports,
//     entrypoint, command) and its build-context filter.
//
// Everything listens and connects on 127.0.0.1 only (on ports the kernel
// hands out), or inside the emulated container's own network namespace, and
// every wait is bounded. README.md lists what cannot be tested here.
package docker
