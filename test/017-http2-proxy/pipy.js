// An HTTP/2 proxy.
//
// Clients speak HTTP/1.x or HTTP/2: h2c (HTTP/2 by prior knowledge) on the
// plain port 6080, h2 chosen by ALPN on the TLS port 6443. Whatever they
// speak, every request goes upstream as a stream of one shared HTTP/2
// connection to the service on 8080, and each answer comes back in its
// request's protocol.
//
//   curl --http2-prior-knowledge http://127.0.0.1:6080/hello
//   curl --http2 -k https://127.0.0.1:6443/hello
//   curl http://127.0.0.1:6080/hello

pipy()

// Plain inbound: HTTP/1.x, or HTTP/2 when the client starts with its preface
.listen(6080)
  .demuxHttp('proxy')

// TLS inbound: the handshake offers h2 and http/1.1 (ALPN)
.listen(6443, {
  tls: {
    cert: os.readFile('cert.pem').toString(),
    key: os.readFile('key.pem').toString(),
  },
})
  .demuxHttp('proxy')

// One sub-session per request: hand it to the shared upstream, which
// multiplexes the requests of every client as HTTP/2 streams
.pipeline('proxy')
  .muxHttp('upstream', { version: 2 })

// The upstream connection
.pipeline('upstream')
  .connect('127.0.0.1:8080')

// Mock service on port 8080 (it speaks HTTP/2 too): says what it received
.listen(8080)
  .demuxHttp('service')

.pipeline('service')
  .replaceMessage(
    msg => new Message(
      { status: 200, headers: { 'content-type': 'text/plain' } },
      'Hello from service 8080: ' + msg.head.method + ' ' + msg.head.path +
      ' over ' + msg.head.protocol + '\n'
    )
  )
