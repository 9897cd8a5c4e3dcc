// The worker side of proxy mode: answers the Requests of messages.ts with the engine of
// this worker. Outputs are transferred (their buffers move, no copy).

import { type Engine, type EngineSession, loadEngine, modelBytes } from './engine.js';
import { type Request, type Response, type Result, transferables } from './messages.js';

interface Port {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** Serve proxy requests arriving on `port` (a dedicated worker's global scope). */
export function serveProxy(port: Port): void {
  let engine: Engine | undefined;
  const sessions = new Map<number, EngineSession>();
  let nextSession = 1;

  const handle = async (req: Request): Promise<[Result, Transferable[]]> => {
    switch (req.kind) {
      case 'init':
        engine = await loadEngine(req.config);
        return [{ kind: 'init', info: engine.info }, []];
      case 'create': {
        if (engine === undefined) throw new Error('runnx-web worker: not initialised');
        const session = engine.createSession(await modelBytes(req.model), req.options);
        const id = nextSession++;
        sessions.set(id, session);
        const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
        return [{ kind: 'create', session: id, info: { inputNames, outputNames, inputMetadata, outputMetadata } }, []];
      }
      case 'run': {
        const session = sessions.get(req.session);
        if (session === undefined) throw new Error('The session has been released.');
        const outputs = session.run(req.feeds, req.fetches);
        return [{ kind: 'run', outputs }, transferables(Object.values(outputs))];
      }
      case 'release':
        sessions.get(req.session)?.release();
        sessions.delete(req.session);
        return [{ kind: 'release' }, []];
    }
  };

  port.addEventListener('message', (event: MessageEvent) => {
    const req = event.data as Request;
    handle(req).then(
      ([result, transfer]) => port.postMessage({ id: req.id, ok: true, result } satisfies Response, transfer),
      (e: unknown) => {
        const error = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
        port.postMessage({ id: req.id, ok: false, error } satisfies Response, []);
      },
    );
  });
}
