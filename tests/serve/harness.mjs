// Starts `wick serve` on a free port of 127.0.0.1 and stops it (SIGTERM: it must drain and exit 0).
import { spawn } from 'node:child_process';

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}`);
  return v;
}

export async function startServer(args) {
  const proc = spawn(env('WICK_CLI'), ['serve', '--port', '0', ...args], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      proc.on('exit', (code, signal) => resolve({ code, signal, log }));
      proc.kill('SIGTERM');
    });
  return { proc, port, base: `http://127.0.0.1:${port}`, stop, log: () => log };
}

let failures = 0;
export function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
export function failed() {
  return failures;
}
