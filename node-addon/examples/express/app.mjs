// The HTTP API: POST /v1/models/:name/infer, GET /healthz, GET /metrics.
import express from 'express';
import { RunnxError } from 'runnx-node';
import { BadRequest, parseInferRequest, tensorToJson } from './validate.mjs';

/** `state.draining` turns /healthz to 503 and new inference requests away during shutdown. */
export function createApp(models, metrics, state) {
  const app = express();
  app.disable('x-powered-by');

  // Count and time every request, under its route pattern (bounded label values).
  app.use((req, res, next) => {
    const start = process.hrtime.bigint();
    if (state.draining) res.setHeader('Connection', 'close');
    res.on('finish', () => {
      const route = req.route?.path ?? 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.requests.inc(labels);
      metrics.latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  });

  app.get('/healthz', (req, res) => {
    const body = { status: state.draining ? 'draining' : 'ok', models: [...models.keys()], inFlight: state.inFlight };
    res.status(state.draining ? 503 : 200).json(body);
  });

  app.get('/metrics', async (req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post('/v1/models/:name/infer', express.json({ limit: '16mb' }), async (req, res) => {
    const session = models.get(req.params.name);
    if (!session) return res.status(404).json({ error: `no model named "${req.params.name}" (models: ${[...models.keys()].join(', ')})` });
    if (state.draining) return res.status(503).json({ error: 'shutting down' });
    let feeds, fetches;
    try {
      [feeds, fetches] = parseInferRequest(req.body, session);
    } catch (e) {
      if (e instanceof BadRequest || e instanceof TypeError || e instanceof RangeError) return res.status(400).json({ error: e.message });
      throw e;
    }
    state.inFlight++;
    metrics.inFlight.inc();
    const end = metrics.inference.startTimer({ model: req.params.name });
    let outputs, seconds;
    try {
      outputs = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
    } catch (e) {
      // Invalid feeds -> 400; a model that cannot run on these values (e.g. a token id past
      // the vocabulary) -> 422; anything else is ours -> 500.
      if (e instanceof RunnxError) return res.status(e.code === 'ERR_RUNNX_INPUT' ? 400 : 422).json({ error: e.message });
      throw e;
    } finally {
      seconds = end();
      state.inFlight--;
      metrics.inFlight.dec();
    }
    res.setHeader('X-Inference-Ms', (seconds * 1000).toFixed(3));
    const json = {};
    for (const [name, t] of Object.entries(outputs)) json[name] = tensorToJson(t);
    res.json({ model: req.params.name, outputs: json });
  });

  // Body-parser errors (malformed JSON, too large) keep their 4xx status.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = Number.isInteger(err.status) && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) console.error(err);
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
  });
  return app;
}
