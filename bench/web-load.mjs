import { Agent, request } from 'undici';

/**
 * The open-loop load of `npm run bench:web`, in a process of its own (forked by bench/web.ts: a
 * client is not the server's thread; run in a worker thread of the server's process, the same
 * load measured about half the rate it does from outside): requests are sent at evenly spaced instants whatever the answers
 * do, and each one's latency is measured from the instant it was due, not from when it went out,
 * so a slow server cannot hide its queue (no coordinated omission; autocannon's fixed rate sends
 * each second's quota in a burst instead).
 */
/** The job, sent by the parent: { origin, paths, headers, rate, seconds }. */
const job = await new Promise((resolve) => process.once('message', resolve));
const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
// One more second than measured: its requests warm the connections and the JIT and are not counted.
const WARM_MS = 1_000;
const total = Math.round(job.rate * (job.seconds + WARM_MS / 1_000));
const interval = 1_000 / job.rate;
const latencies = [];
let errors = 0;
let done = 0;
const start = performance.now() + 50;
await new Promise((resolve) => {
  let sent = 0;
  const pump = () => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      const due = start + sent * interval;
      const path = job.paths[sent % job.paths.length];
      sent += 1;
      request(`${job.origin}${path}`, { dispatcher: agent, headers: job.headers }).then(async (response) => {
        await response.body.dump();
        if (response.statusCode !== 200) errors += 1;
        if (due - start >= WARM_MS) latencies.push(performance.now() - due);
      }, () => { errors += 1; latencies.push(performance.now() - due); }).finally(() => {
        done += 1;
        if (done === total) resolve();
      });
    }
    if (sent < total) setTimeout(pump, Math.max(0, start + sent * interval - performance.now()));
  };
  pump();
});
await agent.close();
process.send({ latencies, errors }, () => process.exit(0));
