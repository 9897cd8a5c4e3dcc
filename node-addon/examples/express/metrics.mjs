// Prometheus metrics: requests, request latency, inference latency, in-flight inferences,
// plus prom-client's process metrics (RSS, CPU, event-loop lag).
import client from 'prom-client';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const labels = ['method', 'route', 'status'];
  return {
    registry,
    requests: new client.Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: labels, registers: [registry] }),
    latency: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: labels,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inference: new client.Histogram({
      name: 'inference_duration_seconds',
      help: 'Time inside session.run, per model',
      labelNames: ['model'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    inFlight: new client.Gauge({ name: 'inferences_in_flight', help: 'Inferences running now', registers: [registry] }),
  };
}
