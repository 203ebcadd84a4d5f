// A gRPC proxy.
//
// gRPC is HTTP/2: each call is a POST to /<package>.<Service>/<Method> with
// length-prefixed messages in the body, and its status (grpc-status,
// grpc-message) in the trailers. demuxHttp takes the calls on 6080 (h2c:
// gRPC clients with plaintext credentials speak HTTP/2 by prior knowledge),
// the service in the path picks the upstream, and muxHttp carries each call
// as a stream of one HTTP/2 connection per upstream, trailers included.
// Calls to a service no upstream serves are answered here with gRPC status
// 12 (UNIMPLEMENTED).
//
// Upstreams (any gRPC servers with these services, plaintext):
//   grpc.testing.TestService   127.0.0.1:8081
//   grpc.health.v1.Health      127.0.0.1:8082

pipy({
  // Routes by path: the service's prefix -> its upstream
  _router: new algo.URLRouter({
    '/grpc.testing.TestService/*': '127.0.0.1:8081',
    '/grpc.health.v1.Health/*': '127.0.0.1:8082',
  }),
  _target: undefined,
})

// gRPC inbound
.listen(6080)
  .demuxHttp('call')

// One sub-session per call: find its upstream, then forward it or refuse it
.pipeline('call')
  .onMessageStart(
    msg => _target = _router.find(msg.head.headers.host, msg.head.path)
  )
  .link(
    'forward', () => _target !== undefined,
    'unimplemented'
  )

// One shared HTTP/2 connection per upstream (the selector picks it)
.pipeline('forward')
  .muxHttp('upstream', () => _target, { version: 2 })

.pipeline('upstream')
  .connect(() => _target)

// Unknown service: a "trailers-only" gRPC answer, the status in the head
.pipeline('unimplemented')
  .replaceMessage(
    msg => new Message({
      status: 200,
      headers: {
        'content-type': 'application/grpc',
        'grpc-status': '12',
        'grpc-message': 'no upstream for ' + msg.head.path,
      },
    })
  )
