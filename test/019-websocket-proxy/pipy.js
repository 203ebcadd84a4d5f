// WebSocket through the decoded-HTTP proxy pattern. Every request gets its
// own session of 'forward', which encodes it to the upstream and decodes
// the answer. A request with Upgrade that the upstream answers with 101
// (a WebSocket handshake), or a CONNECT answered with 2xx, turns that
// session into a byte tunnel both ways until either side closes; any other
// answer is an ordinary response and the connection goes on with the next
// request.
pipy({
  _upstream: '127.0.0.1:8080',
})

// HTTP inbound
.listen(6080)
  .decodeHttpRequest()
  .demux('forward')
  .encodeHttpResponse()

// To the upstream and back, one session per request
.pipeline('forward')
  .encodeHttpRequest()
  .connect(() => _upstream)
  .decodeHttpResponse()
