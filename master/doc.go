// Package master supervises pipy's workers, in both run modes. With
// --spawn=N the workers are processes of the same binary; without it there
// is one worker, which cmd/pipy runs in the master's own process. Either
// way the master and its workers speak the ipc protocol over a socket pair,
// and everything below works the same.
//
// The master owns what must outlive a worker or a binary:
//
//   - the program: it loads each script itself first, to learn its listen
//     addresses and to stop a broken script (logged once, with its source
//     excerpt) before any worker sees it; SIGHUP, --watch-config-file and
//     the console change it on every worker;
//   - the listening sockets, kept in tableflip's file set so that a binary
//     upgrade (SIGUSR2) inherits them; with SO_REUSEPORT one per worker
//     slot and port, so the kernel balances and a restarted worker gets its
//     slot's socket back, queued connections included;
//   - the worker set: a worker that dies is restarted at once, with a
//     growing delay while it keeps dying young; SIGTERM, SIGQUIT and SIGINT
//     drain it (SIGINT without a time limit, a second one forces);
//   - the views: the SIGTSTP status table, the admin endpoint (/metrics,
//     /status, /ready) and the web console, fed by the workers' stats.
//
// It never runs script callbacks for traffic; workers do, each accepting on
// its own descriptors of the sockets, so a connection never passes through
// the master.
//
// What the master needs from the operating system is injected, the way
// cloudflare/tableflip injects its syscalls: a Launcher starts workers
// (ProcessLauncher forks; tests use fake workers that speak the protocol
// over ipc.ConnPair), and the upgrader, socket creation, signals and
// standard output sit in an unexported env, so the supervision logic is
// unit-tested without starting a process or binding a fixed port.
//
// Files: master.go (options, start-up and the loop: signals, exits, drain),
// slot.go (one worker slot: start, reports, back-off), program.go (learning
// and switching the program), sockets.go (the listening sockets), admin.go
// (stats views and the admin endpoint), console.go (the web console),
// process.go (worker processes), env.go (the injected pieces).
//
// It never imports worker: cmd/pipy wires the in-process worker in
// (test/conventions_test.go checks the import rules).
package master
