// A wasi:http/incoming-handler written in JavaScript, made a component by
// componentize-js (SpiderMonkey compiled to wasm: about 14 MB, several core
// modules). Built only with -DWISP_TEST_JS_COMPONENT=ON (it takes a minute).
export const incomingHandler = {
  handle(request, responseOut) {}
};
