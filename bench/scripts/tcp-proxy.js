// Benchmark scenario "tcp-proxy": a plain TCP proxy, one upstream connection
// per downstream connection, bytes copied both ways.
// bench/run.sh sets the ports:
//   PIPY_BENCH_PORT     port to listen on
//   PIPY_BENCH_BACKEND  port of the backend on 127.0.0.1
pipy()

.listen(os.env.PIPY_BENCH_PORT)
  .connect('127.0.0.1:' + os.env.PIPY_BENCH_BACKEND)
