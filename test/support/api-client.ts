import request from 'supertest';
import { e2eEnv } from './e2e-env';

export const env = e2eEnv();
export const api = () => request(env.url);

/** Wraps supertest with a bearer token, for one team. */
export class TeamClient {
  constructor(readonly token: string) {}

  get(path: string) {
    return api().get(path).set('Authorization', `Bearer ${this.token}`);
  }
  post(path: string, body?: object) {
    const req = api().post(path).set('Authorization', `Bearer ${this.token}`);
    return body === undefined ? req : req.send(body);
  }
  put(path: string, body: object) {
    return api().put(path).set('Authorization', `Bearer ${this.token}`).send(body);
  }
  delete(path: string) {
    return api().delete(path).set('Authorization', `Bearer ${this.token}`);
  }

  async waitOperation(id: string, timeoutSec = 60) {
    const res = await this.get(`/v1/operations/${id}/wait?timeout=${timeoutSec}`).expect(200);
    return res.body as { id: string; status: string; error: { class: string; reason: string; message: string } | null; result: Record<string, unknown> | null };
  }

  async waitContainer(id: string, condition: string, timeoutSec = 60) {
    const res = await this.get(`/v1/containers/${id}/wait?condition=${condition}&timeout=${timeoutSec}`).expect(200);
    return res.body as { met: boolean; status: string; exitCode: number | null };
  }

  /** Creates a container and waits for its create operation; answers the container id. */
  async run(body: object): Promise<string> {
    const res = await this.post('/v1/containers', body).expect(202);
    const op = await this.waitOperation(res.body.operation.id);
    if (op.status !== 'succeeded') throw new Error(`create failed: ${JSON.stringify(op.error)}`);
    return res.body.container.id as string;
  }

  async logs(id: string, query = '') {
    const res = await this.get(`/v1/containers/${id}/logs${query ? `?${query}` : ''}`)
      .buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => cb(null, data));
      });
    return { status: res.status, text: res.body as string, type: res.headers['content-type'] as string };
  }

  /** Loads an image tar and waits until the worker has it. */
  async loadImage(tarPath: string) {
    const { readFileSync } = await import('node:fs');
    const res = await this.post('/v1/images/load').set('Content-Type', 'application/x-tar').send(readFileSync(tarPath)).expect(202);
    return this.waitOperation(res.body.operation.id, 120);
  }
}

export const admin = new TeamClient(env.adminToken);

let seq = 0;
/** A name unique to this run, so tests never clash with each other. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}
