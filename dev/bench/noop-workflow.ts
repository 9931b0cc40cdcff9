// Bundled on its own for the benchmarks' no-op task queue (dev/bench/outreach-throughput.ts):
// the cheapest workflow there is, the limit the outreach start rate is measured against.
export async function noopWorkflow(): Promise<void> {}
