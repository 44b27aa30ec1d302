// Latency from `kubectl apply` of a changed NixDeployment to the start of its reconcile, with 1 and with 100 other
// deployments in the cluster. A real API server and the real controller machinery (informer, trigger filter, work
// queue, status writes); the reconciler core is a no-op, since Nix and the hosts are not what is measured here.
// Run: npm run build && node dist/bench/kube-latency.js [rounds]
import { Reason } from '../src/api/conditions.js';
import type { ReconcileRequest } from '../src/core/request.js';
import type { ReconcileReport } from '../src/report/report.js';
import { startController, startKubeEnv, until, type KubeEnv } from '../test/integration/kube/harness.js';

const ROUNDS = Number(process.argv[2] ?? 20);

const manifest = (name: string, text: string) =>
  JSON.stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace: 'default' },
    spec: { network: { inline: { 'network.nix': text } }, interval: '1h' },
  });

const noop = async (req: ReconcileRequest): Promise<ReconcileReport> => ({
  deployment: req.name,
  op: 'deploy',
  ok: true,
  reason: Reason.ReconciliationSucceeded,
  message: 'no-op',
  plan: { machines: [], actions: [] },
  machines: {},
  startedAt: new Date().toISOString(),
  durationMs: 0,
});

interface Figures {
  others: number;
  /** kubectl apply started -> reconcile started. */
  fromApply: number[];
  /** How long kubectl apply itself took (its process start, the API calls, its exit): the baseline. */
  kubectl: number[];
}

async function measure(env: KubeEnv, others: number): Promise<Figures> {
  const ctl = await startController(env, { reconcile: noop, concurrency: 4 });
  try {
    const names = Array.from({ length: others }, (_, i) => `other-${i}`);
    const list = { apiVersion: 'v1', kind: 'List', items: names.map((n) => JSON.parse(manifest(n, '{ }'))) };
    await env.kubectl(['apply', '-f', '-'], JSON.stringify(list));
    await env.kubectl(['apply', '-f', '-'], manifest('target', '{ }'));
    const all = new Set([...names, 'target'].map((n) => `default.${n}`));
    await until(
      'every deployment reconciled once',
      async () => all.size === new Set(ctl.starts.map((s) => s.id)).size,
      120_000,
      100,
    );
    const figures: Figures = { others, fromApply: [], kubectl: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const seen = ctl.starts.length;
      const t0 = performance.now();
      await env.kubectl(
        ['apply', '-f', '-'],
        manifest('target', `{ network.description = "round ${round}"; }`),
      );
      const stored = performance.now();
      const start = await until(
        'the reconcile of the change',
        async () => ctl.starts.slice(seen).find((s) => s.id === 'default.target'),
        30_000,
        2,
      );
      // starts[].at is Date.now(); convert the performance clock reading to match.
      const startedAt = start.at - (Date.now() - performance.now());
      figures.fromApply.push(startedAt - t0);
      figures.kubectl.push(stored - t0);
    }
    await env.kubectl(['delete', 'nixd', '--all', '--wait=false']);
    await until(
      'the deployments to go',
      async () => (await env.kubectl(['get', 'nixd', '-o', 'name'])).trim() === '',
      120_000,
      250,
    );
    return figures;
  } finally {
    await ctl.cleanup();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function main(): Promise<void> {
  const env = await startKubeEnv();
  try {
    const results = [await measure(env, 1), await measure(env, 100)];
    console.log(`kubectl apply -> reconcile start, ${ROUNDS} rounds each (median / p90 / max)`);
    for (const r of results) {
      console.log(
        `  ${String(r.others).padStart(3)} other deployments: from apply ${fmt(pct(r.fromApply, 50))} / ${fmt(pct(r.fromApply, 90))} / ${fmt(Math.max(...r.fromApply))};` +
          ` kubectl apply alone ${fmt(pct(r.kubectl, 50))} / ${fmt(pct(r.kubectl, 90))} / ${fmt(Math.max(...r.kubectl))}`,
      );
    }
    const [one, hundred] = results as [Figures, Figures];
    console.log(
      `  ratio of medians, 100 vs 1 others: ${(pct(hundred.fromApply, 50) / pct(one.fromApply, 50)).toFixed(2)}`,
    );
    const worst = Math.max(...one.fromApply, ...hundred.fromApply);
    console.log(`  target < 1 s: ${worst < 1000 ? 'met' : 'NOT met'} (worst ${fmt(worst)})`);
  } finally {
    await env.cleanup();
  }
}

await main();
