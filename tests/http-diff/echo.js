// echo.js: the JavaScript twin of examples/http-c/echo.c (same answers), a
// wasi:http/proxy component built with componentize-js (jco componentize).
// The status line and headers describe the request (x-echo-method,
// x-echo-path, x-echo-query, and every x-NAME request header copied back as
// x-echo-NAME); the body is the request body, copied as it arrives;
// `?status=N` sets the status; `?fail` answers with the host's error
// response (internal-error); `?whole` changes nothing here (in C it reads the
// body at once).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';

const encoder = new TextEncoder();

function methodName(method) {
  return method.tag === 'other' ? method.val : method.tag.toUpperCase();
}

// Writes all of bytes, at most what check-write allows at a time, waiting
// while the host's buffer is full.
function writeAll(stream, bytes) {
  let offset = 0;
  while (offset < bytes.length) {
    let room = Number(stream.checkWrite());
    if (room === 0) {
      stream.subscribe().block();
      continue;
    }
    const n = Math.min(room, bytes.length - offset);
    stream.write(bytes.subarray(offset, offset + n));
    offset += n;
  }
  stream.flush();
}

export const incomingHandler = {
  handle(request, responseOut) {
    const full = request.pathWithQuery() ?? '/';
    const q = full.indexOf('?');
    const path = q < 0 ? full : full.slice(0, q);
    const query = q < 0 ? '' : full.slice(q + 1);
    if (query === 'fail') {
      ResponseOutparam.set(responseOut, { tag: 'err', val: { tag: 'internal-error', val: 'echo asked to fail' } });
      return;
    }
    const headers = new Fields();
    headers.append('content-type', encoder.encode('application/octet-stream'));
    headers.append('x-echo-method', encoder.encode(methodName(request.method())));
    headers.append('x-echo-path', encoder.encode(path));
    headers.append('x-echo-query', encoder.encode(query));
    for (const [name, value] of request.headers().entries()) {
      if (name.toLowerCase().startsWith('x-') && name.length + 6 < 256)
        headers.append('x-echo-' + name.slice(2), value);
    }
    const response = new OutgoingResponse(headers);
    if (query.startsWith('status=')) response.setStatusCode(parseInt(query.slice(7), 10));
    const body = response.body();
    const out = body.write();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const input = request.consume().stream();
    for (;;) {
      let chunk;
      try {
        chunk = input.blockingRead(65536n);
      } catch (e) {
        // closed: the end of the body. Anything else (jco serve reports
        // last-operation-failed for some body-less requests) ends it too.
        if (!e.payload || e.payload.tag !== 'closed') console.error('echo.js: reading the body:', e.payload);
        break;
      }
      if (chunk.length) writeAll(out, chunk);
    }
    out.blockingFlush();
    out[Symbol.dispose]?.();
    OutgoingBody.finish(body, undefined);
  },
};
