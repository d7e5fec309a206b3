// {{name}}.js: a wasi:http handler in JavaScript. componentize-js turns it into
// a wasi:http/proxy component (SpiderMonkey inside); the interfaces it may
// import are those of wit/ (wasi:http@0.2.10 and what the proxy world includes).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';

const encoder = new TextEncoder();

export const incomingHandler = {
  // Called once per request: read the request, set the response.
  handle(request, responseOut) {
    const method = request.method();
    const name = method.tag === 'other' ? method.val : method.tag.toUpperCase();
    const text = `hello from {{name}}\n${name} ${request.pathWithQuery() ?? '/'}\n`;

    const headers = new Fields();
    headers.append('content-type', encoder.encode('text/plain'));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const body = response.body();
    const stream = body.write();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    stream.blockingWriteAndFlush(encoder.encode(text)); // at most 4096 bytes per call
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
  },
};
