// socket_echo.mjs: `wisp run --listen` end to end. Starts guests/echo_server.wasm
// with a listening socket on 127.0.0.1, connects as a client, sends a line,
// expects it back upper-cased and the guest to exit 0.
//   node socket_echo.mjs WISP ECHO_SERVER.wasm
import { spawn } from 'node:child_process';
import net from 'node:net';

const [wisp, guest] = process.argv.slice(2);

function attempt(port) {
  return new Promise((resolve) => {
    const child = spawn(wisp, ['run', '--listen', `127.0.0.1:${port}`, guest]);
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise((r) => child.on('exit', (code) => r(code)));
    let tries = 0;
    const connect = () => {
      const sock = net.connect(port, '127.0.0.1');
      let reply = '';
      sock.on('connect', () => sock.end('hello wisp\n'));
      sock.on('data', (d) => (reply += d));
      sock.on('error', () => {
        if (++tries < 50 && child.exitCode === null) setTimeout(connect, 100);
      });
      sock.on('close', async () => {
        if (!reply && tries < 50 && child.exitCode === null) return;
        const code = await exited;
        resolve({ code, reply, out, err });
      });
    };
    exited.then((code) => {
      if (code !== 0 && /--listen/.test(err)) resolve({ code, retry: true, err });
    });
    setTimeout(connect, 50);
  });
}

for (let i = 0; i < 3; i++) {
  const port = 20000 + Math.floor(Math.random() * 40000);
  const r = await attempt(port);
  if (r.retry) continue; // port taken: try another
  console.log(`wisp exit ${r.code}; reply ${JSON.stringify(r.reply)}; stdout ${JSON.stringify(r.out)}; stderr ${JSON.stringify(r.err)}`);
  const ok = r.code === 0 && r.reply === 'HELLO WISP\n' && /echoed 11 bytes, shutdown 0/.test(r.out);
  console.log(ok ? 'PASS socket echo' : 'FAIL socket echo');
  process.exit(ok ? 0 : 1);
}
console.log('FAIL: could not find a free port');
process.exit(1);
