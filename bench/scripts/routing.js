// Benchmark scenario "http-route": an HTTP reverse proxy that routes by path
// to two upstream pools and keeps its upstream connections alive.
//
//   /api/*          -> pool "api"   (PIPY_BENCH_API)
//   /hello, /hello/* -> pool "hello" (PIPY_BENCH_HELLO)
//   anything else   -> 404 from the proxy itself
//
// Each request gets its own sub-session (demux), is routed, and is funnelled
// by mux into one shared upstream session per pool: a single keep-alive
// connection that carries the requests of every client, pipelined, and
// whose answers mux hands back in order. The connection stays open between
// requests and across client connections (10 s idle, see mux in the spec).
//
// bench/run.sh sets:
//   PIPY_BENCH_PORT   port to listen on
//   PIPY_BENCH_API    host:port of the "api" pool
//   PIPY_BENCH_HELLO  host:port of the "hello" pool
pipy({
  _router: new algo.URLRouter({
    '/api/*': os.env.PIPY_BENCH_API,
    '/hello/*': os.env.PIPY_BENCH_HELLO,
  }),
  _target: undefined,
})

// HTTP inbound: one sub-session per request, answers put back in order.
.listen(os.env.PIPY_BENCH_PORT)
  .decodeHttpRequest()
  .demux('route')
  .encodeHttpResponse()

// Pick the pool from the path, then pass the request on (or answer 404).
.pipeline('route')
  .onMessageStart(
    evt => _target = _router.find(evt.head.headers.host, evt.head.path)
  )
  .link(
    'upstream', () => Boolean(_target),
    'not-found'
  )

// Share one upstream session per pool among all requests.
.pipeline('upstream')
  .mux('connection', () => _target)

// The shared session: an HTTP/1.1 keep-alive connection to the pool.
.pipeline('connection')
  .encodeHttpRequest()
  .connect(() => _target)
  .decodeHttpResponse()

.pipeline('not-found')
  .replaceMessage(
    new Message({ status: 404 }, 'Not found\n')
  )
