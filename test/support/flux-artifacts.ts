// Flux's artifact contract, served for real: a git repository the test commits to, a real HTTP server on loopback
// serving `git archive` tarballs of its commits as source-controller serves artifacts, and the GitRepository
// object's status written as source-controller writes it (url, revision "main@sha1:<commit>", digest, size).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../src/util/exec.js';

export interface Published {
  url: string;
  revision: string;
  digest: string;
  size: number;
}

export interface ArtifactRepo {
  /** The work tree commits are made in. */
  dir: string;
  /** Write files (name to content) and commit them; returns the commit. */
  commit(files: Record<string, string>, message: string): Promise<string>;
  /** Archive the commit as a tarball and serve it at a path of its own; `digest` overrides the true one. */
  publish(name: string, commit: string, opts?: { digest?: string }): Promise<Published>;
  close(): Promise<void>;
}

const git = (cwd: string, args: string[]) =>
  run('git', ['-c', 'user.name=reconix test', '-c', 'user.email=test@reconix.invalid', ...args], { cwd });

export async function startArtifactRepo(): Promise<ArtifactRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-flux-repo-'));
  await git(dir, ['init', '-q', '-b', 'main']);
  const served = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('no such artifact');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    dir,
    async commit(files, message) {
      for (const [name, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), text);
      }
      await git(dir, ['add', '-A']);
      await git(dir, ['commit', '-q', '-m', message]);
      return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
    },
    async publish(name, commit, opts = {}) {
      const tarball = await archive(dir, commit);
      const path = `/gitrepository/default/${name}/${commit}.tar.gz`;
      served.set(path, tarball);
      const digest = opts.digest ?? `sha256:${createHash('sha256').update(tarball).digest('hex')}`;
      return {
        url: `http://127.0.0.1:${port}${path}`,
        revision: `main@sha1:${commit}`,
        digest,
        size: tarball.length,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function archive(dir: string, commit: string): Promise<Buffer> {
  const out = join(dir, '.git', `archive-${commit}.tar.gz`);
  await git(dir, ['archive', '--format=tar.gz', '-o', out, commit]);
  return readFile(out);
}
