// A real headless Chromium (Debian's), driven over the DevTools protocol on a pipe (--remote-debugging-pipe: it
// reads NUL-terminated JSON on fd 3 and answers on fd 4), so no debugging port is opened. Each browser has its own
// temp profile, is started in a process group of its own and stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = process.env.RECONIX_CHROMIUM ?? '/usr/bin/chromium';

export async function chromiumAvailable(): Promise<boolean> {
  return access(CHROMIUM).then(
    () => true,
    () => false,
  );
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export interface BrowserPage {
  navigate(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the page at its viewport's width and its content's height. */
  screenshot(file: string): Promise<void>;
}

export interface Browser {
  readonly pid: number;
  newPage(width?: number, height?: number): Promise<BrowserPage>;
  stop(): Promise<void>;
}

export async function startBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'reconix-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  (child.stdio[2] as Readable).on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let buffer = '';
  fromBrowser.on('data', (b: Buffer) => {
    buffer += b.toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      buffer = buffer.slice(end + 1);
      const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (!p || msg.id === undefined) continue;
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result ?? {});
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`chromium exited: ${stderr}`));
    pending.clear();
  });
  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });

  const pid = child.pid!;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([send('Browser.close').catch(() => undefined), exited]);
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(profile, { recursive: true, force: true });
  };
  try {
    await send('Browser.getVersion');
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    pid,
    stop,
    async newPage(width = 1280, height = 800) {
      const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as {
        targetId: string;
      };
      const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
        sessionId: string;
      };
      const call = (method: string, params: object = {}) => send(method, params, sessionId);
      await call('Page.enable');
      await call('Emulation.setDeviceMetricsOverride', {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      });
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = (await call('Runtime.evaluate', {
          expression,
          returnByValue: true,
          awaitPromise: true,
        })) as {
          result: { value?: T };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (r.exceptionDetails)
          throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
        return r.result.value as T;
      };
      return {
        async navigate(url) {
          const r = (await call('Page.navigate', { url })) as { errorText?: string };
          if (r.errorText) throw new Error(`cannot open ${url}: ${r.errorText}`);
        },
        evaluate,
        async screenshot(file) {
          const h = await evaluate<number>('Math.ceil(document.body.getBoundingClientRect().bottom) + 16');
          await call('Emulation.setDeviceMetricsOverride', {
            width,
            height: Math.max(200, Math.min(h, 4000)),
            deviceScaleFactor: 1,
            mobile: false,
          });
          const { data } = (await call('Page.captureScreenshot', { format: 'png' })) as { data: string };
          await writeFile(file, Buffer.from(data, 'base64'));
        },
      };
    },
  };
}
