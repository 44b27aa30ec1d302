// reconix_system_evaluations_total: the evaluation cache's counts as the metrics endpoint serves them.
import assert from 'node:assert/strict';
import { EvaluationCounts } from '../../../src/evaluate/cache.js';
import { ReconixMetrics } from '../../../src/metrics/metrics.js';

describe('the metric of machines evaluated and answered from the evaluation cache', () => {
  const series = async (metrics: ReconixMetrics): Promise<string[]> =>
    (await metrics.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('reconix_system_evaluations_total'));

  it('serves the counts at each scrape, per deployment and result, and drops a deployment that is gone', async () => {
    const metrics = new ReconixMetrics({ processMetrics: false });
    const counts = new EvaluationCounts();
    metrics.watchEvaluations(counts);
    counts.add('web', 1000, 0);
    counts.add('web', 1, 999);
    counts.add('db', 0, 3);
    assert.deepEqual(await series(metrics), [
      'reconix_system_evaluations_total{deployment="web",result="evaluated"} 1001',
      'reconix_system_evaluations_total{deployment="web",result="cached"} 999',
      'reconix_system_evaluations_total{deployment="db",result="evaluated"} 0',
      'reconix_system_evaluations_total{deployment="db",result="cached"} 3',
    ]);
    metrics.dropDeployment('web');
    assert.deepEqual(await series(metrics), [
      'reconix_system_evaluations_total{deployment="db",result="evaluated"} 0',
      'reconix_system_evaluations_total{deployment="db",result="cached"} 3',
    ]);
  });
});
