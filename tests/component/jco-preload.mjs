// Preloaded into node before jco (node --import): opens the whole filesystem to
// jco's WASI shim, without which `jco ... --wit DIR` fails with
// "failed to get path metadata ... (os error 44)" (shared TOOLCHAIN.md).
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
_setPreopens({ '/': '/' });
