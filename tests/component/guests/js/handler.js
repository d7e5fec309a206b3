// A wasi:http/incoming-handler written in JavaScript, made a component by
// componentize-js (SpiderMonkey compiled to wasm: about 14 MB, several core
// modules). Built only with -DWISP_TEST_JS_COMPONENT=ON (it takes a minute).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from 'wasi:http/types@0.2.10';

export const incomingHandler = {
  handle(request, responseOut) {
    const response = new OutgoingResponse(new Fields());
    const body = response.body();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(new TextEncoder().encode('hello from js\n'));
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
  }
};
