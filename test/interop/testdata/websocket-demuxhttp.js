// A WebSocket-capable HTTP proxy in the demuxHttp style: demuxHttp decodes
// each request (HTTP/1.x or HTTP/2) into a sub-session of 'request', muxHttp
// sends it upstream over a pool of HTTP/1.1 connections. A request with
// `Upgrade: websocket` answered by `101 Switching Protocols` turns its
// sub-session into a byte tunnel both ways. PORT and UPSTREAM are replaced by
// the test (websocket_test.go).

pipy()

.listen(PORT)
  .demuxHttp('request')

.pipeline('request')
  .muxHttp('upstream', { version: 1 })

.pipeline('upstream')
  .connect('127.0.0.1:UPSTREAM')
