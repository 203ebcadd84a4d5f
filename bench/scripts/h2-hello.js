// Benchmark scenario "h2-hello": every request answered 200 "Hello!\n" by
// pipy itself, over HTTP/2 in clear text (h2c, prior knowledge, as h2load
// speaks it; HTTP/1.x clients are served on the same port).
//
// demuxHttp decodes the requests, gives each one its own sub-session of
// 'hello' (request in, response out, as demux does) and encodes each answer
// on its request's stream.
//
// bench/run.sh sets:
//   PIPY_BENCH_PORT  port to listen on
pipy()

.listen(os.env.PIPY_BENCH_PORT)
  .demuxHttp('hello')

.pipeline('hello')
  .replaceMessage(
    new Message('Hello!\n')
  )
