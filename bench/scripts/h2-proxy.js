// Benchmark scenario "h2-proxy": an HTTP/2 (h2c, prior knowledge) front end
// proxying every request to the backend over HTTP/1.1.
//
// demuxHttp gives each request of each stream its own sub-session; muxHttp
// funnels the requests of every client into one shared upstream session
// (the selector names it: one pool for the backend), a pool of HTTP/1.1
// keep-alive connections that it encodes, decodes and matches to the
// requests itself; 'backend' is just the connection.
//
// bench/run.sh sets:
//   PIPY_BENCH_PORT     port to listen on
//   PIPY_BENCH_BACKEND  port of the backend on 127.0.0.1
pipy({
  _backend: '127.0.0.1:' + os.env.PIPY_BENCH_BACKEND,
})

.listen(os.env.PIPY_BENCH_PORT)
  .demuxHttp('request')

.pipeline('request')
  .muxHttp('backend', () => _backend)

.pipeline('backend')
  .connect(() => _backend)
