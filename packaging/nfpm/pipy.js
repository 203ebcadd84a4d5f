// /etc/pipy/pipy.js: the default script of the pipy package.
//
// An HTTP "hello" server on 127.0.0.1:16080 (loopback only, so a fresh
// install exposes nothing): `curl http://127.0.0.1:16080/` prints Hello!
// Replace it with your own proxy; examples are in /usr/share/pipy/examples.
// To serve other hosts, listen on a port alone (all addresses): .listen(16080)
// Apply a change with `systemctl reload pipy` (SIGHUP).

pipy()

.listen('127.0.0.1:16080')
  .decodeHttpRequest()
  .replaceMessage(
    new Message('Hello!\n')
  )
  .encodeHttpResponse()
